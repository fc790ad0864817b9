/**
 * BlockPrDevice — the library's Device over the kernel's block PR API — in the NVMe
 * lab, on device-mapper multipath maps built over each node's namespaces (dmsetup,
 * as multipathd would, one path per node here) and on the namespaces themselves with
 * `interface: 'block-pr'`. Every state is cross-checked with nvme-cli
 * (`nvme resv-report --eds`), and fenced writes are real writes through the map.
 *
 * Two kinds of map:
 * - uuid `scsipr-…` (not multipathd's `mpath-` prefix): the fencing layer opens the
 *   map itself, a BlockPrDevice, and verifies with READ KEYS / READ RESERVATION;
 * - uuid `mpath-…`: the fencing layer expands the map to its paths (NVMe namespaces,
 *   NvmeDevice) as it does for SCSI maps, and `open()` of the map is a BlockPrDevice.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as pr from '../../lib';
import { BlockPrIoctl } from '../../lib/block-pr/block-pr-ioctl';
import { loadNative } from '../../lib/transport/native';
import { hostIdOf, nvmeLabMap, nvmeReport, nvmeWrite, wipeNamespace, type NvmeLabMap } from './nvme-lab-env';

const run = promisify(execFile);
const KEY: Record<number, bigint> = { 1: 0x1001n, 2: 0x2002n, 3: 0x3003n };
const NSS = [0, 1];
let map: NvmeLabMap;
/** `maps[kind][node][ns]` = `/dev/dm-N`. */
const maps: Record<'own' | 'mpath', Record<number, Record<number, string>>> = { own: {}, mpath: {} };
const created: string[] = [];
const native = loadNative();

/** Block device of `node` for lab namespace `i` (path 0). */
const nsDev = (node: number, i: number): string => map.nodes[node - 1]!.namespaces.find((n) => n.ns === i)!.block;
/** Its generic char device. */
const ngDev = (node: number, i: number): string => map.nodes[node - 1]!.namespaces.find((n) => n.ns === i)!.generic;

async function dmsetup(...args: string[]): Promise<string> {
  // No udev in the guest: dmsetup makes the /dev/mapper nodes itself.
  const r = await run('dmsetup', args, { env: { ...process.env, DM_DISABLE_UDEV: '1' }, timeout: 60_000 });
  return r.stdout.trim();
}

/** A one-path dm-multipath map over `dev`, with `uuid`; returns /dev/dm-N. */
async function createMap(name: string, uuid: string, dev: string): Promise<string> {
  const sysName = basename(dev);
  const sectors = readFileSync(`/sys/block/${sysName}/size`, 'utf8').trim();
  const majMin = readFileSync(`/sys/block/${sysName}/dev`, 'utf8').trim();
  await dmsetup('create', name, '--uuid', uuid, '--table', `0 ${sectors} multipath 0 0 1 1 round-robin 0 1 1 ${majMin} 1000`);
  created.push(name);
  return `/dev/dm-${await dmsetup('info', '-c', '--noheadings', '-o', 'minor', name)}`;
}

/** `dd` one block through `dev` with O_DIRECT: 'ok', or the error dd printed. */
async function ddWrite(dev: string): Promise<string> {
  try {
    await run('dd', ['if=/dev/zero', `of=${dev}`, 'bs=4096', 'count=1', 'oflag=direct'], { timeout: 60_000 });
    return 'ok';
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  }
}

beforeAll(async () => {
  map = nvmeLabMap();
  expect(map.nodes.length).toBeGreaterThanOrEqual(3);
  await run('modprobe', ['dm-multipath']);
  await run('modprobe', ['dm-round-robin']);
  for (const node of [1, 2, 3]) {
    maps.own[node] = {};
    maps.mpath[node] = {};
    for (const i of NSS) {
      const wwid = map.nodes[node - 1]!.namespaces.find((n) => n.ns === i)!.wwid;
      maps.own[node]![i] = await createMap(`scsipr-own-n${node}-ns${i}`, `scsipr-n${node}-${wwid}`, nsDev(node, i));
    }
  }
  // multipathd-style maps for node 1 only (a dm device per path is enough to show the expansion).
  for (const i of NSS) {
    const wwid = map.nodes[0]!.namespaces.find((n) => n.ns === i)!.wwid;
    maps.mpath[1]![i] = await createMap(`scsipr-mpath-n1-ns${i}`, `mpath-${wwid}`, nsDev(1, i));
  }
}, 180_000);

afterAll(async () => {
  for (const name of created.reverse()) await dmsetup('remove', name).catch(() => undefined);
});

beforeEach(async () => {
  for (const i of NSS) await wipeNamespace(nsDev(1, i));
});

const own = (node: number): string[] => NSS.map((i) => maps.own[node]![i]!);

describe('open() of device-mapper maps and interface block-pr', () => {
  it('a dm map opens as a BlockPrDevice named like the namespace below it; a namespace opens so on request', async () => {
    const m = maps.own[2]![0]!;
    await using d = await pr.open(m);
    expect(d).toBeInstanceOf(pr.BlockPrDevice);
    expect(d.info.transport).toBe('block-pr');
    await using n = await pr.open(nsDev(2, 0));
    expect(n).toBeInstanceOf(pr.NvmeDevice);
    const identity = (d as pr.BlockPrDevice).identity;
    expect(identity).toMatchObject({ kind: 'device-mapper', dmName: 'scsipr-own-n2-ns0', slaves: [basename(nsDev(2, 0))] });
    expect(identity.wwn).toBe((n as pr.NvmeDevice).identity.wwn);
    await using b = await pr.open(nsDev(2, 0), { interface: 'block-pr' });
    expect(b).toBeInstanceOf(pr.BlockPrDevice);
    expect((b as pr.BlockPrDevice).identity).toMatchObject({ kind: 'nvme', wwn: identity.wwn });
    const generic = map.nodes[1]!.namespaces[0]!.generic;
    const e = await pr.open(generic, { interface: 'block-pr' }).catch((x: unknown) => x as pr.DeviceError);
    expect(e).toBeInstanceOf(pr.DeviceError);
    expect(e).toMatchObject({ code: 'ERR_NOT_A_DEVICE' });
    expect((e as Error).message).toContain(`the block PR API needs the block device, ${nsDev(2, 0)}`);
  });

  it('every PR method through a map reaches the namespace as nvme-cli sees it, and reads back the same', async () => {
    await using a = await pr.open(maps.own[1]![0]!);
    await using b = await pr.open(maps.own[2]![0]!);
    await a.register({ newKey: KEY[1]! });
    await b.register({ newKey: 0x9999n });
    await b.register({ key: 0x9999n, newKey: KEY[2]! });
    await a.reserve({ key: KEY[1]!, type: 'write-exclusive-registrants-only' });
    const cli = await nvmeReport(nsDev(1, 0));
    expect(cli.registrants.map((g) => [g.hostId, g.key, g.holds])).toEqual([
      [hostIdOf(map, 1), KEY[1], true],
      [hostIdOf(map, 2), KEY[2], false],
    ]);
    expect(cli.rtype).toBe(3);
    const keys = await b.readKeys();
    expect(keys).toMatchObject({ generation: cli.generation, keys: [KEY[1], KEY[2]], truncated: false });
    const res = await b.readReservation();
    expect(res.reservation).toEqual({ key: KEY[1], scope: 0, type: 5, typeName: 'write-exclusive-registrants-only' });
    // refused by the device: a typed error, and nothing changed
    const conflict = await b.reserve({ key: KEY[2]!, type: 'exclusive-access' }).catch((x: unknown) => x);
    expect(conflict).toBeInstanceOf(pr.ReservationConflictError);
    expect(await nvmeReport(nsDev(1, 0))).toEqual(cli);
    // refused before any I/O
    expect(await b.readFullStatus().catch((x: unknown) => x)).toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
    expect(await b.register({ key: KEY[2]!, newKey: 1n, aptpl: true }).catch((x: unknown) => x)).toMatchObject({ code: 'ERR_INVALID_OPTION' });
    expect(await nvmeReport(nsDev(1, 0))).toEqual(cli);
    await b.registerAndIgnoreExistingKey({ newKey: 0x2222n });
    await a.preemptAndAbort({ key: KEY[1]!, preemptKey: 0x2222n, type: 'write-exclusive-registrants-only' });
    expect((await nvmeReport(nsDev(1, 0))).registrants.map((g) => g.key)).toEqual([KEY[1]]);
    await a.release({ key: KEY[1]!, type: 'write-exclusive-registrants-only' });
    expect((await nvmeReport(nsDev(1, 0))).rtype).toBe(0);
    await b.registerAndIgnoreExistingKey({ newKey: 0x2323n }); // not registered any more: Register
    await b.registerAndIgnoreExistingKey({ newKey: 0x2424n }); // registered with another key: Register conflicts, Replace with IEKEY
    expect((await nvmeReport(nsDev(1, 0))).registrants.map((g) => g.key)).toEqual([KEY[1], 0x2424n]);
    // Unregister over NVMe is refused before any I/O (see the next test for why): nothing changes.
    const before = await nvmeReport(nsDev(1, 0));
    const refused = await b.register({ key: 0x2424n, newKey: 0n }).catch((x: unknown) => x);
    expect(refused).toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
    expect(await nvmeReport(nsDev(1, 0))).toEqual(before);
    await a.clear({ key: KEY[1]! });
    expect((await nvmeReport(nsDev(1, 0))).registrants).toEqual([]);
  });

  it('why: IOC_PR_REGISTER(old, 0) on an NVMe namespace leaves the host registered with key 0 (nvme sends Replace, NRKEY 0)', async () => {
    const fd = native.openDevice(nsDev(2, 0), true);
    try {
      const raw = new BlockPrIoctl(native, fd, nsDev(2, 0));
      expect((await raw.register(0n, KEY[2]!)).class).toBe('ok');
      expect((await raw.register(KEY[2]!, 0n)).class).toBe('ok');
      expect((await nvmeReport(nsDev(1, 0))).registrants.map((g) => [g.hostId, g.key])).toEqual([[hostIdOf(map, 2), 0n]]);
    } finally {
      native.closeDevice(fd);
    }
  });
});

describe('fencing through device-mapper maps', () => {
  it('unfence, status, fence over BlockPrDevices (keys-only verification); the victim’s writes through its map fail', async () => {
    for (const node of [1, 2, 3]) expect((await pr.unfence({ devices: own(node), key: KEY[node]! })).ok).toBe(true);
    for (const i of NSS) expect((await nvmeReport(nsDev(1, i))).registrants.map((g) => g.key)).toEqual([KEY[1], KEY[2], KEY[3]]);
    const s = await pr.status({ devices: own(3), key: KEY[3]! });
    expect(s.devices.map((d) => d.registered)).toEqual([true, true]);
    expect(await ddWrite(maps.own[3]![0]!)).toBe('ok');

    const r = await pr.fence({ devices: own(1), key: KEY[1]!, victimKey: KEY[3]! });
    expect(r.ok).toBe(true);
    expect(r.devices.map((d) => d.outcome)).toEqual(['fenced', 'fenced']);
    for (const i of NSS) {
      const cli = await nvmeReport(nsDev(1, i));
      expect(cli.registrants.map((g) => g.key)).toEqual([KEY[1], KEY[2]]);
      expect(cli.registrants.find((g) => g.holds)?.hostId).toBe(hostIdOf(map, 1));
    }
    for (const i of NSS) {
      expect(await ddWrite(maps.own[3]![i]!)).not.toBe('ok');
      expect(await nvmeWrite(ngDev(3, i))).toBe('reservation-conflict'); // (the map holds the block device)
      expect(await ddWrite(maps.own[2]![i]!)).toBe('ok');
    }
    // the fenced node's fence-back is refused by the device: lost, nothing changes
    const before = await nvmeReport(nsDev(1, 0));
    const back = await pr.fence({ devices: own(3), key: KEY[3]!, victimKey: KEY[1]! });
    expect(back.ok).toBe(false);
    expect(back.devices.map((d) => d.outcome)).toEqual(['lost', 'lost']);
    expect(await nvmeReport(nsDev(1, 0))).toEqual(before);
  });

  it('a multipathd-style map (uuid mpath-…) is fenced through its paths, as NVMe namespaces', async () => {
    const mpath = NSS.map((i) => maps.mpath[1]![i]!);
    for (const node of [1, 2]) expect((await pr.unfence({ devices: node === 1 ? mpath : own(node), key: KEY[node]! })).ok).toBe(true);
    const r = await pr.fence({ devices: mpath, key: KEY[1]!, victimKey: KEY[2]! });
    expect(r.ok).toBe(true);
    expect(r.devices.map((d) => d.outcome)).toEqual(['fenced', 'fenced']);
    expect(r.devices.map((d) => d.device).sort()).toEqual([...mpath].sort());
    for (const i of NSS) expect((await nvmeReport(nsDev(1, i))).registrants.map((g) => g.key)).toEqual([KEY[1]]);
  });
});
