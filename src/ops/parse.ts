import { InvalidArgumentError } from 'commander';

/** Option parsers: a bad value is a usage error (commander prints it with the help hint). */

export function parseTime(value: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`not an ISO-8601 time: ${value}`);
  return ms;
}

export function parseCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError(`not a positive whole number: ${value}`);
  return Number(value);
}

export function parsePartition(value: string, previous: number[] = []): number[] {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError(`not a partition number: ${value}`);
  return [...previous, Number(value)];
}

/** An offset: a whole number, or `end` (only records written from now on). */
export function parseOffset(value: string): bigint | 'end' {
  if (value === 'end') return 'end';
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`not an offset (or "end"): ${value}`);
  return BigInt(value);
}
