import { mapRawWebhook } from '../../src/normalize/mappers/index.js';
import type { RefreshEvent } from '../../src/normalize/types.js';
import type { ProcessorInput } from '../../src/processors/types.js';

let offset = 0;

/** Canonical events made the way production makes them: a webhook body through the real mapper. */
export function eventsFrom(
  source: 'bud' | 'yodlee',
  body: unknown,
  receivedAt: number,
): RefreshEvent[] {
  const result = mapRawWebhook({
    source,
    value: Buffer.from(JSON.stringify(body)),
    receivedAt,
    ingestId: `ingest-${++offset}`,
    topic: 'raw',
    partition: 0,
    offset,
  });
  if (!result.ok) throw new Error(`fixture does not map: ${result.code} ${result.message}`);
  return result.events;
}

export function budV1(
  at: number,
  fields: {
    customer: string;
    task: string;
    provider?: string;
    status?: string;
    result?: string;
    reconnect?: boolean | string;
    hasNew?: boolean | string;
  },
): ProcessorInput[] {
  return eventsFrom(
    'bud',
    {
      data: {
        task_id: fields.task,
        task_type: 'refresh',
        customer_id: fields.customer,
        status: fields.status ?? 'Completed',
        result: fields.result ?? 'success',
        ...(fields.provider ? { provider: fields.provider } : {}),
        ...(fields.reconnect !== undefined ? { reconnect_required: fields.reconnect } : {}),
        ...(fields.hasNew !== undefined ? { has_new_transactions: fields.hasNew } : {}),
      },
    },
    at,
  ).map((event) => ({ kind: 'event', event }));
}

export function yodlee(
  at: number,
  fields: {
    login: string;
    info: 'REFRESH.INTERIM_PROGRESS' | 'REFRESH.PROCESS_COMPLETED';
    accountId: number;
    status: string;
    additionalStatus: string;
    eligibility?: string;
    lastUpdated?: string;
    lastUpdateAttempt?: string;
  },
): ProcessorInput[] {
  return eventsFrom(
    'yodlee',
    {
      event: {
        info: fields.info,
        loginName: fields.login,
        data: {
          providerAccount: [
            {
              id: fields.accountId,
              providerId: 16441,
              status: fields.status,
              dataset: [
                {
                  name: 'BASIC_AGG_DATA',
                  additionalStatus: fields.additionalStatus,
                  updateEligibility: fields.eligibility ?? 'ALLOW_UPDATE',
                  ...(fields.lastUpdated ? { lastUpdated: fields.lastUpdated } : {}),
                  ...(fields.lastUpdateAttempt
                    ? { lastUpdateAttempt: fields.lastUpdateAttempt }
                    : {}),
                },
              ],
            },
          ],
        },
      },
    },
    at,
  ).map((event) => ({ kind: 'event', event }));
}
