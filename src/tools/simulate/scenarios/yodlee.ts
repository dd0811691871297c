/** Yodlee's REFRESH notes: FastLink processes that complete, in part or in full, or fail. */
import type { Random } from '../random.js';
import type { Episode, ScenarioContext, SourceClock, Step } from './episode.js';
import {
  DAY,
  YODLEE_GAP_MS,
  YODLEE_PROVIDER_IDS,
  alert,
  connection,
  round,
  rounds,
} from './episode.js';

/** A Yodlee provider account, and the request its FastLink process runs under. */
export interface YodleeAccount {
  readonly id: number;
  readonly providerId: number;
  readonly requestId: string;
}

/** `count` accounts at distinct providers. */
export function yodleeAccounts(rng: Random, count: number): YodleeAccount[] {
  return rng.sample(YODLEE_PROVIDER_IDS, count).map((providerId) => ({
    id: rng.int(10_000_000, 99_999_999),
    providerId,
    requestId: `REQ-${rng.uuid().slice(0, 13)}`,
  }));
}

/** A Yodlee REFRESH notification for the customer's login, listing provider accounts. */
export const yodleeBody = (
  customerId: string,
  info: 'REFRESH.INTERIM_PROGRESS' | 'REFRESH.PROCESS_COMPLETED',
  accounts: unknown[],
) => ({ event: { info, loginName: customerId, data: { providerAccount: accounts } } });

/** One provider account as a REFRESH notification lists it, with its basic aggregation data. */
export const yodleeAccount = (
  a: YodleeAccount,
  status: string,
  dataset: Record<string, unknown>,
) => ({
  id: a.id,
  providerId: a.providerId,
  status,
  requestId: a.requestId,
  isManual: false,
  aggregationSource: 'SYSTEM',
  dataset: [{ name: 'BASIC_AGG_DATA', ...dataset }],
});

const yodleeInterim = (a: YodleeAccount, additionalStatus: string, attempt: string) =>
  yodleeAccount(a, 'IN_PROGRESS', {
    additionalStatus,
    updateEligibility: 'DISALLOW_UPDATE',
    lastUpdateAttempt: attempt,
  });

/** Steps Yodlee sends as a sequence: each note is sent once the one before is answered. */
function yodleeSequence() {
  const steps: Step[] = [];
  return {
    steps,
    /** When the next note is sent. */
    next: () => steps.length * YODLEE_GAP_MS,
    push: (step: Omit<Step, 'after'>) => {
      steps.push(steps.length ? { ...step, after: steps.length - 1 } : step);
    },
  };
}

/** The notes of one FastLink process until it completes: its PROCESS_COMPLETED comes after. */
function pushYodleeInterims(
  seq: ReturnType<typeof yodleeSequence>,
  customerId: string,
  accounts: readonly YodleeAccount[],
  summary: boolean,
): void {
  const notes = [['DATA_RETRIEVAL_IN_PROGRESS', 'login succeeded']];
  if (summary) notes.push(['ACCT_SUMMARY_RECEIVED', 'account summary received']);
  for (const [additionalStatus, what] of notes as [string, string][]) {
    for (const a of accounts) {
      const offset = seq.next();
      seq.push({
        offsetMs: offset,
        route: '/webhooks/yodlee',
        note: `REFRESH.INTERIM_PROGRESS for account ${a.id}: ${what}`,
        body: (at) =>
          yodleeBody(customerId, 'REFRESH.INTERIM_PROGRESS', [
            yodleeInterim(a, additionalStatus, at(offset)),
          ]),
      });
    }
  }
}

/** A completed account whose transaction data moved forward (`lastUpdated` is the completion). */
const yodleeCompleted = (a: YodleeAccount, partial: boolean, at: SourceClock, offset: number) =>
  yodleeAccount(a, partial ? 'PARTIAL_SUCCESS' : 'SUCCESS', {
    additionalStatus: partial ? 'PARTIAL_DATA_RETRIEVED' : 'AVAILABLE_DATA_RETRIEVED',
    updateEligibility: 'ALLOW_UPDATE',
    lastUpdated: at(offset),
    lastUpdateAttempt: at(offset),
    nextUpdateScheduled: at(offset + DAY),
  });

/** The PROCESS_COMPLETED that ends a FastLink process, listing that process's accounts. */
function pushYodleeCompleted(
  seq: ReturnType<typeof yodleeSequence>,
  customerId: string,
  accounts: readonly { a: YodleeAccount; partial: boolean }[],
): void {
  const offset = seq.next();
  seq.push({
    offsetMs: offset,
    route: '/webhooks/yodlee',
    note: `REFRESH.PROCESS_COMPLETED for account${accounts.length > 1 ? 's' : ''} ${accounts.map(({ a }) => a.id).join(', ')}`,
    body: (at) =>
      yodleeBody(
        customerId,
        'REFRESH.PROCESS_COMPLETED',
        accounts.map(({ a, partial }) => yodleeCompleted(a, partial, at, offset)),
      ),
  });
}

/** The round of one Yodlee process: exactly its accounts, each with new data. */
const yodleeRound = (
  customerId: string,
  accounts: readonly { a: YodleeAccount; partial: boolean }[],
) =>
  round(
    customerId,
    'ALL_REPORTED',
    accounts.map(({ a, partial }) => ({
      ...connection(String(a.providerId), String(a.id), partial ? 'PARTIAL' : 'SUCCESS'),
      newData: true,
    })),
  );

/**
 * Yodlee REFRESH for 1–2 accounts: per FastLink process, INTERIM_PROGRESS (login), sometimes a
 * second one (account summary), then one PROCESS_COMPLETED listing the process's accounts — both
 * accounts in one process, or one process after the other; now and then an account is only partly
 * retrieved. A PROCESS_COMPLETED ends its process: expect one completion per process, closed as
 * soon as it is reported, with a signal (the data moved forward), and no alert.
 */
export function yodleeRefresh({ rng, customerId }: ScenarioContext): Episode {
  const accounts = yodleeAccounts(rng, rng.pick([1, 1, 2]));
  const partial = accounts.map(() => rng.chance(0.1));
  const summary = rng.chance(0.7);
  const together = accounts.length > 1 && rng.chance(0.5);
  const listed = accounts.map((a, i) => ({ a, partial: partial[i] ?? false }));
  const processes = together ? [listed] : listed.map((x) => [x]);
  const seq = yodleeSequence();
  for (const process of processes) {
    pushYodleeInterims(
      seq,
      customerId,
      process.map(({ a }) => a),
      summary,
    );
    pushYodleeCompleted(seq, customerId, process);
  }
  return {
    steps: seq.steps,
    deadLetters: [],
    ...rounds(...processes.map((p) => yodleeRound(customerId, p))),
    alerts: [],
  };
}

/**
 * A Yodlee user with two provider accounts, both added in an earlier FastLink process, updates one
 * of them in FastLink: INTERIM_PROGRESS and a PROCESS_COMPLETED for that account alone. Expect a
 * completion for each process; the update's lists only its account and closes ALL_REPORTED at
 * once (it does not wait for the other account, nor time out), with a signal.
 */
export function yodleeSingleAccount({ rng, customerId }: ScenarioContext): Episode {
  const accounts = yodleeAccounts(rng, 2);
  const summary = rng.chance(0.5);
  // the update is a request of its own
  const updated = { ...rng.pick(accounts), requestId: `REQ-${rng.uuid().slice(0, 13)}` };
  const earlier = accounts.map((a) => ({ a, partial: false }));
  const update = [{ a: updated, partial: false }];
  const seq = yodleeSequence();
  pushYodleeInterims(seq, customerId, accounts, summary);
  pushYodleeCompleted(seq, customerId, earlier);
  pushYodleeInterims(seq, customerId, [updated], false);
  pushYodleeCompleted(seq, customerId, update);
  return {
    steps: seq.steps,
    deadLetters: [],
    ...rounds(yodleeRound(customerId, earlier), yodleeRound(customerId, update)),
    alerts: [],
  };
}

/**
 * A Yodlee account whose password changed: PROCESS_COMPLETED, FAILED, INCORRECT_CREDENTIALS (or
 * CREDENTIALS_UPDATE_NEEDED) with ALLOW_UPDATE_WITH_CREDENTIALS, sometimes after a login note.
 * Expect one completion (FAILED, UPDATE_CREDENTIALS) and a RAISED UPDATE_CREDENTIALS alert.
 */
export function yodleePassword({ rng, customerId }: ScenarioContext): Episode {
  const [a] = yodleeAccounts(rng, 1) as [YodleeAccount];
  const code = rng.pick(['INCORRECT_CREDENTIALS', 'CREDENTIALS_UPDATE_NEEDED']);
  const interim = rng.chance(0.5);
  const gap = YODLEE_GAP_MS;
  const failedAt = interim ? gap : 0;
  return {
    steps: [
      ...(interim
        ? [
            {
              offsetMs: 0,
              route: '/webhooks/yodlee' as const,
              note: `REFRESH.INTERIM_PROGRESS for account ${a.id}`,
              body: (at: SourceClock) =>
                yodleeBody(customerId, 'REFRESH.INTERIM_PROGRESS', [
                  yodleeInterim(a, 'LOGIN_IN_PROGRESS', at(0)),
                ]),
            },
          ]
        : []),
      {
        offsetMs: failedAt,
        route: '/webhooks/yodlee',
        ...(interim ? { after: 0 } : {}),
        note: `REFRESH.PROCESS_COMPLETED for account ${a.id}: ${code} (the password changed)`,
        body: (at) =>
          yodleeBody(customerId, 'REFRESH.PROCESS_COMPLETED', [
            yodleeAccount(a, 'FAILED', {
              additionalStatus: code,
              updateEligibility: 'ALLOW_UPDATE_WITH_CREDENTIALS',
              lastUpdated: at(-DAY),
              lastUpdateAttempt: at(failedAt),
            }),
          ]),
      },
    ],
    deadLetters: [],
    ...round(customerId, 'ALL_REPORTED', [
      {
        ...connection(String(a.providerId), String(a.id), 'FAILED', 'UPDATE_CREDENTIALS'),
        newData: false,
      },
    ]),
    alerts: [alert(customerId, String(a.providerId), String(a.id), 'RAISED', 'UPDATE_CREDENTIALS')],
  };
}
