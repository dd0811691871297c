/**
 * The sender's plumbing: one HTTP(S) request to the ingest, waiting between attempts, and the bound
 * on requests in flight.
 */
import http from 'node:http';
import https from 'node:https';

/** The ingest's answer to one attempt. */
export interface Answer {
  status: number;
  retryAfterMs: number | undefined;
  body: string;
}

/**
 * One request (a POST, or the `method` given) of `body` to `url`: resolves with the answer
 * (`Retry-After` in ms), rejects on a network error or when no answer comes within `timeoutMs`.
 */
export function post(
  url: URL,
  body: Buffer,
  headers: Record<string, string>,
  agent: http.Agent,
  timeoutMs: number,
  method: 'POST' | 'PUT' = 'POST',
): Promise<Answer> {
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
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

/** Answers an aggregator retries: a timeout, throttling, a server error. */
export const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/** The ingest id a 2xx answer names (`{"status":"accepted","id":…}`), or null. */
export function ingestIdOf(body: string): string | null {
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

/** Waits `ms`, or until `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal) =>
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
export class Slots {
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
