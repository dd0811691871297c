import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  NotReadyError,
  PoisonError,
  ProcessingError,
  classify,
  failureOf,
  registryUnreachable,
} from '../../../src/kafka/errors.js';

/** A broker error as kafkajs builds it from a response's error code (protocol/error.js). */
const protocol = (type: string, retriable = false) =>
  new KafkaJSProtocolError({ type, code: 0, retriable, message: type } as never);

describe('classify', () => {
  it('a record the broker refuses is deterministic, wrapped or not', () => {
    const tooLarge = protocol('MESSAGE_TOO_LARGE');
    expect(tooLarge.type).toBe('MESSAGE_TOO_LARGE');
    expect(classify(tooLarge)).toBe('deterministic');
    expect(
      classify(Object.assign(new KafkaJSNonRetriableError(tooLarge), { cause: tooLarge })),
    ).toBe('deterministic');
    expect(classify(protocol('RECORD_LIST_TOO_LARGE'))).toBe('deterministic');
  });

  it('fencing is fenced', () => {
    expect(classify(protocol('INVALID_PRODUCER_EPOCH'))).toBe('fenced');
  });

  it("Kafka's and the runner's own errors are transient, however unfamiliar", () => {
    expect(classify(protocol('COORDINATOR_NOT_AVAILABLE', true))).toBe('transient');
    expect(classify(new KafkaJSConnectionError('Connection error: ECONNREFUSED'))).toBe(
      'transient',
    );
    expect(classify(new Error('something odd in the runner'))).toBe('transient');
  });

  it('what the processing step threw: poison is deterministic, the network and a restore transient, the rest unknown', () => {
    expect(classify(new ProcessingError(new PoisonError('REDUCER_FAILED', 'x')))).toBe(
      'deterministic',
    );
    const registryDown = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8081'), {
      code: 'ECONNREFUSED',
    });
    expect(classify(new ProcessingError(registryDown))).toBe('transient');
    expect(classify(new ProcessingError(new NotReadyError('restoring')))).toBe('transient');
    expect(classify(new ProcessingError(new KafkaJSConnectionError('closed')))).toBe('transient');
    const notOurs = Object.assign(new Error('Message encoded with magic byte 110, expected 0'), {
      name: 'ConfluentSchemaRegistryArgumentError',
    });
    expect(classify(new ProcessingError(notOurs))).toBe('deterministic');
    expect(classify(new ProcessingError(new TypeError('x is undefined')))).toBe('unknown');
    const registry = (status: number) =>
      new ProcessingError(
        Object.assign(new Error(`status ${String(status)}`), { name: 'ResponseError', status }),
      );
    // 400: how the registry's client reports its own network failures (getaddrinfo ENOTFOUND …)
    expect([503, 429, 401, 400, 404].map((status) => classify(registry(status)))).toEqual([
      'transient',
      'transient',
      'transient',
      'transient',
      'unknown',
    ]);
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND registry'), { code: 'ENOTFOUND' });
    expect(classify(new ProcessingError(dns))).toBe('transient');
  });

  it('a cycle of causes ends', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect(classify(new ProcessingError(b))).toBe('unknown');
  });
});

describe('failureOf: the dead letter code', () => {
  it('is the poison code, the Kafka error type, UNDECODABLE or PROCESSING_FAILED', () => {
    expect(
      failureOf(new ProcessingError(new PoisonError('RECORD_TOO_LARGE', 'big')), 'deterministic'),
    ).toEqual({ code: 'RECORD_TOO_LARGE', message: 'big' });
    expect(failureOf(protocol('MESSAGE_TOO_LARGE'), 'deterministic').code).toBe(
      'MESSAGE_TOO_LARGE',
    );
    const notOurs = Object.assign(new Error('Invalid buffer'), {
      name: 'ConfluentSchemaRegistryArgumentError',
    });
    expect(failureOf(new ProcessingError(notOurs), 'deterministic')).toEqual({
      code: 'UNDECODABLE',
      message: 'Invalid buffer',
    });
    expect(failureOf(new ProcessingError(new TypeError('boom')), 'unknown')).toEqual({
      code: 'PROCESSING_FAILED',
      message: 'boom',
    });
  });
});

describe('registryUnreachable', () => {
  it('is true for a registry down, overloaded or refusing us, false for bytes it cannot read', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8081'), {
      code: 'ECONNREFUSED',
    });
    const response = (status: number) =>
      Object.assign(new Error(`status ${String(status)}`), { name: 'ResponseError', status });
    expect(registryUnreachable(new Error('wrapped', { cause: refused }))).toBe(true);
    expect(registryUnreachable(response(503))).toBe(true);
    expect(registryUnreachable(response(429))).toBe(true);
    expect(registryUnreachable(response(404))).toBe(false);
    const notAvro = Object.assign(new Error('Message encoded with magic byte 123'), {
      name: 'ConfluentSchemaRegistryArgumentError',
    });
    expect(registryUnreachable(notAvro)).toBe(false);
  });
});
