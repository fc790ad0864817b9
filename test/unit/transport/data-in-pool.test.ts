import { describe, expect, it } from 'vitest';
import { acquireDataIn, dataInPoolStats, releaseDataIn } from '../../../lib/transport/data-in-pool';

describe('data-in pool', () => {
  it('hands out a buffer of exactly the asked length', () => {
    for (const n of [1, 24, 1024, 65535]) expect(acquireDataIn(n).length).toBe(n);
  });

  it('reuses a released buffer for the same length only', () => {
    const a = acquireDataIn(333);
    releaseDataIn(a);
    expect(acquireDataIn(334)).not.toBe(a);
    expect(acquireDataIn(333)).toBe(a);
    expect(acquireDataIn(333)).not.toBe(a); // handed out once, not twice
  });

  it('keeps at most 2 MiB (and 256 buffers) free per length', () => {
    const big = Array.from({ length: 40 }, () => acquireDataIn(65535));
    for (const b of big) releaseDataIn(b);
    expect(dataInPoolStats()[65535]).toBe(32); // floor(2 MiB / 65535)
    const small = Array.from({ length: 300 }, () => acquireDataIn(8));
    for (const b of small) releaseDataIn(b);
    expect(dataInPoolStats()[8]).toBe(256);
  });
});
