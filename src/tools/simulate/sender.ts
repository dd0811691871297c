import http from 'node:http';
import https from 'node:https';
import { SimulateError } from './errors.js';
import type { Signer } from './signers.js';
import { Slots, ingestIdOf, post, retryable, sleep } from './transport.js';
import type { Delivery, Route, SimCall } from './types.js';

// the error and the signing live in errors.ts and signers.ts; the simulator's callers (and the
// integration tests) import them from here, with the sending
export { SimulateError } from './errors.js';
export { signersFromAuth } from './signers.js';
export type { Signer, SignerOptions } from './signers.js';

/** Counts while sending, for a progress line. */
export interface SendProgress {
  readonly total: number;
  /** Calls whose first attempt has started. */
  readonly sent: number;
  /** Calls with a final answer (or given up). */
  readonly answered: number;
  /** Final answers that were 2xx. */
  readonly accepted: number;
  /** Attempts beyond each call's first. */
  readonly retries: number;
  readonly inFlight: number;
  /** Final statuses by code (`"200"`, `"401"`, `"network"` when no answer came). */
  readonly statuses: Readonly<Record<string, number>>;
  /** How far behind its planned time the latest call left (ms): the sender or ingest cannot keep up. */
  readonly lagMs: number;
  readonly maxLagMs: number;
}

export interface SendOptions {
  /** The ingest's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly signers: Readonly<Record<Route, Signer>>;
  /** Requests in flight at once. @default 64 */
  readonly concurrency?: number;
  /** Attempts per call, like an aggregator that gives up after several failures. @default 6 */
  readonly attempts?: number;
  /** Wait before the first retry; doubles on each one. @default 250 */
  readonly backoffMs?: number;
  /** Longest wait between attempts, a `Retry-After` included. @default 5000 */
  readonly maxBackoffMs?: number;
  /** Time one attempt may take before it counts as a network error. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Stops sending: calls not started yet are left unsent, in-flight ones are not retried. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: SendProgress) => void;
}

export interface SendResult {
  /** One per call, in the order of `calls`. */
  readonly deliveries: Delivery[];
  readonly progress: SendProgress;
  readonly startedAt: number;
  readonly finishedAt: number;
}

/** The sending options, with their defaults. */
interface SendSettings {
  readonly base: URL;
  readonly concurrency: number;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly timeoutMs: number;
  readonly signers: Readonly<Record<Route, Signer>>;
  readonly signal: AbortSignal | undefined;
}

function sendSettings(options: SendOptions): SendSettings {
  return {
    base: new URL(options.url),
    concurrency: options.concurrency ?? 64,
    attempts: options.attempts ?? 6,
    backoffMs: options.backoffMs ?? 250,
    maxBackoffMs: options.maxBackoffMs ?? 5000,
    timeoutMs: options.requestTimeoutMs ?? 30_000,
    signers: options.signers,
    signal: options.signal,
  };
}

/** The counts behind the progress reports, kept while sending. */
function createTally(total: number, onProgress: SendOptions['onProgress']) {
  const statuses: Record<string, number> = {};
  const counts = {
    sent: 0,
    answered: 0,
    accepted: 0,
    retries: 0,
    inFlight: 0,
    lagMs: 0,
    maxLagMs: 0,
  };
  const progress = (): SendProgress => ({ total, ...counts, statuses: { ...statuses } });
  return {
    counts,
    progress,
    /** A call's first attempt left, `lagMs` after its planned time. */
    firstSent(lagMs: number): void {
      counts.sent++;
      counts.lagMs = Math.max(0, lagMs);
      counts.maxLagMs = Math.max(counts.maxLagMs, counts.lagMs);
    },
    /** A call's final delivery: counted and reported, unless it was never sent. */
    settled(d: Delivery): void {
      if (d.firstSentAt === null) return;
      counts.answered++;
      if (d.acknowledgedAt !== null) counts.accepted++;
      const key = d.status === null ? 'network' : String(d.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      onProgress?.(progress());
    },
  };
}

/** What the deliveries of one send share. */
interface SendContext {
  readonly settings: SendSettings;
  readonly agent: http.Agent;
  readonly tally: ReturnType<typeof createTally>;
  /** When sending started: the calls' planned times count from it. */
  readonly startedAt: number;
}

/** A call's `webhook-id`, the same on every attempt. */
const webhookIdOf = (call: SimCall) => `msg_${call.id}`;

/** A call's delivery record: the call, then what came of it. */
const deliveryOf = (
  call: SimCall,
  outcome: Omit<Delivery, 'callId' | 'customerId' | 'route' | 'webhookId'>,
): Delivery => ({
  callId: call.id,
  customerId: call.customerId,
  route: call.route,
  webhookId: webhookIdOf(call),
  ...outcome,
});

/** The delivery record of a call the send was stopped before. */
const unsentDelivery = (call: SimCall): Delivery =>
  deliveryOf(call, {
    status: null,
    attempts: 0,
    ingestId: null,
    firstSentAt: null,
    acknowledgedAt: null,
    error: 'not sent (stopped)',
  });

/** One attempt's headers: the route's authentication, signed with the attempt's own timestamp. */
async function attemptHeaders(
  call: SimCall,
  signers: SendSettings['signers'],
  sentAt: number,
  body: Buffer,
): Promise<Record<string, string>> {
  return {
    ...(await signers[call.route]({
      webhookId: webhookIdOf(call),
      timestamp: Math.floor(sentAt / 1000),
      body,
    })),
    // a client retrying a refresh request sends the same key: it is applied once
    ...(call.route === '/refresh-requests' ? { 'idempotency-key': call.id } : {}),
  };
}

/**
 * Delivers one call: attempts until one is answered 2xx, an answer is not worth retrying, the
 * attempts run out or the send is stopped, with exponential backoff (or `Retry-After`, capped)
 * between attempts.
 */
async function deliver(call: SimCall, ctx: SendContext): Promise<Delivery> {
  const { settings, tally } = ctx;
  const { counts } = tally;
  const body = Buffer.from(call.body);
  const url = new URL(call.path ?? call.route, settings.base);
  // a registration is a PUT of the Item's resource; every other call a POST
  const method = call.route === '/connections/plaid' ? 'PUT' : 'POST';
  let firstSentAt: number | null = null;
  let last: { status: number | null; error?: string } = {
    status: null,
    error: 'not sent (stopped)',
  };
  let attempt = 0;
  while (attempt < settings.attempts) {
    if (settings.signal?.aborted) break;
    attempt++;
    if (attempt > 1) counts.retries++;
    const sentAt = Date.now();
    if (firstSentAt === null) {
      firstSentAt = sentAt;
      tally.firstSent(sentAt - (ctx.startedAt + call.atMs));
    }
    let wait = Math.min(settings.maxBackoffMs, settings.backoffMs * 2 ** (attempt - 1));
    counts.inFlight++;
    try {
      const headers = await attemptHeaders(call, settings.signers, sentAt, body);
      const answer = await post(url, body, headers, ctx.agent, settings.timeoutMs, method);
      if (answer.status >= 200 && answer.status < 300) {
        return deliveryOf(call, {
          status: answer.status,
          attempts: attempt,
          ingestId: ingestIdOf(answer.body),
          firstSentAt,
          acknowledgedAt: Date.now(),
        });
      }
      last = { status: answer.status, error: answer.body.slice(0, 300) };
      if (!retryable(answer.status)) break;
      if (answer.retryAfterMs !== undefined)
        wait = Math.min(settings.maxBackoffMs, Math.max(wait, answer.retryAfterMs));
    } catch (err) {
      last = { status: null, error: (err as Error).message };
    } finally {
      counts.inFlight--;
    }
    if (attempt < settings.attempts) await sleep(wait, settings.signal);
  }
  return deliveryOf(call, {
    status: last.status,
    attempts: attempt,
    ingestId: null,
    firstSentAt,
    acknowledgedAt: null,
    ...(last.error !== undefined ? { error: last.error } : {}),
  });
}

/** Throws unless every call's `after` names an earlier call. */
function checkOrder(calls: readonly SimCall[]): void {
  const order = new Map(calls.map((c, i) => [c.id, i]));
  calls.forEach((c, i) => {
    if (c.after !== undefined && !((order.get(c.after) ?? i) < i))
      throw new SimulateError(`call ${c.id} must follow ${c.after}, which is not an earlier call`);
  });
}

/**
 * Starts `send` for each call at its planned time (counted from `startedAt`), a call with `after`
 * once that call's `send` is done; resolves when every started one is. Starts no more once
 * `signal` aborts.
 */
async function launchOnSchedule(
  calls: readonly SimCall[],
  startedAt: number,
  signal: AbortSignal | undefined,
  send: (call: SimCall) => Promise<void>,
): Promise<void> {
  const answered = new Map<string, Promise<void>>();
  let sinceYield = 0;
  for (const call of calls) {
    if (signal?.aborted) break;
    const due = startedAt + call.atMs - Date.now();
    if (due > 1) {
      await sleep(due, signal);
      sinceYield = 0;
    } else if (++sinceYield >= 100) {
      // far behind plan: still let answers be handled between launches
      await new Promise((r) => setImmediate(r));
      sinceYield = 0;
    }
    if (signal?.aborted) break;
    const first = call.after === undefined ? undefined : answered.get(call.after);
    answered.set(
      call.id,
      (first ?? Promise.resolve()).then(() => send(call)),
    );
  }
  await Promise.all(answered.values());
}

/**
 * Sends the calls to the ingest at their planned times (open loop: a slow answer does not delay
 * the calls planned after it), with at most `concurrency` in flight. A call with `after` leaves
 * once that call is answered (and not before its own time), so orders that matter hold in
 * Kafka; the others go concurrently, as sources send them. Retries like an aggregator on 5xx,
 * 408, 429 and network errors: the same `webhook-id`, a fresh timestamp and signature,
 * exponential backoff (or `Retry-After`, capped), a bounded number of attempts. Every call ends
 * in the delivery log.
 */
export async function sendCalls(
  calls: readonly SimCall[],
  options: SendOptions,
): Promise<SendResult> {
  const settings = sendSettings(options);
  const agent = new (settings.base.protocol === 'https:' ? https.Agent : http.Agent)({
    keepAlive: true,
    maxSockets: settings.concurrency,
  });
  const slots = new Slots(settings.concurrency);
  const tally = createTally(calls.length, options.onProgress);
  const deliveries = new Map<string, Delivery>();
  const startedAt = Date.now();
  const ctx: SendContext = { settings, agent, tally, startedAt };
  checkOrder(calls);
  try {
    await launchOnSchedule(calls, startedAt, settings.signal, async (call) => {
      await slots.acquire(call.atMs);
      try {
        const delivery = await deliver(call, ctx);
        deliveries.set(delivery.callId, delivery);
        tally.settled(delivery);
      } finally {
        slots.release();
      }
    });
  } finally {
    agent.destroy();
  }
  return {
    deliveries: calls.map((c) => deliveries.get(c.id) ?? unsentDelivery(c)),
    progress: tally.progress(),
    startedAt,
    finishedAt: Date.now(),
  };
}
