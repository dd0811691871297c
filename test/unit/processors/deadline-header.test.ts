import { describe, expect, it } from 'vitest';
import { readDeadline } from '../../../src/processors/task.js';

describe('the deadline a changelog record carries (header refreshbus.deadline)', () => {
  it('reads a deadline, and an empty value as none', () => {
    expect(readDeadline({ 'refreshbus.deadline': Buffer.from('1795443470490') })).toBe(
      1795443470490,
    );
    expect(readDeadline({ 'refreshbus.deadline': Buffer.from('') })).toBeUndefined();
    expect(readDeadline({ 'refreshbus.deadline': [Buffer.from('42'), Buffer.from('7')] })).toBe(42);
  });

  it('is absent from records of earlier versions, or unreadable: the state is decoded instead', () => {
    expect(readDeadline(undefined)).toBeNull();
    expect(readDeadline({})).toBeNull();
    expect(readDeadline({ other: Buffer.from('1') })).toBeNull();
    expect(readDeadline({ 'refreshbus.deadline': Buffer.from('soon') })).toBeNull();
  });
});
