import http from 'node:http';
import https from 'node:https';
import type { Config } from '../../config/config.js';
import { signStandardWebhook } from '../../ingest/auth/standard-webhooks.js';
import type { Delivery, Route, SimCall } from './types.js';

/** A simulation that cannot run as asked; `message` says what to change. */
export class SimulateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimulateError';
  }
}

/** Headers that authenticate one attempt of a call. */
export type Signer = (attempt: {
  webhookId: string;
  timestamp: number;
  body: Buffer;
}) => Record<string, string>;

/** Each route's settings prefix (`<PREFIX>_AUTH`, …), as the ingest reads them. */
const ROUTE_PREFIX: Readonly<Record<Route, string>> = {
  '/webhooks/bud': 'BUD',
  '/webhooks/yodlee': 'YODLEE',
  '/refresh-requests': 'REFRESH_REQUESTS',
};

/**
 * How to authenticate each route the way the ingest expects, from its own settings: Standard
 * Webhooks HMAC with the first of `<PREFIX>_WEBHOOK_SECRETS`, the shared-secret header, nothing
 * for `ip` and `none`. Bud's JWS needs Bud's private key, which nobody but Bud has: a route
 * that requires `jwks` cannot be simulated. Throws listing every route that cannot be signed.
 */
export function signersFromAuth(
  auth: Config['auth'],
  routes: Iterable<Route>,
): Record<Route, Signer> {
  const problems: string[] = [];
  const signers = {} as Record<Route, Signer>;
  for (const route of new Set(routes)) {
    const prefix = ROUTE_PREFIX[route];
    const settings = auth[prefix];
    if (!settings) {
      problems.push(`${route}: no ${prefix}_AUTH settings`);
      continue;
    }
    const parts: Signer[] = [];
    for (const mode of settings.modes) {
      switch (mode) {
        case 'none':
        case 'ip':
          break;
        case 'hmac': {
          const secret = settings.webhookSecrets?.[0];
          if (!secret) {
            problems.push(
              `${prefix}_WEBHOOK_SECRETS: needed to sign ${route} (${prefix}_AUTH includes hmac)`,
            );
            break;
          }
          parts.push(({ webhookId, timestamp, body }) => ({
            'webhook-id': webhookId,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signStandardWebhook(secret, webhookId, timestamp, body),
          }));
          break;
        }
        case 'secret': {
          const { sharedSecret, sharedSecretHeader } = settings;
          if (!sharedSecret) {
            problems.push(
              `${prefix}_SHARED_SECRET: needed to call ${route} (${prefix}_AUTH includes secret)`,
            );
            break;
          }
          parts.push(() => ({ [sharedSecretHeader]: sharedSecret }));
          break;
        }
        case 'jwks':
          problems.push(
            `${prefix}_AUTH includes jwks: ${route} then only accepts JWS signatures made with the sender's private key, which the simulator does not have. Run the ingest with ${prefix}_AUTH=hmac and ${prefix}_WEBHOOK_SECRETS=whsec_… (as \`refreshbus demo\` does) and give the simulator the same settings.`,
          );
          break;
      }
    }
    signers[route] = (attempt) =>
      Object.assign({}, ...parts.map((sign) => sign(attempt))) as Record<string, string>;
  }
  if (problems.length) {
    throw new SimulateError(
      `cannot authenticate simulated calls:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return signers;
}

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

interface Answer {
  status: number;
  retryAfterMs: number | undefined;
  body: string;
}

function post(
  url: URL,
  body: Buffer,
  headers: Record<string, string>,
  agent: http.Agent,
  timeoutMs: number,
): Promise<Answer> {
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const retryAfter = Number(res.headers['retry-after']);
          resolve({
            status: res.statusCode ?? 0,
            retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

function ingestIdOf(body: string): string | null {
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Bounds the requests in flight. Waiters are served earliest planned time first, not in arrival
 * order: when the ingest falls behind, a call that had to wait for an earlier one (a retry after
 * its failure) goes out among the calls planned with it, not behind everything queued since.
 */
class Slots {
  private free: number;
  private readonly waiting: { at: number; seq: number; wake: () => void }[] = [];
  private seq = 0;
  constructor(size: number) {
    this.free = size;
  }
  async acquire(at: number): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((wake) => {
      this.push({ at, seq: this.seq++, wake });
    });
  }
  release(): void {
    const next = this.pop();
    if (next) next.wake();
    else this.free++;
  }
  // a binary min-heap on (at, seq)
  private before(i: number, j: number): boolean {
    const a = this.waiting[i] as { at: number; seq: number };
    const b = this.waiting[j] as { at: number; seq: number };
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
  private swap(i: number, j: number): void {
    [this.waiting[i], this.waiting[j]] = [
      this.waiting[j] as (typeof this.waiting)[number],
      this.waiting[i] as (typeof this.waiting)[number],
    ];
  }
  private push(item: (typeof this.waiting)[number]): void {
    this.waiting.push(item);
    for (let i = this.waiting.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  private pop(): (typeof this.waiting)[number] | undefined {
    const top = this.waiting[0];
    const last = this.waiting.pop();
    if (top === undefined || last === undefined || this.waiting.length === 0) return top;
    this.waiting[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.waiting.length && this.before(l, m)) m = l;
      if (r < this.waiting.length && this.before(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
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
  const base = new URL(options.url);
  const concurrency = options.concurrency ?? 64;
  const attempts = options.attempts ?? 6;
  const backoffMs = options.backoffMs ?? 250;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const { signal } = options;
  const agent = new (base.protocol === 'https:' ? https.Agent : http.Agent)({
    keepAlive: true,
    maxSockets: concurrency,
  });
  const slots = new Slots(concurrency);
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
  const progress = (): SendProgress => ({
    total: calls.length,
    ...counts,
    statuses: { ...statuses },
  });
  const report = () => options.onProgress?.(progress());
  const deliveries = new Map<string, Delivery>();
  const startedAt = Date.now();

  const deliver = async (call: SimCall): Promise<Delivery> => {
    const webhookId = `msg_${call.id}`;
    const body = Buffer.from(call.body);
    const url = new URL(call.route, base);
    let firstSentAt: number | null = null;
    let last: { status: number | null; error?: string } = {
      status: null,
      error: 'not sent (stopped)',
    };
    let attempt = 0;
    while (attempt < attempts) {
      if (signal?.aborted) break;
      attempt++;
      if (attempt > 1) counts.retries++;
      const sentAt = Date.now();
      if (firstSentAt === null) {
        firstSentAt = sentAt;
        counts.sent++;
        counts.lagMs = Math.max(0, sentAt - (startedAt + call.atMs));
        counts.maxLagMs = Math.max(counts.maxLagMs, counts.lagMs);
      }
      const headers = {
        ...options.signers[call.route]({
          webhookId,
          timestamp: Math.floor(sentAt / 1000),
          body,
        }),
        // a client retrying a refresh request sends the same key: it is applied once
        ...(call.route === '/refresh-requests' ? { 'idempotency-key': call.id } : {}),
      };
      let wait = Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
      counts.inFlight++;
      try {
        const answer = await post(url, body, headers, agent, timeoutMs);
        if (answer.status >= 200 && answer.status < 300) {
          return {
            callId: call.id,
            customerId: call.customerId,
            route: call.route,
            webhookId,
            status: answer.status,
            attempts: attempt,
            ingestId: ingestIdOf(answer.body),
            firstSentAt,
            acknowledgedAt: Date.now(),
          };
        }
        last = { status: answer.status, error: answer.body.slice(0, 300) };
        if (!retryable(answer.status)) break;
        if (answer.retryAfterMs !== undefined)
          wait = Math.min(maxBackoffMs, Math.max(wait, answer.retryAfterMs));
      } catch (err) {
        last = { status: null, error: (err as Error).message };
      } finally {
        counts.inFlight--;
      }
      if (attempt < attempts) await sleep(wait, signal);
    }
    return {
      callId: call.id,
      customerId: call.customerId,
      route: call.route,
      webhookId,
      status: last.status,
      attempts: attempt,
      ingestId: null,
      firstSentAt,
      acknowledgedAt: null,
      ...(last.error !== undefined ? { error: last.error } : {}),
    };
  };

  const settle = (d: Delivery) => {
    deliveries.set(d.callId, d);
    if (d.firstSentAt === null) return;
    counts.answered++;
    if (d.acknowledgedAt !== null) counts.accepted++;
    const key = d.status === null ? 'network' : String(d.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
    report();
  };

  const order = new Map(calls.map((c, i) => [c.id, i]));
  calls.forEach((c, i) => {
    if (c.after !== undefined && !((order.get(c.after) ?? i) < i))
      throw new SimulateError(`call ${c.id} must follow ${c.after}, which is not an earlier call`);
  });
  const answered = new Map<string, Promise<void>>();
  try {
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
        (first ?? Promise.resolve()).then(async () => {
          await slots.acquire(call.atMs);
          try {
            settle(await deliver(call));
          } finally {
            slots.release();
          }
        }),
      );
    }
    await Promise.all(answered.values());
  } finally {
    agent.destroy();
  }
  const unsent = (call: SimCall): Delivery => ({
    callId: call.id,
    customerId: call.customerId,
    route: call.route,
    webhookId: `msg_${call.id}`,
    status: null,
    attempts: 0,
    ingestId: null,
    firstSentAt: null,
    acknowledgedAt: null,
    error: 'not sent (stopped)',
  });
  return {
    deliveries: calls.map((c) => deliveries.get(c.id) ?? unsent(c)),
    progress: progress(),
    startedAt,
    finishedAt: Date.now(),
  };
}
