import { DEFAULT_ROUND_SETTINGS } from '../../processors/rounds/state.js';
import { Random } from './random.js';
import type { Episode, Step } from './scenarios.js';
import { scenarioBuilders } from './scenarios.js';
import { expectedOutputs } from './expect.js';
import type { DayTiming, Ledger, Route, ScenarioName, SimCall } from './types.js';
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
  // Plaid's come last: with them weighted 0, a seed plans the day it planned before Plaid
  'plaid-sync': 8,
  'plaid-login-repaired': 4,
  'plaid-pending-expiration': 3,
  'plaid-unregistered': 2,
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
 * Webhooks a source may deliver twice with the same bytes, and so the same events: Bud's and
 * Yodlee's. Each delivery of a Plaid webhook is an event of its own (its bodies carry no delivery
 * id); plaid-sync sends a body again as Plaid does, expecting a second report.
 */
const DUPLICABLE: ReadonlySet<Route> = new Set<Route>(['/webhooks/bud', '/webhooks/yodlee']);

/**
 * Delivers one webhook of some customers twice. Each kind (right after, after the round closed)
 * is given to at least one customer when any can take it, so every day shows both.
 */
function addDuplicates(planned: Planned[], seed: number, rate: number, timing: DayTiming) {
  if (rate <= 0) return;
  const duplicable = (p: Planned) =>
    p.steps
      .map((s, i) => ({ s, i }))
      .filter(({ s, i }) => DUPLICABLE.has(s.route) && !p.episode.deadLetters.includes(i));
  const eligible = planned
    .map((p, i) => ({ p, rng: Random.derive(seed, i, 1) }))
    .filter(({ p }) => duplicable(p).length > 0);
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
    const { s, i } = rng.pick(duplicable(p));
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

/** Each customer's scenario and episode, from the seed: customer `i` draws from its own generator. */
function planEpisodes(options: DayOptions, timing: DayTiming): Planned[] {
  const { runId, seed, customers } = options;
  const mix = { ...DEFAULT_MIX, ...options.mix };
  const width = Math.max(4, String(customers).length);
  return assignScenarios(new Random(seed), customers, mix).map((scenario, i) => {
    const customerId = `${runId}-c${String(i + 1).padStart(width, '0')}`;
    const episode = scenarioBuilders[scenario]({
      rng: Random.derive(seed, i),
      customerId,
      timing,
    });
    return { customerId, scenario, episode, steps: [...episode.steps] };
  });
}

/** A customer's calls, placed in the day, with what the ledger needs to know of each. */
export interface PlacedEpisode {
  readonly customerId: string;
  readonly episode: Episode;
  /** When the episode starts, in ms after the run starts. */
  readonly start: number;
  readonly calls: readonly PlacedCall[];
}
export interface PlacedCall {
  readonly call: SimCall;
  /** The step it was made from: a copy's is its original's. */
  readonly step: number;
}

/**
 * Places each customer's steps in the day: customers' first calls spread evenly, a customer's
 * calls numbered in their own order, a copy sent with its original's bytes.
 */
function placeCalls(planned: readonly Planned[], options: DayOptions): PlacedEpisode[] {
  const total = planned.reduce((n, p) => n + p.steps.length, 0);
  const spacing = ((total / options.ratePerSecond) * 1000) / planned.length;
  return planned.map((p, index) => {
    const start = Math.round(index * spacing);
    const at = (offsetMs: number) => new Date(options.startTime + start + offsetMs).toISOString();
    // a copy sorts right after its original (or later): the sort is stable
    const ordered = p.steps
      .map((step, i) => ({ step, i }))
      .sort((a, b) => a.step.offsetMs - b.step.offsetMs);
    const ids = new Map(ordered.map(({ i }, n) => [i, `${p.customerId}#${n + 1}`]));
    const bodies = new Map<number, string>();
    const calls = ordered.map(({ step, i }): PlacedCall => {
      const original = step.duplicateOf;
      // a copy is the original's bytes, so it maps to the same event ids
      const body =
        original === undefined ? JSON.stringify(step.body(at)) : (bodies.get(original) as string);
      bodies.set(i, body);
      const call: SimCall = {
        id: ids.get(i) as string,
        atMs: start + step.offsetMs,
        route: step.route,
        ...(step.path !== undefined ? { path: step.path } : {}),
        body,
        scenario: p.scenario,
        customerId: p.customerId,
        note: step.note,
        ...(step.after !== undefined ? { after: ids.get(step.after) as string } : {}),
        ...(original !== undefined ? { duplicateOf: ids.get(original) as string } : {}),
        ...(step.late ? { late: true as const } : {}),
      };
      return { call, step: original ?? i };
    });
    return { customerId: p.customerId, episode: p.episode, start, calls };
  });
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
  const { runId, seed, startTime } = options;
  const timing: DayTiming = options.timing ?? {
    settleMs: DEFAULT_ROUND_SETTINGS.settleMs,
    retryGraceMs: DEFAULT_ROUND_SETTINGS.retryGraceMs,
  };
  const planned = planEpisodes(options, timing);
  addDuplicates(planned, seed, options.duplicateRate ?? 0.15, timing);
  const placed = placeCalls(planned, options);
  const calls = placed.flatMap((p) => p.calls.map((c) => c.call)).sort((a, b) => a.atMs - b.atMs);
  const ledger: Ledger = {
    runId,
    seed,
    startTime,
    timing,
    customers: planned.map((p) => ({ id: p.customerId, scenario: p.scenario })),
    ...expectedOutputs(placed, startTime),
  };
  return { calls, ledger };
}
