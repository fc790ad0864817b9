/**
 * BlockPrDevice against a scripted fake of the addon's ioctlBuffer: which IOC_PR_*
 * request each PR method sends with which struct, how results become the library's
 * result shapes and typed errors, and what is refused before any I/O (bad input,
 * what the block PR API cannot say, read ioctls on a kernel before 6.19).
 * Real ioctls: test/lab-nvme/block-pr-device.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { BlockPrDevice } from '../../../lib/block-pr/block-pr-device';
import { KernelFeatureError } from '../../../lib/block-pr/kernel-feature-error';
import { kernelHasBlockPrReads } from '../../../lib/block-pr/kernel-release';
import { IOC_PR, NATIVE_ENDIANNESS } from '../../../lib/block-pr/pr-ioctls';
import { PrStatusError } from '../../../lib/block-pr/pr-status-error';
import { AbortError, DeviceClosedError, DeviceError, ReservationConflictError, TimeoutError, TransportError } from '../../../lib/errors';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { rejection } from '../support/thrown';

const le = NATIVE_ENDIANNESS === 'LE';

interface Call {
  request: number;
  arg: Buffer;
}

/** What the kernel does with one call: fills arg/data, returns the pr_status (or a promise of it). */
type Step = (arg: Buffer, data: Buffer | null) => number | Promise<number>;

function fakeNative(...steps: Step[]) {
  const calls: Call[] = [];
  const closed: number[] = [];
  return {
    calls,
    closed,
    ioctlBuffer(_fd: number, request: number, arg: Buffer, data: Buffer | null) {
      calls.push({ request, arg: Buffer.from(arg) });
      const step = steps.shift();
      if (!step) return Promise.reject(new Error('unscripted ioctl'));
      return Promise.resolve(step(arg, data));
    },
    closeDevice(fd: number) {
      closed.push(fd);
    },
  };
}

const DM = { name: 'dm-3', kind: 'device-mapper' as const, wwn: 'eui.00112233445566778899aabbccddeeff', slaves: ['nvme0n1', 'nvme1n1'] };

function device(native: ReturnType<typeof fakeNative>, release = '7.3.4+deb13-amd64', timeoutMs?: number): BlockPrDevice {
  return new BlockPrDevice('/dev/mapper/mpatha', '/dev/dm-3', native, 9, DM, timeoutMs === undefined ? {} : { timeoutMs }, release);
}

const ok: Step = () => 0;
const u64 = (b: Buffer, o: number) => b.readBigUInt64LE(o);
const u32 = (b: Buffer, o: number) => b.readUInt32LE(o);

describe.runIf(le)('BlockPrDevice (little-endian host)', () => {
  it('is a Device opened through the block PR API, with the sysfs identity', () => {
    const d = device(fakeNative());
    expect(d.info).toMatchObject({ requested: '/dev/mapper/mpatha', openPath: '/dev/dm-3', transport: 'block-pr' });
    expect(d.identity.wwn).toBe(DM.wwn);
  });

  it('register / registerAndIgnoreExistingKey: IOC_PR_REGISTER with old key, new key, and PR_FL_IGNORE_KEY', async () => {
    const n = fakeNative(ok, ok, ok);
    const d = device(n);
    expect(await d.register({ newKey: 0x1001n })).toMatchObject({ action: 'register', unitAttentions: [] });
    await d.register({ key: 0x1001n, newKey: '0x2002' });
    await d.registerAndIgnoreExistingKey({ newKey: 0x3003n });
    expect(n.calls.map((c) => c.request)).toEqual([IOC_PR.REGISTER, IOC_PR.REGISTER, IOC_PR.REGISTER]);
    expect(n.calls.map((c) => [u64(c.arg, 0), u64(c.arg, 8), u32(c.arg, 16)])).toEqual([
      [0n, 0x1001n, 0],
      [0x1001n, 0x2002n, 0],
      [0n, 0x3003n, 1],
    ]);
  });

  it('registerAndIgnoreExistingKey after a conflict goes once more with a non-zero old key (nvme: Replace with IEKEY)', async () => {
    const n = fakeNative(() => 0x18, ok, () => 0x18, () => 0x18);
    const d = device(n);
    await d.registerAndIgnoreExistingKey({ newKey: 0x3003n });
    expect(n.calls.map((c) => [u64(c.arg, 0), u64(c.arg, 8), u32(c.arg, 16)])).toEqual([
      [0n, 0x3003n, 1],
      [0x3003n, 0x3003n, 1],
    ]);
    expect(await rejection(d.registerAndIgnoreExistingKey({ newKey: 0n }))).toBeInstanceOf(ReservationConflictError);
    expect(n.calls.slice(2).map((c) => [u64(c.arg, 0), u64(c.arg, 8)])).toEqual([
      [0n, 0n],
      [1n, 0n],
    ]);
  });

  it('reserve / release / preempt / preemptAndAbort / clear: the SPC type is sent as the block pr_type', async () => {
    const n = fakeNative(ok, ok, ok, ok, ok);
    const d = device(n);
    await d.reserve({ key: 1n, type: 'write-exclusive-registrants-only' }); // SPC 5 → pr_type 3
    await d.release({ key: 1n, type: 3 }); // SPC 3 (exclusive access) → pr_type 2
    await d.preempt({ key: 1n, preemptKey: 2n, type: 'exclusive-access-all-registrants' }); // SPC 8 → 6
    expect(await d.preemptAndAbort({ key: 1n, preemptKey: 2n, type: 1 })).toMatchObject({ action: 'preempt-and-abort' });
    await d.clear({ key: 1n });
    expect(n.calls.map((c) => c.request)).toEqual([IOC_PR.RESERVE, IOC_PR.RELEASE, IOC_PR.PREEMPT, IOC_PR.PREEMPT_ABORT, IOC_PR.CLEAR]);
    expect([u32(n.calls[0]!.arg, 8), u32(n.calls[1]!.arg, 8)]).toEqual([3, 2]);
    expect([u64(n.calls[2]!.arg, 0), u64(n.calls[2]!.arg, 8), u32(n.calls[2]!.arg, 16)]).toEqual([1n, 2n, 6]);
    expect(u32(n.calls[3]!.arg, 16)).toBe(1);
  });

  it('readKeys: generation and keys; truncated when the device listed more than came back', async () => {
    const answer = (gen: number, keys: bigint[], listed = keys.length): Step => (arg, data) => {
      arg.writeUInt32LE(gen, 0);
      arg.writeUInt32LE(listed, 4);
      keys.forEach((k, i) => data!.writeBigUInt64LE(k, i * 8));
      return 0;
    };
    const d = device(fakeNative(answer(7, [0x1001n, 0x2002n])));
    expect(await d.readKeys()).toMatchObject({ generation: 7, keys: [0x1001n, 0x2002n], truncated: false, unitAttentions: [] });
  });

  it('readReservation: SPC type and name; key 0 for the all-registrants types; null when none', async () => {
    const answer = (key: bigint, gen: number, type: number): Step => (arg) => {
      arg.writeBigUInt64LE(key, 0);
      arg.writeUInt32LE(gen, 8);
      arg.writeUInt32LE(type, 12);
      return 0;
    };
    const d = device(fakeNative(answer(0x1001n, 4, 3), answer(0x1001n, 5, 5), answer(0n, 6, 0)));
    expect((await d.readReservation()).reservation).toEqual({ key: 0x1001n, scope: 0, type: 5, typeName: 'write-exclusive-registrants-only' });
    expect((await d.readReservation()).reservation).toEqual({ key: 0n, scope: 0, type: 7, typeName: 'write-exclusive-all-registrants' });
    expect(await d.readReservation()).toMatchObject({ generation: 6, reservation: null });
  });

  it('a failing pr_status becomes the typed error: conflict, path failure, anything else', async () => {
    const d = device(fakeNative(() => 0x18, () => 0x10000, () => 2));
    const conflict = await rejection(d.preemptAndAbort({ key: 1n, preemptKey: 2n, type: 'we-ro' }));
    expect(conflict).toBeInstanceOf(ReservationConflictError);
    expect(conflict.message).toBe('/dev/mapper/mpatha: IOC_PR_PREEMPT_ABORT: RESERVATION CONFLICT (PR_STS_RESERVATION_CONFLICT, pr_status 24)');
    const path = await rejection(d.register({ newKey: 1n }));
    expect(path).toBeInstanceOf(TransportError);
    expect(path).toMatchObject({ code: 'ERR_TRANSPORT', hostStatusName: 'PR_STS_PATH_FAILED' });
    const io = await rejection(d.clear({ key: 1n }));
    expect(io).toBeInstanceOf(PrStatusError);
    expect(io).toMatchObject({ code: 'ERR_PR_STATUS', status: 2, statusName: 'PR_STS_IOERR', path: '/dev/mapper/mpatha' });
  });

  it('refuses before any I/O: bad keys and types, aptpl, SCSI-only options, and what the API cannot say', async () => {
    const n = fakeNative();
    const d = device(n);
    expect(await rejection(d.register({ newKey: -1n }))).toBeInstanceOf(ArgumentRangeError);
    expect(await rejection(d.reserve({ key: 1n, type: 2 as never }))).toMatchObject({ code: 'ERR_INVALID_RESERVATION_TYPE' });
    expect(await rejection(d.register({ newKey: {} as never }))).toBeInstanceOf(ArgumentTypeError);
    const aptpl = await rejection(d.register({ newKey: 1n, aptpl: true }));
    expect(aptpl).toMatchObject({ code: 'ERR_INVALID_OPTION' });
    expect(aptpl.message).toMatch(/aptpl cannot be sent through the block PR API .*no APTPL flag/);
    expect(await rejection(d.register({ newKey: 1n, allTargetPorts: true }))).toMatchObject({ code: 'ERR_INVALID_OPTION' });
    const fs = await rejection(d.readFullStatus());
    expect(fs).toBeInstanceOf(DeviceError);
    expect(fs).toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
    expect(await rejection(d.reportCapabilities())).toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
    expect(await rejection(d.registerAndMove({ key: 1n, newKey: 2n, transportId: { protocol: 'iscsi', name: 'iqn.2026-12.x:y' }, relativeTargetPortId: 1 }))).toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
    expect(await rejection(d.inquiry())).toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
    expect(n.calls).toEqual([]);
  });

  it('over NVMe (a namespace, or a map with one below) an unregister is refused before any I/O; elsewhere it goes out', async () => {
    const n = fakeNative(ok, ok);
    const overNvme = new BlockPrDevice('/dev/mapper/m', '/dev/dm-3', n, 9, { ...DM, bottomKinds: ['nvme'] }, {}, '7.3.4');
    const e = await rejection(overNvme.register({ key: 0x1001n, newKey: 0n }));
    expect(e).toBeInstanceOf(DeviceError);
    expect(e).toMatchObject({ code: 'ERR_NOT_SUPPORTED', path: '/dev/mapper/m' });
    expect(e.message).toMatch(/register with newKey 0 \(unregister\) is refused over NVMe: .* leaves the host registered with key 0/);
    expect(await rejection(overNvme.registerAndIgnoreExistingKey({ newKey: 0n }))).toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
    const ns = new BlockPrDevice('/dev/nvme0n1', '/dev/nvme0n1', n, 9, { name: 'nvme0n1', kind: 'nvme' }, {}, '7.3.4');
    expect(await rejection(ns.register({ key: 1n, newKey: 0n }))).toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
    expect(n.calls).toEqual([]);
    await overNvme.register({ key: 0n, newKey: 0n }); // registers nothing: allowed
    const scsi = new BlockPrDevice('/dev/mapper/s', '/dev/dm-4', n, 9, { ...DM, bottomKinds: ['scsi'] }, {}, '7.3.4');
    await scsi.register({ key: 0x1001n, newKey: 0n });
    expect(n.calls.map((c) => [u64(c.arg, 0), u64(c.arg, 8)])).toEqual([
      [0n, 0n],
      [0x1001n, 0n],
    ]);
    await overNvme.close();
    expect(n.closed).toEqual([9]); // nothing left counted as in flight
  });

  it('on a kernel before 6.19 the read ioctls are a KernelFeatureError before any I/O; PR OUT still goes out', async () => {
    const n = fakeNative(ok);
    const d = device(n, '6.1.0-28-amd64');
    const e = await rejection(d.readKeys());
    expect(e).toBeInstanceOf(KernelFeatureError);
    expect(e).toMatchObject({ code: 'ERR_KERNEL_TOO_OLD', requirement: 'Linux 6.19 or later (IOC_PR_READ_KEYS)' });
    expect(e.message).toBe('/dev/mapper/mpatha: IOC_PR_READ_KEYS needs Linux 6.19 or later (IOC_PR_READ_KEYS); this kernel is 6.1.0-28-amd64');
    expect(await rejection(d.readReservation())).toMatchObject({ requirement: 'Linux 6.19 or later (IOC_PR_READ_RESERVATION)' });
    expect(n.calls).toEqual([]);
    await d.register({ newKey: 1n });
    expect(n.calls.map((c) => c.request)).toEqual([IOC_PR.REGISTER]);
  });

  it('kernelHasBlockPrReads reads the release string', () => {
    expect(['6.19.0', '6.19.2-amd64', '7.3.4+deb13-amd64', '6.20.1', '10.0']).toEqual(['6.19.0', '6.19.2-amd64', '7.3.4+deb13-amd64', '6.20.1', '10.0'].filter(kernelHasBlockPrReads));
    expect(['6.18.9', '6.1.0-28-amd64', '5.19', '4.4.0'].some(kernelHasBlockPrReads)).toBe(false);
    expect(kernelHasBlockPrReads('unknown')).toBe(true);
  });

  it('timeoutMs: the call rejects with a TimeoutError; the fd is closed only after the ioctl returns', async () => {
    let finish: (status: number) => void = () => undefined;
    const n = fakeNative(() => new Promise<number>((r) => (finish = r)));
    const d = device(n, undefined, 30);
    const e = await rejection(d.clear({ key: 1n }));
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.message).toMatch(/IOC_PR_CLEAR did not complete within 30 ms \(the ioctl cannot be cancelled: its outcome is unknown\)$/);
    await d.close();
    expect(n.closed).toEqual([]);
    finish(0);
    await new Promise((r) => setImmediate(r));
    expect(n.closed).toEqual([9]);
    expect(await rejection(d.register({ newKey: 1n }))).toBeInstanceOf(DeviceClosedError);
  });

  it('signal: aborted before → nothing sent; aborted during → AbortError', async () => {
    const n = fakeNative(() => new Promise<number>(() => undefined));
    const d = device(n);
    expect(await rejection(d.clear({ key: 1n, signal: AbortSignal.abort() }))).toBeInstanceOf(AbortError);
    expect(n.calls).toEqual([]);
    const ac = new AbortController();
    const p = rejection(d.clear({ key: 1n, signal: ac.signal }));
    ac.abort();
    expect(await p).toBeInstanceOf(AbortError);
    expect(n.calls).toHaveLength(1);
  });
});
