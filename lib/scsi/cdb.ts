/**
 * Command descriptor block builders. Pure functions returning fresh Buffers;
 * every field is range-checked (ArgumentRangeError / ArgumentTypeError with code
 * `ERR_INVALID_OPTION`) so a bad value never reaches the device truncated.
 */
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';

const OP_TEST_UNIT_READY = 0x00;
const OP_RESERVE_6 = 0x16;
const OP_RELEASE_6 = 0x17;
const OP_INQUIRY = 0x12;
const OP_READ_CAPACITY_10 = 0x25;
const OP_READ_10 = 0x28;
const OP_WRITE_10 = 0x2a;
const OP_PERSISTENT_RESERVE_IN = 0x5e;
const OP_PERSISTENT_RESERVE_OUT = 0x5f;

function checkInt(value: unknown, name: string, min: number, max: number, what: string): number {
  if (typeof value !== 'number') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${what}: ${name} must be an integer ${min}–${max}; received ${value === null ? 'null' : typeof value}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${what}: ${name} ${String(value)} is out of range; expected an integer ${min}–${max}`);
  }
  return value;
}

/**
 * PERSISTENT RESERVE IN (0x5E), 10 bytes: service action in byte 1,
 * allocation length big-endian in bytes 7–8.
 *
 * @param action           Service action 0–31 (the `code` of a row of `PR_IN_ACTIONS`).
 * @param allocationLength 1–65535.
 * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) for out-of-range fields.
 */
export function prInCdb(action: number, allocationLength: number): Buffer {
  checkInt(action, 'action', 0, 0x1f, 'PERSISTENT RESERVE IN');
  checkInt(allocationLength, 'allocationLength', 1, 0xffff, 'PERSISTENT RESERVE IN');
  const cdb = Buffer.alloc(10);
  cdb[0] = OP_PERSISTENT_RESERVE_IN;
  cdb[1] = action;
  cdb.writeUInt16BE(allocationLength, 7);
  return cdb;
}

/**
 * PERSISTENT RESERVE OUT (0x5F), 10 bytes: service action in byte 1,
 * `scope << 4 | type` in byte 2, parameter list length big-endian in bytes 5–8.
 *
 * @param action              Service action 0–31 (the `code` of a row of `PR_OUT_ACTIONS`).
 * @param scope               0–15 (always `LU_SCOPE` = 0 in practice).
 * @param type                0–15 (0 for actions that take no type).
 * @param parameterListLength 0–2^32−1.
 * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) for out-of-range fields.
 */
export function prOutCdb(action: number, scope: number, type: number, parameterListLength: number): Buffer {
  checkInt(action, 'action', 0, 0x1f, 'PERSISTENT RESERVE OUT');
  checkInt(scope, 'scope', 0, 0xf, 'PERSISTENT RESERVE OUT');
  checkInt(type, 'type', 0, 0xf, 'PERSISTENT RESERVE OUT');
  checkInt(parameterListLength, 'parameterListLength', 0, 0xffff_ffff, 'PERSISTENT RESERVE OUT');
  const cdb = Buffer.alloc(10);
  cdb[0] = OP_PERSISTENT_RESERVE_OUT;
  cdb[1] = action;
  cdb[2] = (scope << 4) | type;
  cdb.writeUInt32BE(parameterListLength, 5);
  return cdb;
}

/**
 * SCSI-2 RESERVE(6) (0x16) of the whole logical unit: no extent, no third
 * party (SPC-2 §7.21; obsolete in SPC-3 and later, still implemented by most
 * targets). The reservation belongs to the I_T nexus that sends it.
 */
export function reserve6Cdb(): Buffer {
  const cdb = Buffer.alloc(6);
  cdb[0] = OP_RESERVE_6;
  return cdb;
}

/** SCSI-2 RELEASE(6) (0x17) of a whole-unit reservation held by this I_T nexus (SPC-2 §7.17). */
export function release6Cdb(): Buffer {
  const cdb = Buffer.alloc(6);
  cdb[0] = OP_RELEASE_6;
  return cdb;
}

/** TEST UNIT READY (0x00), 6 zero bytes. */
export function testUnitReadyCdb(): Buffer {
  const cdb = Buffer.alloc(6);
  cdb[0] = OP_TEST_UNIT_READY;
  return cdb;
}

/**
 * INQUIRY (0x12), 6 bytes: EVPD in byte 1 bit 0, page code in byte 2,
 * allocation length big-endian in bytes 3–4 (SPC-3 and later).
 *
 * @param opts.evpd             Request a VPD page (default false).
 * @param opts.page             VPD page code 0–255; must be 0 (or omitted) unless `evpd` is set.
 * @param opts.allocationLength 1–65535.
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`).
 */
export function inquiryCdb(opts: { evpd?: boolean; page?: number; allocationLength: number }): Buffer {
  if (typeof opts !== 'object' || opts === null) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', 'INQUIRY: options must be an object with allocationLength');
  }
  const evpd = opts.evpd ?? false;
  if (typeof evpd !== 'boolean') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `INQUIRY: evpd must be a boolean; received ${typeof evpd}`);
  }
  const page = checkInt(opts.page ?? 0, 'page', 0, 0xff, 'INQUIRY');
  if (!evpd && page !== 0) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `INQUIRY: page ${page} requires evpd: true (standard INQUIRY data has page 0)`);
  }
  checkInt(opts.allocationLength, 'allocationLength', 1, 0xffff, 'INQUIRY');
  const cdb = Buffer.alloc(6);
  cdb[0] = OP_INQUIRY;
  cdb[1] = evpd ? 0x01 : 0x00;
  cdb[2] = page;
  cdb.writeUInt16BE(opts.allocationLength, 3);
  return cdb;
}

/** READ CAPACITY (10) (0x25), 10 bytes, all fields zero (LBA 0, PMI 0). */
export function readCapacity10Cdb(): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = OP_READ_CAPACITY_10;
  return cdb;
}

function rw10(opcode: number, what: string, lba: number, blocks: number): Buffer {
  checkInt(lba, 'lba', 0, 0xffff_ffff, what);
  checkInt(blocks, 'blocks', 0, 0xffff, what);
  const cdb = Buffer.alloc(10);
  cdb[0] = opcode;
  cdb.writeUInt32BE(lba, 2);
  cdb.writeUInt16BE(blocks, 7);
  return cdb;
}

/**
 * READ (10) (0x28): LBA big-endian in bytes 2–5, transfer length (blocks) in bytes 7–8.
 *
 * @param lba    0–2^32−1.
 * @param blocks 0–65535 (0 transfers nothing but is still subject to reservation checks).
 */
export function read10Cdb(lba: number, blocks: number): Buffer {
  return rw10(OP_READ_10, 'READ(10)', lba, blocks);
}

/**
 * WRITE (10) (0x2A): LBA big-endian in bytes 2–5, transfer length (blocks) in bytes 7–8.
 *
 * @param lba    0–2^32−1.
 * @param blocks 0–65535.
 */
export function write10Cdb(lba: number, blocks: number): Buffer {
  return rw10(OP_WRITE_10, 'WRITE(10)', lba, blocks);
}
