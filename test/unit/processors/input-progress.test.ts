import { describe, expect, it } from 'vitest';
import { InputProgress } from '../../../src/processors/input-progress.js';

describe('InputProgress: deadlines wait for input from before them', () => {
  it('fires on the clock when nothing was seen, or when caught up', () => {
    const p = new InputProgress();
    expect(p.mayFire(1000, 999)).toBe(false);
    expect(p.mayFire(1000, 1000)).toBe(true);
    // caught up: the last record is followed by at most a commit marker
    p.note({ topic: 'events', timestamps: [500], lastOffset: '10', highWatermark: '12' }, 600);
    expect(p.mayFire(1000, 1200)).toBe(true);
  });

  it('holds a deadline while older input waits, until input past the deadline is processed', () => {
    const p = new InputProgress();
    // a backlog: 90 records waiting behind this chunk
    p.note(
      { topic: 'events', timestamps: [400, 450], lastOffset: '10', highWatermark: '101' },
      2000,
    );
    expect(p.mayFire(1000, 2000)).toBe(false);
    // the backlog drains up to input stamped after the deadline: the siblings were applied first
    p.note(
      { topic: 'events', timestamps: [900, 1001], lastOffset: '60', highWatermark: '101' },
      2100,
    );
    expect(p.mayFire(1000, 2100)).toBe(true);
  });

  it('any input topic behind holds it; a topic left behind by records never handed over stops counting', () => {
    const p = new InputProgress();
    p.note({ topic: 'events', timestamps: [100], lastOffset: '5', highWatermark: '6' }, 1000);
    p.note({ topic: 'requests', timestamps: [100], lastOffset: '3', highWatermark: '9' }, 1000);
    expect(p.mayFire(500, 1000)).toBe(false);
    expect(p.mayFire(500, 5999)).toBe(false);
    expect(p.mayFire(500, 6000)).toBe(true);
  });
});
