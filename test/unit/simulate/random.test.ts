import { describe, expect, it } from 'vitest';
import { Random } from '../../../src/tools/simulate/random.js';

const draws = (r: Random, n: number) => Array.from({ length: n }, () => r.next());

describe('Random', () => {
  it('gives the same sequence for the same seed, and another for another seed', () => {
    expect(draws(new Random(42), 20)).toEqual(draws(new Random(42), 20));
    expect(draws(new Random(42), 20)).not.toEqual(draws(new Random(43), 20));
  });

  it('gives the reference mulberry32 values (the same on every machine)', () => {
    const r = new Random(1);
    expect([r.next(), r.next(), r.next()].map((x) => x.toFixed(8))).toEqual([
      '0.62707394',
      '0.00273572',
      '0.52744704',
    ]);
  });

  it('derives generators that depend only on the seed and their parts', () => {
    expect(draws(Random.derive(7, 3), 5)).toEqual(draws(Random.derive(7, 3), 5));
    expect(draws(Random.derive(7, 3), 5)).not.toEqual(draws(Random.derive(7, 4), 5));
    expect(draws(Random.derive(7, 3), 5)).not.toEqual(draws(Random.derive(7, 3, 1), 5));
  });

  it('keeps ints within their bounds, both included', () => {
    const r = new Random(9);
    const seen = new Set(Array.from({ length: 500 }, () => r.int(2, 4)));
    expect([...seen].sort()).toEqual([2, 3, 4]);
  });

  it('samples distinct items and never picks a zero weight', () => {
    const r = new Random(5);
    for (let i = 0; i < 50; i++) {
      const s = r.sample(['a', 'b', 'c', 'd'], 3);
      expect(new Set(s).size).toBe(3);
      expect(r.weighted({ a: 1, b: 0, c: 2 })).not.toBe('b');
    }
  });

  it('makes UUID-shaped ids', () => {
    expect(new Random(3).uuid()).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
