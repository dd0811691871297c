import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/config.js';
import { signStandardWebhook } from '../ingest/auth/standard-webhooks.js';
import { createKafka } from '../kafka/client.js';
import type { Logger } from '../lib/logger.js';
import { createRegistry } from '../registry/registry.js';
import type { Endpoints } from '../stack/local-stack.js';
import { startAll } from '../cli/all.js';

const SECRET = 'whsec_' + Buffer.from('refreshbus-local-demo-secret').toString('base64');

/** The demo's settings: the local default plus short deadlines, signed webhooks, a free port. */
export function demoConfig(base: Config, endpoints: Endpoints): Config {
  return loadConfig({
    KAFKA_BROKERS: endpoints.brokers.join(','),
    SCHEMA_REGISTRY_URL: endpoints.registryUrl,
    LOG_LEVEL: 'warn',
    INGEST_PORT: '0',
    BUD_AUTH: 'hmac',
    BUD_WEBHOOK_SECRETS: SECRET,
    YODLEE_AUTH: 'ip',
    YODLEE_ALLOWED_CIDRS: '127.0.0.1/32,::1/128',
    REFRESH_REQUESTS_AUTH: 'hmac',
    REFRESH_REQUESTS_WEBHOOK_SECRETS: SECRET,
    ROUND_SETTLE_MS: '2000',
    ROUND_RETRY_GRACE_MS: '10000',
    ROUND_QUIET_DEADLINE_MS: '20000',
    PROCESS_TIMER_INTERVAL_MS: '250',
    TOPIC_PARTITIONS: String(base.TOPIC_PARTITIONS),
  });
}

interface Call {
  route: '/webhooks/bud' | '/webhooks/yodlee' | '/refresh-requests';
  body: unknown;
  pauseMs?: number;
}

/** A small, realistic day of traffic for customers whose ids start with `run`. */
export function demoTraffic(run: string): Call[] {
  const now = new Date().toISOString();
  const bud = (data: Record<string, unknown>): Call => ({
    route: '/webhooks/bud',
    body: { data: { task_type: 'refresh', status: 'Completed', result: 'success', ...data } },
  });
  const account = (
    id: number,
    status: string,
    additionalStatus: string,
    eligibility = 'ALLOW_UPDATE',
  ) => ({
    id,
    providerId: 16441,
    status,
    requestId: `req-${id}`,
    dataset: [
      {
        name: 'BASIC_AGG_DATA',
        additionalStatus,
        updateEligibility: eligibility,
        lastUpdated: now,
        lastUpdateAttempt: now,
      },
    ],
  });
  const yodlee = (login: string, info: string, accounts: unknown[]): Call => ({
    route: '/webhooks/yodlee',
    body: { event: { info, loginName: login, data: { providerAccount: accounts } } },
  });
  const calls: Call[] = [];
  // Bud hosted refreshes: one webhook per bank, strings for booleans (V1)
  for (let n = 0; n < 5; n++) {
    const customer = `${run}-hosted-${n}`;
    calls.push(
      bud({
        task_id: randomUUID(),
        customer_id: customer,
        provider: 'Capital_One',
        has_new_transactions: 'true',
        reconnect_required: 'false',
      }),
    );
    calls.push(
      bud({
        task_id: randomUUID(),
        customer_id: customer,
        provider: 'Bank_Of_America',
        has_new_transactions: 'false',
        reconnect_required: 'false',
      }),
    );
  }
  // Bud V2: one refresh task for all providers
  calls.push({
    route: '/webhooks/bud',
    body: {
      event: 'open_banking.v2.refresh.completed',
      customer_id: `${run}-v2`,
      task_id: randomUUID(),
      status: 'Completed',
      result: 'success',
      start_time: now,
      sub_tasks: [
        {
          task_id: randomUUID(),
          provider: 'Monzo',
          status: 'Completed',
          result: 'success',
          reconnect_required: false,
          has_new_transactions: true,
          consent_ids: ['c-1'],
        },
        {
          task_id: randomUUID(),
          provider: 'Starling',
          status: 'Completed',
          result: 'success',
          reconnect_required: false,
          has_new_transactions: false,
          consent_ids: ['c-2'],
        },
      ],
    },
  });
  // a customer-initiated batch announced by RefreshRequested; webhooks out of order, one twice
  const requested = `${run}-requested`;
  calls.push({
    route: '/refresh-requests',
    body: { customer_id: requested, task_ids: ['t1', 't2', 't3'] },
  });
  const provider = (task: string, bank: string, hasNew: boolean): Call => ({
    route: '/webhooks/bud',
    body: {
      event: 'open_banking.v2.refresh.provider.completed',
      customer_id: requested,
      task_id: task,
      provider: bank,
      status: 'Completed',
      result: 'success',
      reconnect_required: false,
      has_new_transactions: hasNew,
      start_time: now,
    },
  });
  calls.push(
    provider('t3', 'Barclays', false),
    provider('t1', 'HSBC', true),
    provider('t1', 'HSBC', true),
    provider('t2', 'Lloyds', false),
  );
  // a transient failure, retried successfully
  calls.push(
    bud({
      task_id: 'retry-1',
      customer_id: `${run}-retry`,
      provider: 'Nationwide',
      status: 'Failed',
      result: 'provider_failure',
      reconnect_required: 'false',
    }),
  );
  calls.push({
    ...bud({
      task_id: 'retry-1',
      customer_id: `${run}-retry`,
      provider: 'Nationwide',
      has_new_transactions: 'true',
    }),
    pauseMs: 500,
  });
  // a revoked connection, then the user reconnects
  calls.push(
    bud({
      task_id: randomUUID(),
      customer_id: `${run}-reconnect`,
      provider: 'Santander',
      status: 'Failed',
      result: 'connection_revoked',
      reconnect_required: true,
    }),
  );
  calls.push({
    ...bud({ task_id: randomUUID(), customer_id: `${run}-reconnect`, provider: 'Santander' }),
    pauseMs: 500,
  });
  // Yodlee: a refresh in three notifications, and an account whose password changed
  calls.push(
    yodlee(`${run}-yodlee`, 'REFRESH.INTERIM_PROGRESS', [
      { ...account(901, 'IN_PROGRESS', 'DATA_RETRIEVAL_IN_PROGRESS'), dataset: [] },
    ]),
  );
  calls.push(
    yodlee(`${run}-yodlee`, 'REFRESH.INTERIM_PROGRESS', [
      { ...account(901, 'IN_PROGRESS', 'ACCT_SUMMARY_RECEIVED'), dataset: [] },
    ]),
  );
  calls.push(
    yodlee(`${run}-yodlee`, 'REFRESH.PROCESS_COMPLETED', [
      account(901, 'SUCCESS', 'AVAILABLE_DATA_RETRIEVED'),
    ]),
  );
  calls.push(
    yodlee(`${run}-password`, 'REFRESH.PROCESS_COMPLETED', [
      account(902, 'FAILED', 'INCORRECT_CREDENTIALS', 'ALLOW_UPDATE_WITH_CREDENTIALS'),
    ]),
  );
  // something no mapper knows: accepted (200), then dead-lettered
  calls.push({
    route: '/webhooks/bud',
    body: { hello: 'an event type from next year', customer_id: `${run}-unknown` },
  });
  return calls;
}

/** What the demo expects to see for its run. */
export const DEMO_EXPECTED = { completed: 11, newTransactions: 9, alerts: 3, dlq: 1 };

/** Reads a topic from its start (read_committed) until `want` records match or the time is up. */
async function readMatching(
  kafka: Kafka,
  topic: string,
  want: number,
  timeoutMs: number,
  matches: (m: KafkaMessage) => boolean,
): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({
    groupId: `refreshbus-demo-reader-${randomUUID()}`,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  });
  const found: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        if (matches(message)) found.push(message);
        return Promise.resolve();
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (found.length < want && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
  } finally {
    await consumer.disconnect();
  }
  return found;
}

/** Runs the whole pipeline on the given infrastructure, plays the demo traffic, and summarises. */
export async function runPipelineDemo(
  base: Config,
  endpoints: Endpoints,
  logger: Logger,
  say: (line: string) => void,
) {
  const config = demoConfig(base, endpoints);
  const run = `demo-${new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14)}-${randomUUID().slice(0, 4)}`;
  say('pipeline: starting ingest, normalizer and processors (refreshbus all)…');
  const all = await startAll(config, endpoints, logger);
  try {
    const calls = demoTraffic(run);
    say(`traffic: ${calls.length} webhooks and requests for customers ${run}-*`);
    const statuses: Record<string, number> = {};
    for (const call of calls) {
      if (call.pauseMs) await new Promise((r) => setTimeout(r, call.pauseMs));
      const body = Buffer.from(JSON.stringify(call.body));
      const id = `msg_${randomUUID()}`;
      const ts = Math.floor(Date.now() / 1000);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (call.route !== '/webhooks/yodlee') {
        Object.assign(headers, {
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': signStandardWebhook(SECRET, id, ts, body),
        });
      }
      const res = await fetch(`${all.ingest.url}${call.route}`, { method: 'POST', headers, body });
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
    say(
      `ingest: answered ${Object.entries(statuses)
        .map(([s, n]) => `${n}× ${s}`)
        .join(', ')}`,
    );
    say('processing: waiting for rounds to settle and close…');
    const kafka = createKafka(
      { brokers: endpoints.brokers, clientId: 'refreshbus-demo-reader' },
      logger,
    );
    const registry = createRegistry(endpoints.registryUrl);
    const ours = (m: KafkaMessage) => (m.key?.toString() ?? '').startsWith(run);
    const [completed, signals, alerts, dlq] = await Promise.all([
      readMatching(kafka, config.TOPIC_CUSTOMER_COMPLETED, DEMO_EXPECTED.completed, 60_000, ours),
      readMatching(
        kafka,
        config.TOPIC_CUSTOMER_NEW_TRANSACTIONS,
        DEMO_EXPECTED.newTransactions,
        60_000,
        ours,
      ),
      readMatching(kafka, config.TOPIC_CUSTOMER_ALERTS, DEMO_EXPECTED.alerts, 60_000, ours),
      // a dead letter keeps the raw key: the customer id found in the body
      readMatching(kafka, config.TOPIC_REFRESH_DLQ, DEMO_EXPECTED.dlq, 60_000, ours),
    ]);
    const decode = async (list: { value: Buffer | null }[]) =>
      Promise.all(
        list.map(
          async (m) =>
            (await registry.decode(m.value ?? Buffer.alloc(0))) as Record<string, unknown>,
        ),
      );
    const summary = {
      run,
      completions: (await decode(completed)).map((c) => ({
        customer: c.customer_id,
        reason: c.close_reason,
        connections: (c.connections as Record<string, unknown>[])
          .map(
            (x) =>
              `${String(x.provider ?? x.connection_id)}:${String(x.outcome)}${x.action_required !== 'NONE' ? `/${String(x.action_required)}` : ''}`,
          )
          .join(' '),
        new_data: c.any_new_transactions,
      })),
      newTransactions: (await decode(signals)).map(
        (s) => `${String(s.customer_id)} ← ${(s.providers as string[]).join(', ')}`,
      ),
      alerts: (await decode(alerts)).map(
        (a) =>
          `${String(a.customer_id)} ${String(a.status)} ${String(a.action_required)} (${String(a.provider ?? a.connection_id)})`,
      ),
      deadLettered: dlq.length,
    };
    return summary;
  } finally {
    await all.close();
  }
}
