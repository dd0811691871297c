/** How the librdkafka engine's own errors are classified (src/kafka/errors.ts). */
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { describe, expect, it } from 'vitest';
import { asKafkaError } from '../../../src/kafka/eos/binding.js';
import { AbortedWithOthersError, SendRefusedError } from '../../../src/kafka/eos/transactions.js';
import { classify, failureOf, kafkaErrorType } from '../../../src/kafka/errors.js';

/** What the binding throws for a record over message.max.bytes: a bare error with a code. */
const bareTooLarge = () => Object.assign(new Error('Broker: Message size too large'), { code: 10 });

describe('the librdkafka engine’s errors', () => {
  it('reads a record the client refuses before sending as MESSAGE_TOO_LARGE: deterministic, dead-lettered under that code', () => {
    const refused = new SendRefusedError(asKafkaError(bareTooLarge()));
    expect(kafkaErrorType(refused)).toBe('MESSAGE_TOO_LARGE');
    expect(classify(refused)).toBe('deterministic');
    expect(failureOf(refused, 'deterministic').code).toBe('MESSAGE_TOO_LARGE');
    // without the conversion the code alone says nothing: it would be retried for ever
    expect(classify(new SendRefusedError(bareTooLarge()))).toBe('transient');
  });

  it('reads what the broker refuses (a delivery report) the same way', () => {
    const report = new KafkaJS.KafkaJSError('Broker: Message size too large', { code: 10 });
    expect(classify(new SendRefusedError(report))).toBe('deterministic');
  });

  it('retries work aborted only because another partition’s record was refused', () => {
    const other = new SendRefusedError(asKafkaError(bareTooLarge()));
    expect(classify(new AbortedWithOthersError(other))).toBe('transient');
  });

  it('reads librdkafka’s own fencing as fenced', () => {
    const fenced = new KafkaJS.KafkaJSError('Local: This instance has been fenced', {
      code: KafkaJS.ErrorCodes.ERR__FENCED,
    });
    expect(classify(fenced)).toBe('fenced');
  });
});
