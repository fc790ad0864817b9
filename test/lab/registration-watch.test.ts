/**
 * watchRegistration() on the real SAN: node 1 watches its key on LUNs 9–11
 * (both paths) while node 2 fences it. Found by node 1's next periodic read,
 * or at once when node 1's own I/O meets UNIT ATTENTION 2Ah/05 REGISTRATIONS
 * PREEMPTED. The detection times are printed (for the record; not asserted).
 *
 * LUNs 9–11 (shared with transport.test.ts; left empty).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as pr from '../../lib';
import { labMap, wipeReservations, type LabMap } from './lab-env';

const LUNS = [9, 10, 11];
const K1 = 0x3a7c0001n;
const K2 = 0x3a7c0002n;
const WIPE_KEY = 0x3a7c00ffn;

let map: LabMap;
const sgs = (node: number) => map.devices.filter((d) => d.node === node && LUNS.includes(d.lun)).map((d) => d.sg);

async function wipe(): Promise<void> {
  for (const lun of LUNS) {
    const d = await pr.open(map.devices.find((x) => x.node === 3 && x.lun === lun)!.sg);
    try {
      await wipeReservations(d, WIPE_KEY);
    } finally {
      await d.close();
    }
  }
}

/** Both nodes unfenced on every path of LUNs 9–11; node 1 holds the reservation. */
async function unfenceBoth(): Promise<void> {
  expect((await pr.unfence({ devices: sgs(1), key: K1 })).ok).toBe(true);
  expect((await pr.unfence({ devices: sgs(2), key: K2 })).ok).toBe(true);
}

beforeAll(async () => {
  map = labMap();
  await wipe();
});

afterAll(async () => {
  if (map) await wipe();
});

describe('watchRegistration on LUNs 9–11', () => {
  it('node 1 learns of node 2’s fence by its next periodic read (1 s interval)', async () => {
    await unfenceBoth();
    const w = await pr.watchRegistration({ devices: sgs(1), key: K1, intervalMs: 1000, onFenced: () => {} });
    const f = await pr.fence({ devices: sgs(2), key: K2, victimKey: K1 });
    expect(f.ok).toBe(true);
    const fencedAt = performance.now();
    const evidence = await w.done;
    const sinceFence = performance.now() - fencedAt;
    expect(evidence).toMatchObject({ key: K1, keys: expect.not.arrayContaining([K1]) });
    expect(evidence!.keys).toContain(K2);
    console.log(`watch (poll, 1000 ms interval): detected ${sinceFence.toFixed(0)} ms after fence() returned; read took ${evidence!.detectionMs.toFixed(0)} ms; trigger ${evidence!.trigger}`);
  });

  it('node 1’s own I/O meets UNIT ATTENTION 2Ah/05 and the watch reports at once, with no poll due for an hour', async () => {
    await unfenceBoth();
    const mine = await Promise.all(sgs(1).map((p) => pr.open(p)));
    try {
      const w = await pr.watchRegistration({ devices: mine, key: K1, intervalMs: 3_600_000, onFenced: () => {} });
      // The application's I/O: a TEST UNIT READY every 100 ms on every path, as a node doing work would.
      let io = true;
      const loop = (async () => {
        while (io) {
          await Promise.all(mine.map((d) => d.testUnitReady().catch(() => {})));
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const f = await pr.fence({ devices: sgs(2), key: K2, victimKey: K1 });
      expect(f.ok).toBe(true);
      const fencedAt = performance.now();
      const evidence = await w.done;
      const sinceFence = performance.now() - fencedAt;
      io = false;
      await loop;
      expect(evidence).toMatchObject({ trigger: 'unit-attention', unitAttention: { asc: 0x2a, ascq: 0x05 } });
      expect(evidence!.keys).not.toContain(K1);
      expect(mine.every((d) => !d.isClosed)).toBe(true);
      console.log(`watch (unit attention, I/O every 100 ms): detected ${sinceFence.toFixed(0)} ms after fence() returned; UA to report ${evidence!.detectionMs.toFixed(0)} ms`);
    } finally {
      for (const d of mine) await d.close();
    }
  });
});
