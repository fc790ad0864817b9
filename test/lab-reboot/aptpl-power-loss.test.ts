/**
 * APTPL across a power loss of the whole SAN: two lab boots on one --dbroot.
 *
 * Boot 1 registers nodes 1 and 2 on LUN 0 with APTPL, node 1 reserves it
 * (Write Exclusive, Registrants Only), and node 1 registers on LUN 1 without
 * APTPL. The guest is then halted: target, initiators and kernel are gone; only
 * LIO's <dbroot>/pr files on the host directory remain. Boot 2 is a new guest
 * whose LIO set-up replays those files (as rtslib would). What scsi-pr reads
 * there is checked against what boot 1 left and against sg_persist, and the
 * reservation is checked by real WRITEs.
 *
 * Runs on the host (it boots the lab twice itself): `npm run test:lab-reboot`.
 */
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseSgPersistCapabilities,
  parseSgPersistFullStatus,
  parseSgPersistKeys,
  parseSgPersistReservation,
} from '../lab/sg-persist-reference';
import { run } from '../lab/lab-env';

const ROOT = resolve(__dirname, '..', '..');
const LAB = join(ROOT, 'scripts', 'lab.js');
const K1 = 0xa1n;
const K2 = 0xb2n;

interface Before {
  keys: string[];
  reservation: { key: string; type: number } | null;
  ptplActivated: boolean;
  lun1Keys: string[];
  isids: string[];
}
interface ToolRun {
  status: number;
  stdout: string;
  stderr: string;
}
interface After {
  keys: string[];
  generation: number;
  reservation: { key: string; scope: number; type: number } | null;
  registrations: Array<{ key: string; reservationHolder: boolean; allTargetPorts: boolean; relativeTargetPortId: number; transportId: { protocol: string; name?: string; isid?: string } }>;
  ptplActivated: boolean;
  lun1Keys: string[];
  isids: string[];
  sg: Record<'keys' | 'reservation' | 'fullStatus' | 'capabilities' | 'lun1Keys', ToolRun>;
  writes: number[];
}

/** Boot a 3-node × 2-LUN lab on `dbroot`, run one guest script, return what it wrote. */
async function boot<T>(dbroot: string, script: string, out: string): Promise<T> {
  // Not spawnSync: a blocked worker cannot answer vitest's RPC (see test/lab/event-loop-watch.ts).
  const r = await run(process.execPath, [LAB, 'run', '--nodes', '3', '--luns', '2', '--dbroot', dbroot, '--timeout', '300', '--env', `OUT=${out}`, '--', process.execPath, join(__dirname, 'guest', script)], {
    timeoutMs: 400_000,
  });
  if (r.status !== 0) throw new Error(`lab run of ${script} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(readFileSync(out, 'utf8')) as T;
}

const big = (xs: string[]) => xs.map((x) => BigInt(x));

describe('APTPL: registrations and the reservation survive a power loss of the whole lab', () => {
  let dir: string;
  let before: Before;
  let after: After;

  beforeAll(async () => {
    mkdirSync(join(ROOT, '.lab'), { recursive: true });
    dir = mkdtempSync(join(ROOT, '.lab', 'aptpl-'));
    const dbroot = join(dir, 'dbroot');
    before = await boot<Before>(dbroot, 'aptpl-before.js', join(dir, 'before.json'));
    after = await boot<After>(dbroot, 'aptpl-after.js', join(dir, 'after.json'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('boot 1 set up what the test needs: two APTPL registrations, a type 5 reservation, PTPL_A on', () => {
    expect(big(before.keys)).toEqual([K1, K2]);
    expect(before.reservation).toMatchObject({ key: '0xa1', type: 5 });
    expect(before.ptplActivated).toBe(true);
    expect(big(before.lun1Keys)).toEqual([0xc1n]);
  });

  it('after the reboot, LUN 0 has both keys, node 1 still holds the reservation, and PTPL_A is still on', () => {
    expect(big(after.keys)).toEqual([K1, K2]);
    expect(after.reservation).toEqual({ key: '0xa1', scope: 0, type: 5, typeName: 'write-exclusive-registrants-only' });
    expect(after.ptplActivated).toBe(true);
    const holder = after.registrations.find((r) => r.reservationHolder);
    expect(holder?.key).toBe('0xa1');
    // The registrations carry the I_T nexuses of boot 1 (same IQN and ISID as boot 2's sessions here).
    expect(after.registrations.map((r) => [r.key, r.transportId.name, r.transportId.isid])).toEqual([
      ['0xa1', 'iqn.2026-11.org.scsi-pr.lab:node1', before.isids[0]],
      ['0xb2', 'iqn.2026-11.org.scsi-pr.lab:node2', before.isids[1]],
    ]);
  });

  it('sg_persist sees the same state as scsi-pr after the reboot', () => {
    for (const [name, run] of Object.entries(after.sg)) expect(run.status, `sg_persist ${name}: ${run.stderr}`).toBe(0);
    const keys = parseSgPersistKeys(after.sg.keys.stdout);
    expect(keys).toEqual({ generation: after.generation, keys: big(after.keys) });
    const res = parseSgPersistReservation(after.sg.reservation.stdout);
    expect(res.reservation).toEqual({ key: K1, scope: 0, type: 5 });
    const full = parseSgPersistFullStatus(after.sg.fullStatus.stdout);
    expect(full.registrations.map((r) => [r.key, r.reservationHolder, r.transportId.isid])).toEqual(
      after.registrations.map((r) => [BigInt(r.key), r.reservationHolder, r.transportId.isid?.toLowerCase()]),
    );
    expect(parseSgPersistCapabilities(after.sg.capabilities.stdout).persistThroughPowerLossActivated).toBe(true);
  });

  it('the reservation is enforced after the reboot: registrants write, node 3 gets RESERVATION CONFLICT', () => {
    expect(after.writes).toEqual([0, 0, 24]);
  });

  it('LUN 1, registered without APTPL, comes back with no registrations', () => {
    expect(after.lun1Keys).toEqual([]);
    expect(parseSgPersistKeys(after.sg.lun1Keys.stdout).keys).toEqual([]);
  });
});
