import { mapRawWebhook } from '../../normalize/mappers/index.js';
import { DEFAULT_ROUND_SETTINGS } from '../../processors/rounds/state.js';
import { Random } from './random.js';
import type { Episode, Step } from './scenarios.js';
import { scenarioBuilders } from './scenarios.js';
import type { DayTiming, Ledger, ScenarioName, SimCall } from './types.js';
import { SCENARIOS } from './types.js';

/** How often each scenario is drawn, relative to the others (a weight of 0 leaves it out). */
export const DEFAULT_MIX: Readonly<Record<ScenarioName, number>> = {
  'bud-v1-hosted': 24,
  'bud-v2-hosted': 10,
  'bud-requested': 10,
  'bud-retry': 7,
  'bud-reconnect': 5,
  'bud-consent': 4,
  'bud-connect-after-revoke': 4,
  'bud-stale-failure': 4,
  'bud-unnamed-failure': 3,
  'yodlee-refresh': 11,
  'yodlee-single-account': 4,
  'yodlee-password': 5,
  'late-delivery': 6,
  'dead-letter': 3,
};

/** What a simulated day is made of. Everything that varies is an input: no clock, no I/O. */
export interface DayOptions {
  /** Prefix of every customer id (`<runId>-c0001`, …), so runs never collide and can be re-run. */
  readonly runId: string;
  readonly seed: number;
  readonly customers: number;
  /** Epoch ms the day's source times are laid from (a run passes its start time). */
  readonly startTime: number;
  /** Calls per second, on average, over the span the customers' first calls are spread across. */
  readonly ratePerSecond: number;
  /** The processors' round timings the schedule must respect. @default the processors' defaults */
  readonly timing?: DayTiming;
  /** Weights per scenario. @default DEFAULT_MIX */
  readonly mix?: Partial<Record<ScenarioName, number>>;
  /**
   * Share of customers one of whose webhooks is delivered twice: right after the first, or after
   * the customer's round has closed. @default 0.15
   */
  readonly duplicateRate?: number;
}

/** A simulated day: the calls to send, in send order, and the ledger of what must come out. */
export interface DayPlan {
  readonly calls: readonly SimCall[];
  readonly ledger: Ledger;
}

/** What a run id may be: it starts every customer id, record key and call id of the run. */
export const RUN_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Why the options cannot make a day, or undefined. */
export function dayOptionsProblem(o: DayOptions): string | undefined {
  if (!RUN_ID.test(o.runId)) return 'runId must be 1–64 letters, digits, ".", "_" or "-"';
  if (!Number.isInteger(o.seed)) return 'seed must be an integer';
  if (!Number.isInteger(o.customers) || o.customers < 1)
    return 'customers must be a positive integer';
  if (!(o.ratePerSecond > 0) || !Number.isFinite(o.ratePerSecond))
    return 'ratePerSecond must be a positive number';
  if (o.timing && !(o.timing.settleMs > 0 && o.timing.retryGraceMs > 0))
    return 'timing.settleMs and timing.retryGraceMs must be positive';
  const rate = o.duplicateRate ?? 0;
  if (!(rate >= 0 && rate <= 1)) return 'duplicateRate must be between 0 and 1';
  const mix = { ...DEFAULT_MIX, ...o.mix };
  if (Object.values(mix).some((w) => !(w >= 0))) return 'mix weights must not be negative';
  if (!SCENARIOS.some((s) => mix[s] > 0)) return 'mix must give some scenario a positive weight';
  return undefined;
}

/** Which scenario each customer plays: one of each first (when there are enough), then by weight. */
function assignScenarios(rng: Random, customers: number, mix: Record<ScenarioName, number>) {
  const active = SCENARIOS.filter((s) => mix[s] > 0);
  const list: ScenarioName[] =
    customers >= active.length ? [...active] : rng.sample(active, customers);
  while (list.length < customers) list.push(rng.weighted(mix));
  return rng.shuffle(list);
}

type Planned = {
  customerId: string;
  scenario: ScenarioName;
  episode: Episode;
  steps: PlannedStep[];
};
type PlannedStep = Step & { duplicateOf?: number };

/**
 * Delivers one webhook of some customers twice. Each kind (right after, after the round closed)
 * is given to at least one customer when any can take it, so every day shows both.
 */
function addDuplicates(planned: Planned[], seed: number, rate: number, timing: DayTiming) {
  if (rate <= 0) return;
  const eligible = planned
    .map((p, i) => ({ p, rng: Random.derive(seed, i, 1) }))
    .filter(({ p }) =>
      p.steps.some((s, i) => s.route !== '/refresh-requests' && !p.episode.deadLetters.includes(i)),
    );
  const chosen = new Map<Planned, 'right-after' | 'after-round'>();
  for (const { p, rng } of eligible) {
    if (rng.chance(rate)) chosen.set(p, rng.chance(0.5) ? 'right-after' : 'after-round');
  }
  for (const kind of ['right-after', 'after-round'] as const) {
    if ([...chosen.values()].includes(kind)) continue;
    const free = eligible.find(({ p }) => !chosen.has(p));
    if (free) chosen.set(free.p, kind);
  }
  for (const [p, kind] of chosen) {
    const rng = Random.derive(seed, planned.indexOf(p), 2);
    const candidates = p.steps
      .map((s, i) => ({ s, i }))
      .filter(({ s, i }) => s.route !== '/refresh-requests' && !p.episode.deadLetters.includes(i));
    const { s, i } = rng.pick(candidates);
    const last = Math.max(...p.steps.map((x) => x.offsetMs));
    p.steps.push({
      ...s,
      offsetMs: kind === 'right-after' ? s.offsetMs : last + timing.settleMs + 1000,
      note: `${s.note} — delivered again${kind === 'right-after' ? '' : ', after the round closed'}`,
      duplicateOf: i,
      after: i,
    });
  }
}

/**
 * Plans a simulated day for `customers` customers: their calls as data, with send times, and
 * the ledger of what the pipeline must make of them. Pure: the same options give the same day.
 *
 * Customers' first calls are spread evenly over `calls / ratePerSecond` seconds; each customer's
 * later calls follow at the gaps its scenario needs, so the run lasts a little longer.
 */
export function planDay(options: DayOptions): DayPlan {
  const problem = dayOptionsProblem(options);
  if (problem) throw new RangeError(problem);
  const { runId, seed, customers, startTime, ratePerSecond } = options;
  const timing: DayTiming = options.timing ?? {
    settleMs: DEFAULT_ROUND_SETTINGS.settleMs,
    retryGraceMs: DEFAULT_ROUND_SETTINGS.retryGraceMs,
  };
  const mix = { ...DEFAULT_MIX, ...options.mix };
  const rng = new Random(seed);
  const width = Math.max(4, String(customers).length);

  const planned: Planned[] = assignScenarios(rng, customers, mix).map((scenario, i) => {
    const customerId = `${runId}-c${String(i + 1).padStart(width, '0')}`;
    const episode = scenarioBuilders[scenario]({
      rng: Random.derive(seed, i),
      customerId,
      timing,
    });
    return { customerId, scenario, episode, steps: [...episode.steps] };
  });
  addDuplicates(planned, seed, options.duplicateRate ?? 0.15, timing);

  const total = planned.reduce((n, p) => n + p.steps.length, 0);
  const spacing = ((total / ratePerSecond) * 1000) / customers;
  const calls: SimCall[] = [];
  const events: Record<string, string[]> = {};
  const deadLetters: string[] = [];
  planned.forEach((p, index) => {
    const start = Math.round(index * spacing);
    const at = (offsetMs: number) => new Date(startTime + start + offsetMs).toISOString();
    // a copy sorts right after its original (or later): the sort is stable
    const ordered = p.steps
      .map((step, i) => ({ step, i }))
      .sort((a, b) => a.step.offsetMs - b.step.offsetMs);
    const ids = new Map(ordered.map(({ i }, n) => [i, `${p.customerId}#${n + 1}`]));
    const bodies = new Map<number, string>();
    for (const { step, i } of ordered) {
      const id = ids.get(i) as string;
      const original = step.duplicateOf;
      // a copy is the original's bytes, so it maps to the same event ids
      const body =
        original === undefined ? JSON.stringify(step.body(at)) : (bodies.get(original) as string);
      bodies.set(i, body);
      const call: SimCall = {
        id,
        atMs: start + step.offsetMs,
        route: step.route,
        body,
        scenario: p.scenario,
        customerId: p.customerId,
        note: step.note,
        ...(step.after !== undefined ? { after: ids.get(step.after) as string } : {}),
        ...(original !== undefined ? { duplicateOf: ids.get(original) as string } : {}),
        ...(step.late ? { late: true as const } : {}),
      };
      calls.push(call);
      if (p.episode.deadLetters.includes(original ?? i)) deadLetters.push(id);
      else if (step.route !== '/refresh-requests') events[id] = expectedEventIds(call, startTime);
    }
  });
  calls.sort((a, b) => a.atMs - b.atMs);

  const ledger: Ledger = {
    runId,
    seed,
    startTime,
    timing,
    customers: planned.map((p) => ({ id: p.customerId, scenario: p.scenario })),
    events,
    deadLetters,
    completions: planned.flatMap((p) => p.episode.completions),
    newTransactions: planned.flatMap((p) => p.episode.newTransactions),
    alerts: planned.flatMap((p) => p.episode.alerts),
  };
  return { calls, ledger };
}

/**
 * The ids of the canonical events a webhook maps to. Event ids are made from what the source
 * said, never from receipt or lineage, so the mapper gives them here as the normalizer will.
 */
function expectedEventIds(call: SimCall, startTime: number): string[] {
  const result = mapRawWebhook({
    source: call.route === '/webhooks/yodlee' ? 'yodlee' : 'bud',
    value: Buffer.from(call.body),
    receivedAt: startTime + call.atMs,
    ingestId: call.id,
    topic: 'simulated',
    partition: 0,
    offset: 0,
  });
  // a webhook the mapper refuses has no events; the check then reports an unexpected dead letter
  return result.ok ? result.events.map((e) => e.event_id) : [];
}
