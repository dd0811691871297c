import { describe, expect, it } from 'vitest';
import { percentile, windowedP99 } from '../../../bench/lib/stats.js';

describe('bench stats', () => {
  it('takes the nearest-rank percentile', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile([], 99)).toBeNaN();
  });

  it('gives the p99 of each window by the instant a sample started', () => {
    // 0–10 s: 100 samples of 10 ms; 10–20 s: none; 20–30 s: 99 of 10 ms and 2 of 900 ms
    const samples = [
      ...Array.from({ length: 100 }, (_, i) => ({ at: i * 100, ms: 10 })),
      ...Array.from({ length: 99 }, (_, i) => ({ at: 20_000 + i * 100, ms: 10 })),
      { at: 29_999, ms: 900 },
      { at: 25_000, ms: 900 },
    ];
    const windows = windowedP99(samples, 10_000);
    expect(windows.map((w) => w.fromS)).toEqual([0, 10, 20]);
    expect(windows.map((w) => w.count)).toEqual([100, 0, 101]);
    expect(windows[0]?.p99).toBe(10);
    expect(windows[1]?.p99).toBeNaN();
    expect(windows[2]?.p99).toBe(900);
  });
});
