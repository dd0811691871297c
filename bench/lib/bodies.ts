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
      return {
        source: 'bud',
        route: '/webhooks/bud',
        customer,
        body: Buffer.from(
          JSON.stringify({
            data: {
              task_id: `task-${i}`,
              task_type: 'refresh',
              customer_id: customer,
              status: failed ? 'Failed' : 'Completed',
              result: failed ? 'provider_failure' : 'success',
              has_new_transactions: i % 3 === 0 ? 'true' : 'false',
              reconnect_required: 'false',
              provider: `Bank_${i % 7}`,
              consent_id: `consent-${i % 50_000}`,
            },
          }),
        ),
      };
    }
    case 2:
      return {
        source: 'bud',
        route: '/webhooks/bud',
        customer,
        body: Buffer.from(
          JSON.stringify({
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
          }),
        ),
      };
    default:
      return {
        source: 'yodlee',
        route: '/webhooks/yodlee',
        customer,
        body: Buffer.from(
          JSON.stringify({
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
          }),
        ),
      };
  }
}

/** A Bud V1 success with new transactions for one task: what ends a requested round at once. */
export function budTaskCompleted(customer: string, taskId: string, provider: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      data: {
        task_id: taskId,
        task_type: 'refresh',
        customer_id: customer,
        status: 'Completed',
        result: 'success',
        has_new_transactions: 'true',
        reconnect_required: 'false',
        provider,
        consent_id: `consent-${customer}`,
      },
    }),
  );
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
};
