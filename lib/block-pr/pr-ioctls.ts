/**
 * The kernel's block persistent-reservation ioctls (`<linux/pr.h>`): request
 * numbers, reservation types, flags and the argument structs, encoded and
 * decoded byte for byte. Pure: no I/O.
 *
 * Layouts (all natural alignment, no hidden padding; u64 and u32 in the CPU's
 * byte order because the kernel copies the structs as they are):
 *
 * | struct                | size | fields (offset)                                             |
 * |-----------------------|------|-------------------------------------------------------------|
 * | `pr_registration`     | 24   | old_key u64 (0), new_key u64 (8), flags u32 (16), pad (20)  |
 * | `pr_reservation`      | 16   | key u64 (0), type u32 (8), flags u32 (12)                   |
 * | `pr_preempt`          | 24   | old_key u64 (0), new_key u64 (8), type u32 (16), flags (20) |
 * | `pr_clear`            | 16   | key u64 (0), flags u32 (8), pad (12)                        |
 * | `pr_read_keys`        | 16   | generation u32 (0), num_keys u32 (4), keys_ptr u64 (8)      |
 * | `pr_read_reservation` | 16   | key u64 (0), generation u32 (8), type u32 (12)              |
 *
 * REGISTER … CLEAR exist since Linux 4.4; READ_KEYS and READ_RESERVATION since
 * 6.19. Note `pr_preempt`: `old_key` is the caller's own key and `new_key` the
 * key to preempt (SPC's RESERVATION KEY and SERVICE ACTION RESERVATION KEY).
 */
import { endianness } from 'node:os';
import { nvmeRtypeFromScsiType, scsiTypeFromNvmeRtype } from '../nvme/reservation-type-codes';

/** Byte order of the structs: the CPU's. */
export type Endianness = 'LE' | 'BE';

/** This machine's byte order, used by default by every encoder and decoder. */
export const NATIVE_ENDIANNESS: Endianness = endianness();

/** The ioctl "type" byte of linux/pr.h: `'p'`. */
export const PR_IOCTL_TYPE = 0x70;

/** Sizes in bytes of the ioctl argument structs (they are part of the request numbers). */
export const PR_STRUCT_SIZE = Object.freeze({
  registration: 24,
  reservation: 16,
  preempt: 24,
  clear: 16,
  readKeys: 16,
  readReservation: 16,
});

/** Offset of `keys_ptr` in `struct pr_read_keys` (where the native layer writes the keys array's address). */
export const PR_READ_KEYS_PTR_OFFSET = 8;

/** `PR_FL_IGNORE_KEY`: REGISTER ignores the existing key (REGISTER AND IGNORE EXISTING KEY). The only flag; the kernel refuses it (EOPNOTSUPP) on RELEASE, PREEMPT and CLEAR. */
export const PR_FL_IGNORE_KEY = 1;

/** `PR_KEYS_MAX`: the most keys one IOC_PR_READ_KEYS may ask for (more is EINVAL). */
export const PR_KEYS_MAX = 65536;

/**
 * `enum pr_type`: the block layer's reservation types, 1–6. Not SPC's codes
 * (1, 3, 5, 6, 7, 8): see {@link prTypeFromSpc}.
 */
export const PrType = Object.freeze({
  WRITE_EXCLUSIVE: 1,
  EXCLUSIVE_ACCESS: 2,
  WRITE_EXCLUSIVE_REG_ONLY: 3,
  EXCLUSIVE_ACCESS_REG_ONLY: 4,
  WRITE_EXCLUSIVE_ALL_REGS: 5,
  EXCLUSIVE_ACCESS_ALL_REGS: 6,
} as const);

/** One of {@link PrType}'s values. */
export type PrTypeCode = (typeof PrType)[keyof typeof PrType];

/** The block `pr_type` of an SPC reservation type code (1→1, 3→2, 5→3, 6→4, 7→5, 8→6); undefined for any other value. */
export function prTypeFromSpc(spcType: number): PrTypeCode | undefined {
  return nvmeRtypeFromScsiType(spcType); // enum pr_type is NVMe's RTYPE numbering
}

/** The SPC reservation type code of a block `pr_type` (1→1, 2→3, 3→5, 4→6, 5→7, 6→8); undefined for any other value. */
export function spcTypeFromPr(prType: number): number | undefined {
  return scsiTypeFromNvmeRtype(prType);
}

/** Whether `value` is one of the six block `pr_type` values. */
export function isPrType(value: unknown): value is PrTypeCode {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 6;
}

/** Direction bits of an ioctl request number. */
type IocDirection = 'none' | 'write' | 'read' | 'readWrite';

/**
 * `_IOC(dir, type, nr, size)` of `<asm/ioctl.h>`. Most architectures (x86,
 * arm, arm64, riscv, s390, loongarch) use asm-generic's layout: nr bits 0–7,
 * type 8–15, size 16–29, direction 30–31 with WRITE = 1, READ = 2. PowerPC
 * and MIPS use a 13-bit size and a 3-bit direction at bit 29 with NONE = 1,
 * READ = 2, WRITE = 4.
 *
 * @param arch A `process.arch` value (default: this process's).
 */
export function iocRequest(direction: IocDirection, type: number, nr: number, size: number, arch: string = process.arch): number {
  const alt = /^(ppc|mips)/.test(arch);
  const [read, write, none, dirShift] = alt ? [2, 4, 1, 29] : [2, 1, 0, 30];
  const dir = direction === 'none' ? none : direction === 'read' ? read : direction === 'write' ? write : read | write;
  // >>> 0 keeps the result unsigned (dir << 30 would be negative as an int32).
  return ((dir << dirShift) | (size << 16) | (type << 8) | nr) >>> 0;
}

/** The eight IOC_PR_* request numbers for one architecture. */
export interface PrRequests {
  /** `_IOW('p', 200, struct pr_registration)` */
  REGISTER: number;
  /** `_IOW('p', 201, struct pr_reservation)` */
  RESERVE: number;
  /** `_IOW('p', 202, struct pr_reservation)` */
  RELEASE: number;
  /** `_IOW('p', 203, struct pr_preempt)` */
  PREEMPT: number;
  /** `_IOW('p', 204, struct pr_preempt)` */
  PREEMPT_ABORT: number;
  /** `_IOW('p', 205, struct pr_clear)` */
  CLEAR: number;
  /** `_IOWR('p', 206, struct pr_read_keys)` (Linux 6.19+) */
  READ_KEYS: number;
  /** `_IOR('p', 207, struct pr_read_reservation)` (Linux 6.19+) */
  READ_RESERVATION: number;
}

/** The IOC_PR_* request numbers for `arch` (a `process.arch` value). */
export function prRequests(arch: string = process.arch): PrRequests {
  const p = PR_IOCTL_TYPE;
  const s = PR_STRUCT_SIZE;
  return Object.freeze({
    REGISTER: iocRequest('write', p, 200, s.registration, arch),
    RESERVE: iocRequest('write', p, 201, s.reservation, arch),
    RELEASE: iocRequest('write', p, 202, s.reservation, arch),
    PREEMPT: iocRequest('write', p, 203, s.preempt, arch),
    PREEMPT_ABORT: iocRequest('write', p, 204, s.preempt, arch),
    CLEAR: iocRequest('write', p, 205, s.clear, arch),
    READ_KEYS: iocRequest('readWrite', p, 206, s.readKeys, arch),
    READ_RESERVATION: iocRequest('read', p, 207, s.readReservation, arch),
  });
}

/** The IOC_PR_* request numbers of this machine. */
export const IOC_PR: PrRequests = prRequests();

function writeU64(b: Buffer, value: bigint, offset: number, e: Endianness): void {
  if (e === 'LE') b.writeBigUInt64LE(value, offset);
  else b.writeBigUInt64BE(value, offset);
}

function writeU32(b: Buffer, value: number, offset: number, e: Endianness): void {
  if (e === 'LE') b.writeUInt32LE(value, offset);
  else b.writeUInt32BE(value, offset);
}

function readU64(b: Buffer, offset: number, e: Endianness): bigint {
  return e === 'LE' ? b.readBigUInt64LE(offset) : b.readBigUInt64BE(offset);
}

function readU32(b: Buffer, offset: number, e: Endianness): number {
  return e === 'LE' ? b.readUInt32LE(offset) : b.readUInt32BE(offset);
}

/** `struct pr_registration` for IOC_PR_REGISTER. Keys are u64 (range-checked by the caller), flags u32. */
export function encodeRegistration(oldKey: bigint, newKey: bigint, flags: number, e: Endianness = NATIVE_ENDIANNESS): Buffer {
  const b = Buffer.alloc(PR_STRUCT_SIZE.registration);
  writeU64(b, oldKey, 0, e);
  writeU64(b, newKey, 8, e);
  writeU32(b, flags, 16, e);
  return b;
}

/** `struct pr_reservation` for IOC_PR_RESERVE and IOC_PR_RELEASE. */
export function encodeReservation(key: bigint, type: number, flags: number, e: Endianness = NATIVE_ENDIANNESS): Buffer {
  const b = Buffer.alloc(PR_STRUCT_SIZE.reservation);
  writeU64(b, key, 0, e);
  writeU32(b, type, 8, e);
  writeU32(b, flags, 12, e);
  return b;
}

/** `struct pr_preempt` for IOC_PR_PREEMPT(_ABORT): `oldKey` is our key, `newKey` the key to preempt. */
export function encodePreempt(oldKey: bigint, newKey: bigint, type: number, flags: number, e: Endianness = NATIVE_ENDIANNESS): Buffer {
  const b = Buffer.alloc(PR_STRUCT_SIZE.preempt);
  writeU64(b, oldKey, 0, e);
  writeU64(b, newKey, 8, e);
  writeU32(b, type, 16, e);
  writeU32(b, flags, 20, e);
  return b;
}

/** `struct pr_clear` for IOC_PR_CLEAR. */
export function encodeClear(key: bigint, flags: number, e: Endianness = NATIVE_ENDIANNESS): Buffer {
  const b = Buffer.alloc(PR_STRUCT_SIZE.clear);
  writeU64(b, key, 0, e);
  writeU32(b, flags, 8, e);
  return b;
}

/**
 * `struct pr_read_keys` for IOC_PR_READ_KEYS with `num_keys` = `capacity` (the
 * length of the keys array in u64s) and `keys_ptr` 0: the native layer writes
 * the array's address at {@link PR_READ_KEYS_PTR_OFFSET}.
 */
export function encodeReadKeys(capacity: number, e: Endianness = NATIVE_ENDIANNESS): Buffer {
  const b = Buffer.alloc(PR_STRUCT_SIZE.readKeys);
  writeU32(b, capacity, 4, e);
  return b;
}

/** `struct pr_read_keys` after the ioctl: the generation and the number of keys the device holds (may exceed the capacity). */
export function decodeReadKeys(b: Buffer, e: Endianness = NATIVE_ENDIANNESS): { generation: number; numKeys: number } {
  return { generation: readU32(b, 0, e), numKeys: readU32(b, 4, e) };
}

/** The first `count` u64 keys of a READ_KEYS keys array. */
export function decodeKeys(keys: Buffer, count: number, e: Endianness = NATIVE_ENDIANNESS): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) out.push(readU64(keys, i * 8, e));
  return out;
}

/** What IOC_PR_READ_RESERVATION reports. `type` 0 (with key 0): no reservation reported. */
export interface PrReadReservation {
  /** Key of the reservation holder. */
  key: bigint;
  /** The device's PR generation. */
  generation: number;
  /** The block `pr_type` (1–6), or 0 when no reservation is held. */
  type: number;
}

/** `struct pr_read_reservation` after the ioctl. */
export function decodeReadReservation(b: Buffer, e: Endianness = NATIVE_ENDIANNESS): PrReadReservation {
  return { key: readU64(b, 0, e), generation: readU32(b, 8, e), type: readU32(b, 12, e) };
}
