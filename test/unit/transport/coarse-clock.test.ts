import { describe, expect, it } from 'vitest';
import { coarseNow } from '../../../lib/transport/coarse-clock';

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
