/**
 * The addon's generic ioctlBuffer on the host, with harmless requests: a FIFO
 * opened O_RDWR stands in for a device (FIONREAD counts its unread bytes; the
 * block PR requests are unknown to it, so ENOTTY), plus the argument checks.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../../lib/transport/native';
import { rejection, thrown } from '../support/thrown';

/** FIONREAD of <asm-generic/ioctls.h> (x86, arm, arm64, riscv, s390); ppc and mips differ. */
const FIONREAD = 0x541b;
/** IOC_PR_REGISTER and IOC_PR_READ_KEYS (asm-generic encoding, see the block-pr tests). */
const IOC_PR_REGISTER = 0x401870c8;
const IOC_PR_READ_KEYS = 0xc01070ce;

const native = loadNative();
const dir = mkdtempSync(join(tmpdir(), 'scsi-pr-ioctl-'));
const fifo = join(dir, 'fifo');
let fd = -1;

beforeAll(() => {
  execFileSync('mkfifo', [fifo]);
  fd = native.openDevice(fifo, true);
});
afterAll(() => {
  if (fd >= 0) native.closeDevice(fd);
  rmSync(dir, { recursive: true, force: true });
});

describe.runIf(!/^(ppc|mips)/.test(process.arch))('native ioctlBuffer', () => {
  it('runs the ioctl and lets the kernel write into arg (FIONREAD on a FIFO holding 3 bytes)', async () => {
    writeSync(fd, Buffer.from('abc'));
    const arg = Buffer.alloc(4, 0xee);
    await expect(native.ioctlBuffer(fd, FIONREAD, arg, null, 0)).resolves.toBe(0);
    expect(arg.readInt32LE(0)).toBe(3);
  });

  it('writes data’s address into arg at dataPointerOffset (native-endian u64), the rest untouched', async () => {
    const arg = Buffer.alloc(24, 0xee);
    const data = Buffer.alloc(16);
    await native.ioctlBuffer(fd, FIONREAD, arg, data, 16);
    const address = arg.subarray(16, 24);
    expect(address.equals(Buffer.alloc(8)), 'address written').toBe(false);
    expect(arg.subarray(4, 16)).toEqual(Buffer.alloc(12, 0xee)); // FIONREAD wrote [0, 4) only
    const again = Buffer.alloc(24);
    await native.ioctlBuffer(fd, FIONREAD, again, data, 16);
    expect(again.subarray(16, 24)).toEqual(address); // same buffer, same address
  });

  it('takes request numbers above 2^31 (_IOWR) and rejects what the file does not know with ENOTTY', async () => {
    for (const request of [IOC_PR_REGISTER, IOC_PR_READ_KEYS]) {
      const e = await rejection(native.ioctlBuffer(fd, request, Buffer.alloc(16), Buffer.alloc(8), 8));
      expect(e).toMatchObject({ code: 'ENOTTY', errno: -25, syscall: 'ioctl' });
      expect(e.message).toMatch(/^ENOTTY: .*, ioctl$/);
    }
  });

  it('rejects an invalid fd with EBADF, shaped like the other syscall errors', async () => {
    const e = await rejection(native.ioctlBuffer(-1, FIONREAD, Buffer.alloc(4), null, 0));
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: 'EBADF', errno: -9, syscall: 'ioctl' });
  });

  it('throws a RangeError when the pointer would not fit in arg, or the offset or request is not an integer', () => {
    const data = Buffer.alloc(8);
    for (const offset of [9, 16, -1, 1.5, NaN]) {
      expect(thrown(() => native.ioctlBuffer(fd, FIONREAD, Buffer.alloc(16), data, offset)), `offset ${offset}`).toBeInstanceOf(RangeError);
    }
    expect(thrown(() => native.ioctlBuffer(fd, FIONREAD, Buffer.alloc(7), data, 0))).toBeInstanceOf(RangeError);
    for (const request of [-1, 1.5, 2 ** 53, Infinity]) {
      expect(thrown(() => native.ioctlBuffer(fd, request, Buffer.alloc(4), null, 0)), `request ${request}`).toBeInstanceOf(RangeError);
    }
  });

  it('ignores dataPointerOffset without data (arg untouched but for the kernel)', async () => {
    const arg = Buffer.alloc(4);
    await expect(native.ioctlBuffer(fd, FIONREAD, arg, null, 1000)).resolves.toBe(0);
  });

  it('throws a TypeError for arguments of the wrong type', () => {
    const call = native.ioctlBuffer as unknown as (...a: unknown[]) => unknown;
    expect(thrown(() => call(fd, FIONREAD, [0, 0, 0, 0], null, 0))).toBeInstanceOf(TypeError);
    expect(thrown(() => call(fd, FIONREAD, Buffer.alloc(4), undefined, 0))).toBeInstanceOf(TypeError);
    expect(thrown(() => call(fd, '0x541b', Buffer.alloc(4), null, 0))).toBeInstanceOf(TypeError);
    expect(thrown(() => call(fd, FIONREAD, Buffer.alloc(16), Buffer.alloc(8)))).toBeInstanceOf(TypeError);
  });
});
