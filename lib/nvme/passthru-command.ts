/**
 * The Linux NVMe passthrough interface (`linux/nvme_ioctl.h`): the 72-byte
 * `struct nvme_passthru_cmd` handed to `NVME_IOCTL_IO_CMD` on a namespace's
 * block device (or its `/dev/ngXnY` char device), and the ioctl request numbers.
 *
 * Pure: the native layer copies the encoded struct, stores the data buffer's
 * address at {@link ADDR_OFFSET}, issues the ioctl and hands the struct back;
 * {@link passthruResult} then reads completion dword 0 from {@link RESULT_OFFSET}.
 *
 * The struct is in host byte order. Every field is written little-endian, so
 * this module is right on little-endian hosts only (x86_64, arm64, riscv64,
 * ppc64le) — the only ones Node.js ships Linux builds for besides s390x.
 */
import { ArgumentRangeError, ArgumentTypeError, describeValue } from '../invalid-argument';

/** `sizeof(struct nvme_passthru_cmd)`. */
export const PASSTHRU_CMD_SIZE = 72;

/** Byte offsets of the fields of `struct nvme_passthru_cmd` (all naturally aligned, no padding). */
export const PassthruOffset = {
  OPCODE: 0, // __u8
  FLAGS: 1, // __u8
  RSVD1: 2, // __u16
  NSID: 4, // __u32
  CDW2: 8,
  CDW3: 12,
  METADATA: 16, // __u64 user pointer
  ADDR: 24, // __u64 user pointer
  METADATA_LEN: 32,
  DATA_LEN: 36,
  CDW10: 40,
  CDW11: 44,
  CDW12: 48,
  CDW13: 52,
  CDW14: 56,
  CDW15: 60,
  TIMEOUT_MS: 64,
  RESULT: 68, // __u32, completion dword 0, written by the kernel
} as const;

/** Offset of the 64-bit data pointer (`addr`), which the native layer fills in. */
export const ADDR_OFFSET = PassthruOffset.ADDR;

/** Offset of `result` (completion queue entry dword 0), written by the kernel on completion. */
export const RESULT_OFFSET = PassthruOffset.RESULT;

/** `_IOC` direction bits (asm-generic/ioctl.h, used by x86, arm64, riscv): none, write (to the kernel), read. */
export const IocDirection = { NONE: 0, WRITE: 1, READ: 2 } as const;

/**
 * The generic Linux ioctl request encoding: `dir << 30 | size << 16 | type << 8 | nr`
 * (`_IOC` of asm-generic/ioctl.h; size is 14 bits). Not valid for alpha, mips,
 * powerpc, sparc, whose direction bits differ.
 */
export function ioctlRequest(dir: number, type: number, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}

/** `_IO('N', 0x40)`: returns the namespace ID of the opened namespace (0x4e40). */
export const NVME_IOCTL_ID = ioctlRequest(IocDirection.NONE, 0x4e, 0x40, 0);

/** `_IOWR('N', 0x41, struct nvme_passthru_cmd)`: admin command passthrough (0xc0484e41). */
export const NVME_IOCTL_ADMIN_CMD = ioctlRequest(IocDirection.READ | IocDirection.WRITE, 0x4e, 0x41, PASSTHRU_CMD_SIZE);

/** `_IOWR('N', 0x43, struct nvme_passthru_cmd)`: I/O command passthrough (0xc0484e43). */
export const NVME_IOCTL_IO_CMD = ioctlRequest(IocDirection.READ | IocDirection.WRITE, 0x4e, 0x43, PASSTHRU_CMD_SIZE);

/** The fields a caller sets; everything else (flags, rsvd1, metadata, addr, result) is 0. */
export interface PassthruFields {
  /** Command opcode (0–255), e.g. 0x0d Reservation Register. */
  opcode: number;
  /** Namespace ID (u32). Default 0; I/O commands need the namespace's own ID. */
  nsid?: number;
  /** Command dwords 2, 3 and 10–15 (u32 each). Default 0. */
  cdw2?: number;
  cdw3?: number;
  cdw10?: number;
  cdw11?: number;
  cdw12?: number;
  cdw13?: number;
  cdw14?: number;
  cdw15?: number;
  /** Length of the data buffer in bytes (u32). Default 0 (no data). */
  dataLength?: number;
  /** Timeout in milliseconds (u32); 0 means the kernel's default I/O timeout. Default 0. */
  timeoutMs?: number;
}

const U32_FIELDS = [
  ['nsid', PassthruOffset.NSID],
  ['cdw2', PassthruOffset.CDW2],
  ['cdw3', PassthruOffset.CDW3],
  ['cdw10', PassthruOffset.CDW10],
  ['cdw11', PassthruOffset.CDW11],
  ['cdw12', PassthruOffset.CDW12],
  ['cdw13', PassthruOffset.CDW13],
  ['cdw14', PassthruOffset.CDW14],
  ['cdw15', PassthruOffset.CDW15],
  ['dataLength', PassthruOffset.DATA_LEN],
  ['timeoutMs', PassthruOffset.TIMEOUT_MS],
] as const;

function checkUint(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `passthru field ${name} must be a number; received ${describeValue(v)}`);
  }
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `passthru field ${name} ${String(v)} is not an integer 0–${max}`);
  }
  return v;
}

/**
 * Encodes a `struct nvme_passthru_cmd` (72 bytes). `addr` stays 0: the native
 * layer writes the data buffer's address at {@link ADDR_OFFSET} before the ioctl.
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`) when a field is not an integer in range.
 *
 * @example
 * encodePassthruCommand({ opcode: 0x0e, nsid: 1, cdw10: 15, cdw11: 1, dataLength: 64 })
 */
export function encodePassthruCommand(fields: PassthruFields): Buffer {
  if (typeof fields !== 'object' || fields === null) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `passthru fields must be an object; received ${describeValue(fields)}`);
  }
  const buf = Buffer.alloc(PASSTHRU_CMD_SIZE);
  buf.writeUInt8(checkUint('opcode', fields.opcode, 0xff), PassthruOffset.OPCODE);
  for (const [name, offset] of U32_FIELDS) {
    const v = fields[name];
    if (v !== undefined) buf.writeUInt32LE(checkUint(name, v, 0xffff_ffff), offset);
  }
  return buf;
}

/**
 * Completion dword 0 (`result`) of a completed passthrough struct.
 *
 * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) when `buf` is shorter than the struct.
 */
export function passthruResult(buf: Buffer): number {
  if (!Buffer.isBuffer(buf) || buf.length < PASSTHRU_CMD_SIZE) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `a passthru command struct has ${PASSTHRU_CMD_SIZE} bytes; received ${Buffer.isBuffer(buf) ? `${buf.length} bytes` : describeValue(buf)}`);
  }
  return buf.readUInt32LE(RESULT_OFFSET);
}
