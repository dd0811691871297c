import { signStandardWebhook } from '../../src/ingest/auth/standard-webhooks.js';

/** A webhook as a source sends it: which route, which customer, the exact body bytes. */
export interface Webhook {
  readonly source: 'bud' | 'yodlee';
  readonly route: '/webhooks/bud' | '/webhooks/yodlee';
  readonly customer: string;
  readonly body: Buffer;
}

/** The Standard Webhooks secret the bench configures on every route. */
export const BENCH_SECRET =
  'whsec_' + Buffer.from('bench-secret-0123456789abcdef').toString('base64');

/**
 * The i-th webhook of a realistic mix: half Bud V1 (one in five of them failed), a quarter Bud
 * V2 completions, a quarter Yodlee refreshes; `customers` distinct customers, banks and consents
 * varying. Deterministic in `i`, so a run can be repeated.
 */
export function mixedWebhook(i: number, customers = 20_000, now = new Date()): Webhook {
  const customer = `customer-${i % customers}`;
  const at = now.toISOString();
  switch (i % 4) {
    case 0:
    case 1: {
      const failed = i % 10 === 1;
      return webhook(
        'bud',
        customer,
        budV1Payload({
          taskId: `task-${i}`,
          customer,
          failed,
          hasNew: i % 3 === 0,
          provider: `Bank_${i % 7}`,
          consentId: `consent-${i % 50_000}`,
        }),
      );
    }
    case 2:
      return webhook('bud', customer, {
        event: 'open_banking.v2.refresh.provider.completed',
        customer_id: customer,
        task_id: `task-${i}`,
        provider: `Bank_${i % 7}`,
        status: 'Completed',
        result: 'success',
        reconnect_required: false,
        has_new_transactions: true,
        consent_ids: [`consent-${i}`],
        start_time: at,
      });
    default:
      return webhook('yodlee', customer, {
        event: {
          info: 'REFRESH.PROCESS_COMPLETED',
          loginName: customer,
          data: {
            providerAccount: [
              {
                id: 10_000_000 + i,
                providerId: 16441,
                status: 'SUCCESS',
                requestId: `req-${i}`,
                dataset: [
                  {
                    name: 'BASIC_AGG_DATA',
                    additionalStatus: 'AVAILABLE_DATA_RETRIEVED',
                    updateEligibility: 'ALLOW_UPDATE',
                    lastUpdated: at,
                    lastUpdateAttempt: at,
                  },
                ],
              },
            ],
          },
        },
      });
  }
}

/** A Bud V1 success with new transactions for one task: what ends a requested round at once. */
export function budTaskCompleted(customer: string, taskId: string, provider: string): Buffer {
  return Buffer.from(
    JSON.stringify(
      budV1Payload({ taskId, customer, hasNew: true, provider, consentId: `consent-${customer}` }),
    ),
  );
}

/** A Bud V1 refresh webhook for one task: Completed/success, or Failed/provider_failure. */
function budV1Payload(task: {
  taskId: string;
  customer: string;
  failed?: boolean;
  hasNew: boolean;
  provider: string;
  consentId: string;
}) {
  return {
    data: {
      task_id: task.taskId,
      task_type: 'refresh',
      customer_id: task.customer,
      status: task.failed ? 'Failed' : 'Completed',
      result: task.failed ? 'provider_failure' : 'success',
      has_new_transactions: String(task.hasNew),
      reconnect_required: 'false',
      provider: task.provider,
      consent_id: task.consentId,
    },
  };
}

const ROUTES = { bud: '/webhooks/bud', yodlee: '/webhooks/yodlee' } as const;

/** A webhook of `source` for `customer`, its body `payload` as JSON. */
function webhook(source: Webhook['source'], customer: string, payload: unknown): Webhook {
  return { source, route: ROUTES[source], customer, body: Buffer.from(JSON.stringify(payload)) };
}

/** Headers of a Standard Webhooks-signed JSON POST (`timestamp` in seconds). */
export function signedHeaders(
  id: string,
  body: Buffer,
  timestamp = Math.floor(Date.now() / 1000),
  secret = BENCH_SECRET,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandardWebhook(secret, id, timestamp, body),
  };
}

/** The ingest's routes authenticated by HMAC with {@link BENCH_SECRET} (a service's environment). */
export const HMAC_AUTH_ENV: Readonly<Record<string, string>> = {
  BUD_AUTH: 'hmac',
  BUD_WEBHOOK_SECRETS: BENCH_SECRET,
  YODLEE_AUTH: 'hmac',
  YODLEE_WEBHOOK_SECRETS: BENCH_SECRET,
  REFRESH_REQUESTS_AUTH: 'hmac',
  REFRESH_REQUESTS_WEBHOOK_SECRETS: BENCH_SECRET,
  PLAID_AUTH: 'hmac',
  PLAID_WEBHOOK_SECRETS: BENCH_SECRET,
  CONNECTIONS_AUTH: 'hmac',
  CONNECTIONS_WEBHOOK_SECRETS: BENCH_SECRET,
};
