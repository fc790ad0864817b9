/**
 * BlockPrIoctl against a scripted fake of the addon's ioctlBuffer: which request
 * and which bytes reach the kernel, how results and errors come back, and the
 * READ_KEYS re-read when the device holds more keys than the buffer.
 */
import { describe, expect, it } from 'vitest';
import { BlockPrIoctl, type BlockPrNative } from '../../../lib/block-pr/block-pr-ioctl';
import { KernelFeatureError } from '../../../lib/block-pr/kernel-feature-error';
import { IOC_PR, NATIVE_ENDIANNESS } from '../../../lib/block-pr/pr-ioctls';
import { ScsiPrError, SyscallError } from '../../../lib/errors';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { syscallError } from '../support/fake-native';
import { hex } from '../support/hex-bytes';
import { rejection, thrown } from '../support/thrown';

/** Little-endian vectors below; the kernel structs are native-endian. */
const le = NATIVE_ENDIANNESS === 'LE';

/** One ioctlBuffer call as the fake saw it (arg copied before the script ran). */
interface Call {
  fd: number;
  request: number;
  arg: Buffer;
  data: Buffer | null;
  offset: number;
}

/** What the kernel does with one call: writes into arg/data, then returns a status or throws. */
type Step = (arg: Buffer, data: Buffer | null) => number;

function fake(...steps: Step[]): BlockPrNative & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    ioctlBuffer(fd, request, arg, data, offset) {
      calls.push({ fd, request, arg: Buffer.from(arg), data, offset });
      const step = steps.shift();
      if (!step) throw new Error('unscripted ioctl');
      try {
        return Promise.resolve(step(arg, data));
      } catch (e) {
        return Promise.reject(e);
      }
    },
  };
}

const ok: Step = () => 0;
const KEY = 0x0102030405060708n;

/** READ_KEYS answer: the device holds `keys` (generation `gen`); fills as many as the capacity allows. */
function keysAnswer(gen: number, keys: bigint[]): Step {
  return (arg, data) => {
    const capacity = arg.readUInt32LE(4);
    arg.writeUInt32LE(gen, 0);
    arg.writeUInt32LE(keys.length, 4);
    keys.slice(0, capacity).forEach((k, i) => data!.writeBigUInt64LE(k, i * 8));
    return 0;
  };
}

describe.runIf(le)('BlockPrIoctl (little-endian host)', () => {
  it('register: IOC_PR_REGISTER with pr_registration, flags 0 or PR_FL_IGNORE_KEY', async () => {
    const n = fake(ok, ok);
    const pr = new BlockPrIoctl(n, 7, '/dev/nvme0n1');
    expect(await pr.register(0n, KEY)).toEqual({ status: 0, name: 'PR_STS_SUCCESS', class: 'ok' });
    await pr.register(0n, 0xabn, { ignoreExistingKey: true });
    expect(n.calls[0]).toEqual({
      fd: 7,
      request: 0x401870c8,
      arg: hex('00 00 00 00 00 00 00 00 | 08 07 06 05 04 03 02 01 | 00 00 00 00 | 00 00 00 00'),
      data: null,
      offset: 0,
    });
    expect(n.calls[1].arg).toEqual(hex('00 00 00 00 00 00 00 00 | ab 00 00 00 00 00 00 00 | 01 00 00 00 | 00 00 00 00'));
  });

  it('reserve, release, clear: their requests and structs', async () => {
    const n = fake(ok, ok, ok);
    const pr = new BlockPrIoctl(n, 3, '/dev/sdb');
    await pr.reserve(KEY, 3);
    await pr.release(KEY, 3);
    await pr.clear(KEY);
    expect(n.calls.map((c) => c.request)).toEqual([0x401070c9, 0x401070ca, 0x401070cd]);
    expect(n.calls[0].arg).toEqual(hex('08 07 06 05 04 03 02 01 | 03 00 00 00 | 00 00 00 00'));
    expect(n.calls[1].arg).toEqual(n.calls[0].arg);
    expect(n.calls[2].arg).toEqual(hex('08 07 06 05 04 03 02 01 | 00 00 00 00 | 00 00 00 00'));
  });

  it('preempt: old_key is ours, new_key the victim; abort picks IOC_PR_PREEMPT_ABORT', async () => {
    const n = fake(ok, ok);
    const pr = new BlockPrIoctl(n, 3, '/dev/sdb');
    await pr.preempt(0x11n, 0x22n, 4);
    await pr.preempt(0x11n, 0x22n, 4, { abort: true });
    expect(n.calls.map((c) => c.request)).toEqual([0x401870cb, 0x401870cc]);
    expect(n.calls[1].arg).toEqual(hex('11 00 00 00 00 00 00 00 | 22 00 00 00 00 00 00 00 | 04 00 00 00 | 00 00 00 00'));
  });

  it('a positive pr_status resolves, classified, for the caller to map', async () => {
    const pr = new BlockPrIoctl(fake(() => 0x18, () => 0xe0000, () => 2), 3, '/dev/sdb');
    expect(await pr.preempt(1n, 2n, 1)).toEqual({ status: 0x18, name: 'PR_STS_RESERVATION_CONFLICT', class: 'reservation-conflict' });
    expect((await pr.reserve(1n, 1)).class).toBe('path');
    expect(await pr.clear(1n)).toEqual({ status: 2, name: 'PR_STS_IOERR', class: 'error' });
  });

  it('a refusal rejects with the library’s SyscallError (code, errno, syscall, path)', async () => {
    const pr = new BlockPrIoctl(fake(() => { throw syscallError('ENOTSUP', -95, 'ioctl'); }), 3, '/dev/sdb');
    const e = await rejection(pr.register(0n, 1n));
    expect(e).toBeInstanceOf(SyscallError);
    expect(e).toMatchObject({ code: 'ENOTSUP', errno: -95, syscall: 'ioctl', path: '/dev/sdb' });
    expect(e.message).toMatch(/^\/dev\/sdb: IOC_PR_REGISTER: ENOTSUP/);
  });

  it('ENOTTY on a PR OUT request stays a SyscallError (only the 6.19 reads are a kernel feature)', async () => {
    const pr = new BlockPrIoctl(fake(() => { throw syscallError('ENOTTY', -25, 'ioctl'); }), 3, '/dev/loop0');
    const e = await rejection(pr.clear(1n));
    expect(e).toBeInstanceOf(SyscallError);
    expect(e.code).toBe('ENOTTY');
  });

  it('readKeys: IOC_PR_READ_KEYS with num_keys = capacity and a keys buffer whose address goes at offset 8', async () => {
    const n = fake(keysAnswer(9, [KEY, 0xffn]));
    const pr = new BlockPrIoctl(n, 3, '/dev/nvme0n1');
    expect(await pr.readKeys(4)).toEqual({ status: 0, name: 'PR_STS_SUCCESS', class: 'ok', generation: 9, numKeys: 2, keys: [KEY, 0xffn] });
    expect(n.calls).toHaveLength(1);
    expect(n.calls[0].request).toBe(0xc01070ce);
    expect(n.calls[0].arg).toEqual(hex('00 00 00 00 | 04 00 00 00 | 00 00 00 00 00 00 00 00'));
    expect(n.calls[0].data).toHaveLength(32);
    expect(n.calls[0].offset).toBe(8);
  });

  it('readKeys re-reads with room for every key when the device holds more than the buffer', async () => {
    const keys = [1n, 2n, 3n, 4n, 5n];
    const n = fake(keysAnswer(3, keys), keysAnswer(3, keys));
    const r = await new BlockPrIoctl(n, 3, '/dev/nvme0n1').readKeys(2);
    expect(n.calls.map((c) => c.arg.readUInt32LE(4))).toEqual([2, 5]);
    expect(n.calls.map((c) => c.data?.length)).toEqual([16, 40]);
    expect(r).toMatchObject({ class: 'ok', generation: 3, numKeys: 5, keys });
  });

  it('readKeys stops re-reading after 3 re-reads when keys keep arriving, and says so through numKeys', async () => {
    const grow = (count: number) => keysAnswer(1, Array.from({ length: count }, (_, i) => BigInt(i + 1)));
    const n = fake(grow(2), grow(3), grow(4), grow(5));
    const r = await new BlockPrIoctl(n, 3, '/dev/nvme0n1').readKeys(1);
    expect(n.calls.map((c) => c.arg.readUInt32LE(4))).toEqual([1, 2, 3, 4]);
    expect(r).toMatchObject({ class: 'ok', numKeys: 5, keys: [1n, 2n, 3n, 4n] });
  });

  it('readKeys with a pr_status other than success returns it without data', async () => {
    const r = await new BlockPrIoctl(fake(() => 0x10000), 3, '/dev/sdb').readKeys();
    expect(r).toEqual({ status: 0x10000, name: 'PR_STS_PATH_FAILED', class: 'path' });
  });

  it('readReservation: IOC_PR_READ_RESERVATION, decoded', async () => {
    const n = fake((arg) => {
      hex('08 07 06 05 04 03 02 01 | 2a 00 00 00 | 02 00 00 00').copy(arg);
      return 0;
    });
    const r = await new BlockPrIoctl(n, 3, '/dev/nvme0n1').readReservation();
    expect(n.calls[0]).toMatchObject({ request: 0x801070cf, data: null });
    expect(n.calls[0].arg).toEqual(Buffer.alloc(16));
    expect(r).toEqual({ status: 0, name: 'PR_STS_SUCCESS', class: 'ok', key: KEY, generation: 42, type: 2 });
  });

  it('ENOTTY on READ_KEYS / READ_RESERVATION is a KernelFeatureError naming Linux 6.19', async () => {
    const enotty = () => { throw syscallError('ENOTTY', -25, 'ioctl'); };
    const pr = new BlockPrIoctl(fake(enotty, enotty), 3, '/dev/nvme0n1');
    const e = await rejection(pr.readKeys());
    expect(e).toBeInstanceOf(KernelFeatureError);
    expect(e).toBeInstanceOf(ScsiPrError);
    expect(e).toMatchObject({ code: 'ERR_KERNEL_TOO_OLD', requirement: 'Linux 6.19 or later (IOC_PR_READ_KEYS)', errno: -25, syscall: 'ioctl', path: '/dev/nvme0n1' });
    expect(e.message).toContain('Linux 6.19 or later (IOC_PR_READ_KEYS)');
    expect((e as Error).cause).toBeInstanceOf(SyscallError);
    const r = await rejection(pr.readReservation());
    expect(r).toBeInstanceOf(KernelFeatureError);
    expect(r.message).toContain('Linux 6.19 or later (IOC_PR_READ_RESERVATION)');
  });

  it('refuses bad arguments before any ioctl', async () => {
    const n = fake();
    const pr = new BlockPrIoctl(n, 3, '/dev/sdb');
    const cases: Array<[() => Promise<unknown>, unknown, string]> = [
      [() => pr.register(0n, 1 as never), ArgumentTypeError, 'ERR_INVALID_KEY'],
      [() => pr.register(-1n, 1n), ArgumentRangeError, 'ERR_INVALID_KEY'],
      [() => pr.clear(1n << 64n), ArgumentRangeError, 'ERR_INVALID_KEY'],
      [() => pr.reserve(1n, 7 as never), ArgumentRangeError, 'ERR_INVALID_RESERVATION_TYPE'],
      [() => pr.release(1n, 0 as never), ArgumentRangeError, 'ERR_INVALID_RESERVATION_TYPE'],
      [() => pr.preempt(1n, 2n, '1' as never), ArgumentTypeError, 'ERR_INVALID_RESERVATION_TYPE'],
      [() => pr.preempt(1n, 2n, 1, { abort: 1 } as never), ArgumentTypeError, 'ERR_INVALID_OPTION'],
      [() => pr.register(0n, 1n, { ignoreKey: true } as never), ArgumentTypeError, 'ERR_INVALID_OPTION'],
      [() => pr.readKeys(65537), ArgumentRangeError, 'ERR_INVALID_OPTION'],
      [() => pr.readKeys(1.5), ArgumentRangeError, 'ERR_INVALID_OPTION'],
    ];
    for (const [call, cls, code] of cases) {
      const e = await rejection(call());
      expect(e, e.message).toBeInstanceOf(cls);
      expect(e.code).toBe(code);
    }
    expect(n.calls).toEqual([]);
    expect(thrown(() => { throw new KernelFeatureError('m', 'r'); }).code).toBe('ERR_KERNEL_TOO_OLD');
  });

  it('uses the request numbers it is given (another architecture’s)', async () => {
    const n = fake(ok);
    await new BlockPrIoctl(n, 3, '/dev/sdb', { ...IOC_PR, CLEAR: 0x801070cd }).clear(1n);
    expect(n.calls[0].request).toBe(0x801070cd);
  });
});
