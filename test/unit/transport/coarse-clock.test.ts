import { describe, expect, it } from 'vitest';
import { coarseNow, monotonicMs } from '../../../lib/transport/coarse-clock';

describe('coarseNow', () => {
  it('reads the clock once per event-loop turn', async () => {
    const a = coarseNow();
    const spin = Date.now() + 5;
    while (Date.now() < spin) {
      /* let real time pass within this turn */
    }
    expect(coarseNow()).toBe(a);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 2));
    const b = coarseNow();
    expect(b).toBeGreaterThan(a);
  });

  it('is in milliseconds on the hrtime clock', () => {
    const hr = Number(process.hrtime.bigint()) / 1e6;
    expect(Math.abs(coarseNow() - hr)).toBeLessThan(1000);
  });
});

describe('monotonicMs', () => {
  it('is in milliseconds on the hrtime clock and advances within one turn', () => {
    const hr = Number(process.hrtime.bigint()) / 1e6;
    const a = monotonicMs();
    expect(Math.abs(a - hr)).toBeLessThan(1000);
    const spin = Date.now() + 3;
    while (Date.now() < spin) {
      /* let real time pass within this turn */
    }
    expect(monotonicMs()).toBeGreaterThan(a);
  });
});
