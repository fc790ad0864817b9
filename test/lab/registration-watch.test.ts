/**
 * watchRegistration() on the real SAN: node 1 watches its key on LUNs 9–11
 * (both paths) while node 2 fences it. Found by node 1's next periodic read,
 * or at once when node 1's own I/O meets UNIT ATTENTION 2Ah/05 REGISTRATIONS
 * PREEMPTED. Then fence_scsi_pr_check, the watchdog daemon's test, on the same
 * set-up. The detection times are printed (for the record; not asserted).
 *
 * LUNs 9–11 (shared with transport.test.ts; left empty).
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as pr from '../../lib';
import { writeState } from '../../lib/cli/fence-agent/fence-agent-state';
import { labMap, run, wipeReservations, type LabMap } from './lab-env';

const ROOT = join(__dirname, '..', '..');
const CHECK = join(ROOT, 'dist', 'cli', 'fence-scsi-pr-check.js');

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

describe('fence_scsi_pr_check on LUNs 9–11 (the watchdog daemon’s test and repair)', () => {
  let stateDir: string;
  const check = async (...args: string[]) => {
    const t0 = performance.now();
    const r = await run(process.execPath, [CHECK, ...args], { env: { ...process.env, SCSI_PR_STATE_DIR: stateDir }, timeoutMs: 120_000 });
    return { ...r, ms: performance.now() - t0 };
  };

  beforeAll(() => {
    mkdirSync(join(ROOT, '.lab'), { recursive: true });
    stateDir = mkdtempSync(join(ROOT, '.lab', 'check-'));
  });
  afterAll(() => {
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('passes while the key is on every device (sd paths of the state file, read through their sg nodes), also during repeated re-registrations; fails once fenced; repair passes only when the key is back', async () => {
    await unfenceBoth();
    const sds = map.devices.filter((d) => d.node === 1 && LUNS.includes(d.lun)).map((d) => d.sd);
    writeState({ node: 'node1', key: K1, devices: sds, aptpl: false }, { SCSI_PR_STATE_DIR: stateDir });
    let r = await check('test');
    expect(r.status, r.stderr).toBe(0);
    // Re-registrations (unfence: REGISTER AND IGNORE EXISTING KEY on every path) while the check runs: never a false "fenced".
    const during = await Promise.all([
      ...Array.from({ length: 3 }, () => pr.unfence({ devices: sgs(1), key: K1 }).then(() => null)),
      ...Array.from({ length: 3 }, () => check('test', '--retries', '0')),
    ]);
    for (const x of during) if (x) expect(x.status, x.stderr).toBe(0);
    expect((await pr.fence({ devices: sgs(2), key: K2, victimKey: K1 })).ok).toBe(true);
    r = await check('test', '--retries', '1', '--retry-delay-ms', '200');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/key 0x3a7c0001 is not registered .*this node was fenced/);
    console.log(`fence_scsi_pr_check after a fence: exit 1 in ${r.ms.toFixed(0)} ms (one retry 200 ms later, 6 devices)`);
    expect((await check('repair', '1')).status).toBe(1);
    await pr.unfence({ devices: sgs(1), key: K1 });
    expect((await check('repair', '1')).status).toBe(0);
  });
});

