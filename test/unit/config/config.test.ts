import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/config.js';

describe('loadConfig', () => {
  it('gives documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.KAFKA_BROKERS).toBeUndefined();
    expect(config.REFRESHBUS_KAFKA_PORT).toBe(9092);
    expect(config.REFRESHBUS_REGISTRY_PORT).toBe(8081);
    expect(config.REFRESHBUS_STACK).toBe('auto');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('splits KAFKA_BROKERS on commas and trims', () => {
    const config = loadConfig({
      KAFKA_BROKERS: ' a:9092, b:9092 ,',
      SCHEMA_REGISTRY_URL: 'http://r:8081',
    });
    expect(config.KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        REFRESHBUS_KAFKA_PORT: 'ninety',
        LOG_LEVEL: 'loud',
        SCHEMA_REGISTRY_URL: 'not a url',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/REFRESHBUS_KAFKA_PORT/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL/);
    expect(problems.join('\n')).toMatch(/SCHEMA_REGISTRY_URL/);
  });

  it('requires a registry when brokers are given', () => {
    expect(() => loadConfig({ KAFKA_BROKERS: 'a:9092' })).toThrow(
      /SCHEMA_REGISTRY_URL: required when KAFKA_BROKERS is set/,
    );
  });
});

describe('cross-setting checks', () => {
  it('refuses a header deadline longer than the request deadline', () => {
    expect(() =>
      loadConfig({ INGEST_HEADERS_TIMEOUT_MS: '20000', INGEST_REQUEST_TIMEOUT_MS: '10000' }),
    ).toThrow(/INGEST_HEADERS_TIMEOUT_MS: must not exceed INGEST_REQUEST_TIMEOUT_MS/);
  });
});
