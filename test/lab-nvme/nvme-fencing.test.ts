/**
 * NVMe namespaces through NvmeDevice (NVMe reservations by passthrough) and the
 * fencing layer on them, in the NVMe lab (`npm run test:lab-nvme`: QEMU, nvmet
 * loop, one host NQN + host ID + controller per node). Every state is
 * cross-checked with the reference peer, nvme-cli (`nvme resv-report --eds`),
 * and fenced writes are real writes (`nvme write`) refused by the target.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import * as pr from '../../lib';
import { nvmeLabMap, nvmeReport, nvmeWrite, hostIdOf, wipeNamespace, type NvmeLabMap } from './nvme-lab-env';

const { fence, status, unfence } = pr;

const CLI = join(__dirname, '..', '..', 'dist', 'cli', 'scsi-pr.js');
/** The compiled scsi-pr CLI; never throws: exit code and output. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

const KEY: Record<number, bigint> = { 1: 0x1001n, 2: 0x2002n, 3: 0x3003n };
let map: NvmeLabMap;
let NAMESPACES: number[];

/** Block devices of `node` for the lab namespaces `nss` (default all). */
function devicesOf(node: number, nss: number[] = NAMESPACES): string[] {
  return nss.map((i) => map.nodes[node - 1]!.namespaces.find((n) => n.ns === i)!.block);
}

async function wipeAll(): Promise<void> {
  for (const d of devicesOf(1)) await wipeNamespace(d);
}

/** The NVMe RTYPE of each library type, in the spec's order. */
const TYPES: Array<[pr.ReservationTypeName, number]> = [
  ['write-exclusive', 1],
  ['exclusive-access', 2],
  ['write-exclusive-registrants-only', 3],
  ['exclusive-access-registrants-only', 4],
  ['write-exclusive-all-registrants', 5],
  ['exclusive-access-all-registrants', 6],
];

beforeAll(() => {
  map = nvmeLabMap();
  NAMESPACES = map.nodes[0]!.namespaces.map((n) => n.ns);
  expect(map.nodes.length).toBeGreaterThanOrEqual(3);
});

describe('NvmeDevice against nvmet, cross-checked with nvme-cli', () => {
  it('opens a namespace (block and generic device) as an NvmeDevice with its NGUID as the fencing name', async () => {
    const ns0 = map.nodes[0]!.namespaces[0]!;
    for (const p of [ns0.block, ns0.generic]) {
      const d = await pr.open(p);
      try {
        expect(d).toBeInstanceOf(pr.NvmeDevice);
        expect(d.info.transport).toBe('nvme-passthru');
        expect((d as pr.NvmeDevice).identity.nsid).toBe(ns0.nsid);
        expect((d as pr.NvmeDevice).identity.wwn).toBe(`eui.${ns0.nguid.replace(/-/g, '')}`);
      } finally {
        await d.close();
      }
    }
  });

  it.each(TYPES)('reserve %s: nvme-cli sees RTYPE %i held by our key; readReservation/readFullStatus agree; release ends it', async (type, rtype) => {
    await wipeAll();
    const dev = devicesOf(1, [0])[0]!;
    const other = devicesOf(2, [0])[0]!;
    await using d = await pr.open(dev);
    await using o = await pr.open(other);
    await d.register({ newKey: KEY[1] });
    await o.register({ newKey: KEY[2] });
    const before = await nvmeReport(dev);
    await d.reserve({ key: KEY[1], type });
    const ref = await nvmeReport(dev);
    expect(ref.rtype).toBe(rtype);
    expect(ref.registrants.find((r) => r.key === KEY[1])?.holds).toBe(true);
    expect(ref.generation).toBe(before.generation); // acquiring changes no registration
    const mine = await d.readReservation();
    expect(mine.reservation?.typeName).toBe(type);
    // SPC: an all-registrants reservation has key 0 in READ RESERVATION
    expect(mine.reservation?.key).toBe(rtype >= 5 ? 0n : KEY[1]);
    const full = await o.readFullStatus();
    expect(full.registrations.map((g) => [g.key, g.transportId]).sort()).toEqual(
      ref.registrants.map((r) => [r.key, { protocol: 'nvme', hostId: r.hostId, controllerId: r.cntlid }]).sort(),
    );
    expect(full.registrations.find((g) => g.key === KEY[1])?.transportId).toMatchObject({ hostId: hostIdOf(map, 1) });
    await d.release({ key: KEY[1], type });
    expect((await nvmeReport(dev)).rtype).toBe(0);
  });

  it('register / replace / unregister / registerAndIgnoreExistingKey / clear, as nvme-cli sees them', async () => {
    await wipeAll();
    const dev = devicesOf(1, [0])[0]!;
    await using d = await pr.open(dev);
    await d.register({ newKey: 0xa1n });
    expect((await nvmeReport(dev)).registrants.map((r) => r.key)).toEqual([0xa1n]);
    await d.register({ key: 0xa1n, newKey: 0xa2n });
    expect((await nvmeReport(dev)).registrants.map((r) => r.key)).toEqual([0xa2n]);
    await d.registerAndIgnoreExistingKey({ newKey: 0xa3n });
    expect((await nvmeReport(dev)).registrants.map((r) => r.key)).toEqual([0xa3n]);
    await d.register({ key: 0xa3n, newKey: 0n });
    expect((await nvmeReport(dev)).registrants).toEqual([]);
    await d.registerAndIgnoreExistingKey({ newKey: 0xa4n });
    expect((await d.readKeys()).keys).toEqual([0xa4n]);
    await d.clear({ key: 0xa4n });
    expect((await nvmeReport(dev)).registrants).toEqual([]);
  });

  it('a wrong key is a ReservationConflictError and changes nothing; SCSI-only options are refused before any I/O', async () => {
    await wipeAll();
    const dev = devicesOf(1, [0])[0]!;
    await using d = await pr.open(dev);
    await d.register({ newKey: KEY[1] });
    const before = await nvmeReport(dev);
    await expect(d.reserve({ key: 0xdeadn, type: 'write-exclusive' })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    await expect(d.register({ newKey: KEY[2], allTargetPorts: true })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(d.execute({ cdb: Buffer.alloc(6), direction: 'none' })).rejects.toMatchObject({ code: 'ERR_NOT_SCSI' });
    await expect(pr.open(dev, { interface: 'sg' })).rejects.toMatchObject({ code: 'ERR_NOT_SCSI' });
    expect(await nvmeReport(dev)).toEqual(before);
  });
});

describe('fencing NVMe namespaces', () => {
  it('fence: the victim is gone from every namespace (nvme-cli), its writes are refused, ours succeed', async () => {
    await wipeAll();
    for (const node of [1, 2, 3]) expect((await unfence({ devices: devicesOf(node), key: KEY[node] })).ok).toBe(true);
    for (const d of devicesOf(3)) expect(await nvmeWrite(d)).toBe('ok');
    const r = await fence({ devices: devicesOf(1), key: KEY[1], victimKey: KEY[3] });
    expect(r.ok, JSON.stringify(pr.toJSONSafe(r))).toBe(true);
    expect(r.devices.map((d) => d.outcome)).toEqual(NAMESPACES.map(() => 'fenced'));
    expect(r.devices.map((d) => d.method)).toEqual(NAMESPACES.map(() => 'preempt-and-abort'));
    // Devices in NGUID order: the arbiter is namespace 0 (the lab's NGUIDs follow the NSIDs).
    expect(r.devices.map((d) => d.wwn)).toEqual([...r.devices.map((d) => d.wwn)].sort());
    for (const d of devicesOf(1)) {
      const ref = await nvmeReport(d);
      expect(ref.registrants.map((g) => g.key).sort()).toEqual([KEY[1], KEY[2]].sort());
      expect(ref.registrants.find((g) => g.holds)?.key).toBe(KEY[1]);
      expect(ref.rtype).toBe(3);
    }
    for (const d of devicesOf(3)) expect(await nvmeWrite(d)).toBe('reservation-conflict');
    for (const d of devicesOf(1)) expect(await nvmeWrite(d)).toBe('ok');
    for (const d of devicesOf(2)) expect(await nvmeWrite(d)).toBe('ok');
    const s = await status({ devices: devicesOf(3), key: KEY[3] });
    expect(s.devices.every((d) => d.reachable && !d.registered)).toBe(true);
  });

  it('a fenced node cannot fence back: its preempt is refused, the report says lost, nothing changes', async () => {
    const before = await Promise.all(devicesOf(1).map((d) => nvmeReport(d)));
    const r = await fence({ devices: devicesOf(3), key: KEY[3], victimKey: KEY[1] });
    expect(r.ok).toBe(false);
    expect(r.lost).toBe(true);
    expect(await Promise.all(devicesOf(1).map((d) => nvmeReport(d)))).toEqual(before);
  });

  it('two nodes fencing each other at the same moment: exactly one survives, on every namespace, 20 times', async () => {
    const tally: Record<number, number> = { 1: 0, 2: 0 };
    for (let round = 0; round < 20; round++) {
      await wipeAll();
      for (const node of [1, 2]) expect((await unfence({ devices: devicesOf(node), key: KEY[node] })).ok).toBe(true);
      const [a, b] = await Promise.all([
        fence({ devices: devicesOf(1), key: KEY[1], victimKey: KEY[2] }),
        fence({ devices: devicesOf(2), key: KEY[2], victimKey: KEY[1] }),
      ]);
      expect([a.ok && !a.lost, b.ok && !b.lost].filter(Boolean), `round ${round}: exactly one winner`).toHaveLength(1);
      const winner = a.ok && !a.lost ? 1 : 2;
      const loser = 3 - winner;
      tally[winner]!++;
      expect((winner === 1 ? b : a).lost, `round ${round}: the loser knows it lost`).toBe(true);
      for (const d of devicesOf(winner)) {
        const keys = (await nvmeReport(d)).registrants.map((g) => g.key);
        expect(keys, `round ${round} ${d}`).toContain(KEY[winner]);
        expect(keys, `round ${round} ${d}: no split`).not.toContain(KEY[loser]);
      }
    }
    expect(tally[1]! + tally[2]!).toBe(20);
  });

  it('the scsi-pr CLI on namespaces: unfence, fence --json, and READ FULL STATUS naming NVMe hosts', async () => {
    await wipeAll();
    const hex = (k: bigint) => `0x${k.toString(16)}`;
    for (const node of [1, 2]) {
      const u = await cli('unfence', '--key', hex(KEY[node]!), ...devicesOf(node));
      expect(u.code, u.stderr).toBe(0);
    }
    const f = await cli('fence', '--json', '--key', hex(KEY[1]!), '--victim-key', hex(KEY[2]!), ...devicesOf(1));
    expect(f.code, f.stderr).toBe(0);
    expect(JSON.parse(f.stdout)).toMatchObject({ operation: 'fence', ok: true, lost: false });
    const s = await cli('-s', devicesOf(1, [0])[0]!);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain(`Host Identifier: ${hostIdOf(map, 1)}`);
    expect((await nvmeReport(devicesOf(1, [0])[0]!)).registrants.map((r) => r.key)).toEqual([KEY[1]]);
  });
});
