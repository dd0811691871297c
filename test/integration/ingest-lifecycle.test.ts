import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config/config.js';
import { brokers, registryUrl, testBroker, uniqueName } from './support/kafka.js';
import { freePort } from './support/fleet.js';
import { ingestConfig, runIngest } from './support/ingest.js';
import { HEADER } from '../../src/contract/headers.js';

const broker = testBroker();
const { resources } = broker;

describe('ingest lifecycle', () => {
  it('cuts off a client that sends its headers too slowly', async () => {
    const raw = uniqueName('raw');
    await broker.createTopics([raw]);
    const ingest = resources.track(
      await runIngest(ingestConfig({ TOPIC_WEBHOOKS_RAW: raw, INGEST_HEADERS_TIMEOUT_MS: '1000' })),
      (i) => i.close(),
    );
    const { port } = new URL(ingest.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    resources.track(socket, (s) => Promise.resolve(s.destroy()));
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      'POST /webhooks/yodlee HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n',
    );
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      let data = '';
      socket.on('data', (d: Buffer) => (data += d.toString()));
      socket.once('close', () => {
        resolve(data);
      });
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('cuts off a client that sends its body too slowly', async () => {
    const raw = uniqueName('raw');
    await broker.createTopics([raw]);
    const ingest = resources.track(
      await runIngest(
        ingestConfig({
          TOPIC_WEBHOOKS_RAW: raw,
          INGEST_HEADERS_TIMEOUT_MS: '1000',
          INGEST_REQUEST_TIMEOUT_MS: '1500',
        }),
      ),
      (i) => i.close(),
    );
    const { port } = new URL(ingest.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    resources.track(socket, (s) => Promise.resolve(s.destroy()));
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      'POST /webhooks/yodlee HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"event":',
    );
    const answer = await new Promise<string>((resolve) => {
      let data = '';
      socket.on('data', (d: Buffer) => (data += d.toString()));
      socket.once('close', () => {
        resolve(data);
      });
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    const stored = await broker.readAll(raw, { readCommitted: true, quietMs: 1000 });
    expect(stored).toHaveLength(0);
  });

  it('on SIGTERM stops accepting, answers the requests in flight, flushes them to Kafka and exits 0', async () => {
    const raw = uniqueName('raw');
    await broker.createTopics([raw], 3);
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(packageRoot, 'bin/refreshbus.js'), 'ingest'], {
      env: {
        PATH: process.env.PATH,
        KAFKA_BROKERS: brokers().join(','),
        SCHEMA_REGISTRY_URL: registryUrl(),
        INGEST_PORT: String(port),
        TOPIC_WEBHOOKS_RAW: raw,
        BUD_AUTH: 'none',
        YODLEE_AUTH: 'none',
        REFRESH_REQUESTS_AUTH: 'none',
        PLAID_AUTH: 'none',
        CONNECTIONS_AUTH: 'none',
        // records wait in the batcher long enough for SIGTERM to find them in flight
        INGEST_BATCH_LINGER_MS: '1500',
        INGEST_SHUTDOWN_TIMEOUT_MS: '10000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    resources.track(child, (c) => Promise.resolve(c.kill('SIGKILL')));
    let logs = '';
    child.stdout.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 120) throw new Error(`ingest did not become ready:\n${logs}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(logs).toMatch(/authentication is OFF/);

    const inFlight = Array.from({ length: 50 }, (_, n) =>
      fetch(`${base}/webhooks/bud`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: { customer_id: `c-${n}` } }),
      }).then(async (r) => ({ status: r.status, id: ((await r.json()) as { id?: string }).id })),
    );
    await new Promise((r) => setTimeout(r, 500));
    const signalledAt = Date.now();
    child.kill('SIGTERM');
    const results = await Promise.allSettled(inFlight);
    const code = await exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(12_000);

    // every request that was in flight when the signal came is answered 200 and stored
    const answered = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(answered.map((r) => r.status)).toEqual(Array.from({ length: 50 }, () => 200));
    const accepted = answered.map((r) => r.id);
    const stored = await broker.readAll(raw, { readCommitted: true, count: accepted.length });
    const ids = new Set(stored.map((m) => m.headers?.[HEADER.ingestId]?.toString()));
    for (const id of accepted) expect(ids).toContain(id);
    // after exit nothing listens
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
