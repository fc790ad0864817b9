/**
 * linux/pr.h byte for byte: the request numbers and the argument structs.
 * Expected values are worked out by hand from the header (include/uapi/linux/pr.h,
 * 6.19+) and <asm-generic/ioctl.h>; nothing here is computed by the code under test.
 */
import { describe, expect, it } from 'vitest';
import {
  IOC_PR,
  PR_KEYS_MAX,
  PR_READ_KEYS_PTR_OFFSET,
  PR_STRUCT_SIZE,
  PrType,
  decodeKeys,
  decodeReadKeys,
  decodeReadReservation,
  encodeClear,
  encodePreempt,
  encodeReadKeys,
  encodeRegistration,
  encodeReservation,
  iocRequest,
  isPrType,
  prRequests,
  prTypeFromSpc,
  spcTypeFromPr,
} from '../../../lib/block-pr/pr-ioctls';
import { hex } from '../support/hex-bytes';

describe('IOC_PR_* request numbers', () => {
  // asm-generic: dir << 30 | size << 16 | type << 8 | nr, _IOC_WRITE = 1, _IOC_READ = 2; type 'p' = 0x70.
  //   _IOW('p', 200, 24 bytes)  = 0x40000000 | 0x180000 | 0x7000 | 0xc8 = 0x401870c8
  //   _IOW('p', 201, 16 bytes)  = 0x40000000 | 0x100000 | 0x7000 | 0xc9 = 0x401070c9
  //   _IOW('p', 202, 16)        = 0x401070ca
  //   _IOW('p', 203, 24)        = 0x401870cb
  //   _IOW('p', 204, 24)        = 0x401870cc
  //   _IOW('p', 205, 16)        = 0x401070cd
  //   _IOWR('p', 206, 16)       = 0xc0000000 | 0x100000 | 0x7000 | 0xce = 0xc01070ce
  //   _IOR('p', 207, 16)        = 0x80000000 | 0x100000 | 0x7000 | 0xcf = 0x801070cf
  // (the first six match gcc's expansion of the installed <linux/pr.h> on x86-64; the
  // last two match the same macros over the 6.19 struct definitions).
  const generic = {
    REGISTER: 0x401870c8,
    RESERVE: 0x401070c9,
    RELEASE: 0x401070ca,
    PREEMPT: 0x401870cb,
    PREEMPT_ABORT: 0x401870cc,
    CLEAR: 0x401070cd,
    READ_KEYS: 0xc01070ce,
    READ_RESERVATION: 0x801070cf,
  };

  it('x64, arm64, riscv64, s390x (asm-generic layout)', () => {
    for (const arch of ['x64', 'arm64', 'arm', 'ia32', 'riscv64', 's390x', 'loong64']) expect(prRequests(arch)).toEqual(generic);
  });

  it('ppc64 and mips (13-bit size, 3-bit direction at bit 29: NONE 1, READ 2, WRITE 4)', () => {
    //   _IOW  = 4 << 29 = 0x80000000;  _IOR = 2 << 29 = 0x40000000;  _IOWR = 6 << 29 = 0xc0000000
    const alt = {
      REGISTER: 0x801870c8,
      RESERVE: 0x801070c9,
      RELEASE: 0x801070ca,
      PREEMPT: 0x801870cb,
      PREEMPT_ABORT: 0x801870cc,
      CLEAR: 0x801070cd,
      READ_KEYS: 0xc01070ce,
      READ_RESERVATION: 0x401070cf,
    };
    for (const arch of ['ppc64', 'mips', 'mipsel']) expect(prRequests(arch)).toEqual(alt);
  });

  it('IOC_PR is this machine’s set; numbers are unsigned', () => {
    expect(IOC_PR).toEqual(prRequests(process.arch));
    expect(iocRequest('readWrite', 0x70, 206, 16, 'x64')).toBeGreaterThan(0);
    expect(iocRequest('none', 0x12, 0x5f, 0, 'x64')).toBe(0x125f); // BLKRRPART = _IO(0x12, 95)
  });

  it('struct sizes and constants from the header', () => {
    expect(PR_STRUCT_SIZE).toEqual({ registration: 24, reservation: 16, preempt: 24, clear: 16, readKeys: 16, readReservation: 16 });
    expect(PR_READ_KEYS_PTR_OFFSET).toBe(8);
    expect(PR_KEYS_MAX).toBe(1 << 16);
  });
});

describe('struct encoders (little- and big-endian)', () => {
  const K1 = 0x0102030405060708n;
  const K2 = 0x1112131415161718n;

  it('pr_registration {old_key, new_key, flags, __pad}', () => {
    expect(encodeRegistration(K1, K2, 1, 'LE')).toEqual(hex('08 07 06 05 04 03 02 01 | 18 17 16 15 14 13 12 11 | 01 00 00 00 | 00 00 00 00'));
    expect(encodeRegistration(K1, K2, 1, 'BE')).toEqual(hex('01 02 03 04 05 06 07 08 | 11 12 13 14 15 16 17 18 | 00 00 00 01 | 00 00 00 00'));
    expect(encodeRegistration(0n, 0xffff_ffff_ffff_ffffn, 0, 'LE')).toEqual(hex('00 00 00 00 00 00 00 00 | ff ff ff ff ff ff ff ff | 00 00 00 00 | 00 00 00 00'));
  });

  it('pr_reservation {key, type, flags}', () => {
    expect(encodeReservation(0xaabbccdd00112233n, 3, 0, 'LE')).toEqual(hex('33 22 11 00 dd cc bb aa | 03 00 00 00 | 00 00 00 00'));
    expect(encodeReservation(0xaabbccdd00112233n, 3, 1, 'BE')).toEqual(hex('aa bb cc dd 00 11 22 33 | 00 00 00 03 | 00 00 00 01'));
  });

  it('pr_preempt {old_key (ours), new_key (victim), type, flags}', () => {
    expect(encodePreempt(1n, K2, 6, 0, 'LE')).toEqual(hex('01 00 00 00 00 00 00 00 | 18 17 16 15 14 13 12 11 | 06 00 00 00 | 00 00 00 00'));
    expect(encodePreempt(1n, K2, 6, 0, 'BE')).toEqual(hex('00 00 00 00 00 00 00 01 | 11 12 13 14 15 16 17 18 | 00 00 00 06 | 00 00 00 00'));
  });

  it('pr_clear {key, flags, __pad}', () => {
    expect(encodeClear(0x1234n, 0, 'LE')).toEqual(hex('34 12 00 00 00 00 00 00 | 00 00 00 00 | 00 00 00 00'));
    expect(encodeClear(0x1234n, 0, 'BE')).toEqual(hex('00 00 00 00 00 00 12 34 | 00 00 00 00 | 00 00 00 00'));
  });

  it('pr_read_keys {generation, num_keys = capacity, keys_ptr = 0 (the addon fills it)}', () => {
    expect(encodeReadKeys(5, 'LE')).toEqual(hex('00 00 00 00 | 05 00 00 00 | 00 00 00 00 00 00 00 00'));
    expect(encodeReadKeys(0x10000, 'BE')).toEqual(hex('00 00 00 00 | 00 01 00 00 | 00 00 00 00 00 00 00 00'));
  });

  it('the default byte order is the CPU’s', () => {
    const native = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 'LE' : 'BE';
    expect(encodeReservation(K1, 2, 0)).toEqual(encodeReservation(K1, 2, 0, native));
  });
});

describe('decoders', () => {
  it('pr_read_keys after the ioctl: generation and the device’s key count', () => {
    expect(decodeReadKeys(hex('07 00 00 00 | 09 00 00 00 | 00 00 00 00 00 00 00 00'), 'LE')).toEqual({ generation: 7, numKeys: 9 });
    expect(decodeReadKeys(hex('00 00 01 00 | 00 00 00 02 | 00 00 00 00 00 00 00 00'), 'BE')).toEqual({ generation: 256, numKeys: 2 });
  });

  it('the keys array: native-endian u64s, only the first `count`', () => {
    const keys = hex('08 07 06 05 04 03 02 01 | ff ff ff ff ff ff ff ff | aa 00 00 00 00 00 00 00');
    expect(decodeKeys(keys, 2, 'LE')).toEqual([0x0102030405060708n, 0xffff_ffff_ffff_ffffn]);
    expect(decodeKeys(keys, 0, 'LE')).toEqual([]);
    expect(decodeKeys(keys, 1, 'BE')).toEqual([0x0807060504030201n]);
  });

  it('pr_read_reservation {key, generation, type}', () => {
    expect(decodeReadReservation(hex('08 07 06 05 04 03 02 01 | 2a 00 00 00 | 05 00 00 00'), 'LE')).toEqual({ key: 0x0102030405060708n, generation: 42, type: 5 });
    expect(decodeReadReservation(hex('00 00 00 00 00 00 ab cd | 00 00 00 2a | 00 00 00 01'), 'BE')).toEqual({ key: 0xabcdn, generation: 42, type: 1 });
  });
});

describe('pr_type', () => {
  it('block types 1–6 against SPC codes 1, 3, 5, 6, 7, 8', () => {
    expect(PrType).toEqual({
      WRITE_EXCLUSIVE: 1,
      EXCLUSIVE_ACCESS: 2,
      WRITE_EXCLUSIVE_REG_ONLY: 3,
      EXCLUSIVE_ACCESS_REG_ONLY: 4,
      WRITE_EXCLUSIVE_ALL_REGS: 5,
      EXCLUSIVE_ACCESS_ALL_REGS: 6,
    });
    expect([1, 3, 5, 6, 7, 8].map(prTypeFromSpc)).toEqual([1, 2, 3, 4, 5, 6]);
    expect([1, 2, 3, 4, 5, 6].map(spcTypeFromPr)).toEqual([1, 3, 5, 6, 7, 8]);
    expect([0, 2, 4, 9].map(prTypeFromSpc)).toEqual([undefined, undefined, undefined, undefined]);
    expect([0, 7].map(spcTypeFromPr)).toEqual([undefined, undefined]);
    expect([1, 6].every(isPrType)).toBe(true);
    expect([0, 7, 1.5, '1', null].some(isPrType)).toBe(false);
  });
});
