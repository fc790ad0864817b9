/**
 * SCSI sense data (SPC-6 4.4): decoding of the fixed (70h/71h) and descriptor
 * (72h/73h) formats and a one-line human rendering. Pure functions; nothing
 * here ever reads outside the given buffer.
 */
import { ascName } from './asc-names';
import { hex2 } from './hex';

/** Sense key values (SPC-6 table 52). */
export const SenseKey = {
  NO_SENSE: 0x0,
  RECOVERED_ERROR: 0x1,
  NOT_READY: 0x2,
  MEDIUM_ERROR: 0x3,
  HARDWARE_ERROR: 0x4,
  ILLEGAL_REQUEST: 0x5,
  UNIT_ATTENTION: 0x6,
  DATA_PROTECT: 0x7,
  BLANK_CHECK: 0x8,
  VENDOR_SPECIFIC: 0x9,
  COPY_ABORTED: 0xa,
  ABORTED_COMMAND: 0xb,
  /** Obsolete (EQUAL). */
  EQUAL: 0xc,
  VOLUME_OVERFLOW: 0xd,
  MISCOMPARE: 0xe,
  COMPLETED: 0xf,
} as const;

const SENSE_KEY_NAMES: readonly string[] = [
  'NO SENSE',
  'RECOVERED ERROR',
  'NOT READY',
  'MEDIUM ERROR',
  'HARDWARE ERROR',
  'ILLEGAL REQUEST',
  'UNIT ATTENTION',
  'DATA PROTECT',
  'BLANK CHECK',
  'VENDOR SPECIFIC',
  'COPY ABORTED',
  'ABORTED COMMAND',
  'EQUAL',
  'VOLUME OVERFLOW',
  'MISCOMPARE',
  'COMPLETED',
];

/**
 * Name of a sense key (0..15) in SPC spelling, e.g. `6` → `'UNIT ATTENTION'`.
 * Values outside 0..15 give `'SENSE KEY 0x..'`.
 */
export function senseKeyName(key: number): string {
  if (Number.isInteger(key) && key >= 0 && key < SENSE_KEY_NAMES.length) return SENSE_KEY_NAMES[key] as string;
  return `SENSE KEY ${hex2(key)}`;
}

/**
 * The decoded SENSE KEY SPECIFIC field (3 bytes; only reported when its SKSV
 * bit is set). Its meaning depends on the sense key.
 */
export type SenseKeySpecific =
  | {
      /** ILLEGAL REQUEST: which byte (and bit) of the CDB or parameter list is wrong. */
      kind: 'field-pointer';
      /** true: the error is in the CDB; false: in the parameter list (data-out). */
      commandData: boolean;
      /** Byte offset of the offending field. */
      fieldPointer: number;
      /** Bit of that byte (its most significant bit), when the device reported it. */
      bitPointer?: number;
    }
  | {
      /** NO SENSE / NOT READY: progress of a long operation (format, sanitize, …). */
      kind: 'progress';
      /** Numerator of a fraction of 65536. */
      progress: number;
      /** `progress` as a percentage, 0..100. */
      percent: number;
    }
  | {
      /** RECOVERED ERROR, MEDIUM ERROR, HARDWARE ERROR: retries the device made. */
      kind: 'retry-count';
      retryCount: number;
    }
  | {
      /** COPY ABORTED: which segment descriptor / byte of the parameter list is at fault. */
      kind: 'segment-pointer';
      /** true: relative to the start of a segment descriptor; false: of the parameter list. */
      segmentDescriptor: boolean;
      fieldPointer: number;
      bitPointer?: number;
    }
  | {
      /** UNIT ATTENTION: more unit attention conditions were lost (queue overflow). */
      kind: 'unit-attention-overflow';
      overflow: boolean;
    }
  | {
      /** Any other sense key: the three raw bytes. */
      kind: 'raw';
      bytes: Buffer;
    };

/** One sense data descriptor of descriptor-format sense (SPC-6 4.4.2). */
export interface SenseDescriptor {
  /** DESCRIPTOR TYPE (00h information, 01h command-specific, 02h sense key specific, …). */
  type: number;
  /** The whole descriptor including its two header bytes. */
  bytes: Buffer;
}

/** Decoded SCSI sense data (fixed or descriptor format). */
export interface DecodedSense {
  /**
   * 'fixed' (0x70/0x71) or 'descriptor' (0x72/0x73). `'unknown'` only appears in
   * a DecodedSense built by `undecodableSense` for a CHECK CONDITION whose
   * sense bytes are missing or not in a standard format.
   */
  format: 'fixed' | 'descriptor' | 'unknown';
  /** Response code byte (0x70..0x73); for `'unknown'` the low 7 bits of byte 0, or -1 if there are no bytes. */
  responseCode: number;
  /** true for deferred errors (0x71/0x73): the error belongs to an earlier command. */
  deferred: boolean;
  /** Sense key 0..15; -1 for format `'unknown'`. */
  senseKey: number;
  senseKeyName: string;
  /** Additional sense code; 0 when the sense data is too short to hold it; -1 for `'unknown'`. */
  asc: number;
  /** Additional sense code qualifier; 0 when too short; -1 for `'unknown'`. */
  ascq: number;
  /** Human name of ASC/ASCQ, e.g. 'RESERVATIONS PREEMPTED'. */
  ascName: string;
  /** The raw sense bytes (a copy). */
  raw: Buffer;
  /** INFORMATION field, when present and marked valid (LBA, residue, …). */
  information?: bigint;
  /** COMMAND-SPECIFIC INFORMATION field, when present and non-zero. */
  commandSpecificInformation?: bigint;
  /** Decoded SENSE KEY SPECIFIC field, when present with SKSV set. */
  senseKeySpecific?: SenseKeySpecific;
  /** FIELD REPLACEABLE UNIT CODE, when present and non-zero. */
  fieldReplaceableUnitCode?: number;
  /** FILEMARK bit (fixed byte 2, or stream commands descriptor). */
  filemark?: boolean;
  /** EOM bit (fixed byte 2, or stream commands descriptor). */
  eom?: boolean;
  /** ILI (incorrect length indicator) bit. */
  ili?: boolean;
  /** Descriptor format only: every complete sense data descriptor, in order. */
  descriptors?: SenseDescriptor[];
}

/**
 * Decode sense data as returned in the SG_IO sense buffer.
 *
 * - Fixed format (response code 70h current / 71h deferred): sense key in byte 2
 *   bits 3–0, ASC byte 12, ASCQ byte 13 — ASC/ASCQ (and later fields) are only
 *   read when the ADDITIONAL SENSE LENGTH (byte 7) covers them; otherwise they
 *   are reported as 0.
 * - Descriptor format (72h / 73h): sense key byte 1, ASC byte 2, ASCQ byte 3,
 *   descriptors from byte 8 up to 8 + byte 7. A descriptor that runs past the
 *   end is ignored, as are following ones.
 *
 * Returns null when the buffer is empty, too short to hold the sense key
 * (fixed < 3 bytes, descriptor < 2 bytes), or has any other response code
 * (including 7Fh vendor-specific format).
 */
export function decodeSense(raw: Buffer): DecodedSense | null {
  if (raw.length === 0) return null;
  const responseCode = raw[0]! & 0x7f;
  switch (responseCode) {
    case 0x70:
    case 0x71:
      return raw.length >= 3 ? decodeFixed(raw, responseCode) : null;
    case 0x72:
    case 0x73:
      return raw.length >= 2 ? decodeDescriptor(raw, responseCode) : null;
    default:
      return null;
  }
}

function decodeFixed(raw: Buffer, responseCode: number): DecodedSense {
  // Bytes actually valid: 8 + ADDITIONAL SENSE LENGTH, bounded by what was written.
  const end = raw.length >= 8 ? Math.min(raw.length, 8 + raw[7]!) : raw.length;
  const key = raw[2]! & 0x0f;
  const asc = end >= 13 ? raw[12]! : 0;
  const ascq = end >= 14 ? raw[13]! : 0;
  const sense = base('fixed', raw, responseCode, key, asc, ascq);
  const b2 = raw[2]!;
  if (b2 & 0x80) sense.filemark = true;
  if (b2 & 0x40) sense.eom = true;
  if (b2 & 0x20) sense.ili = true;
  if ((raw[0]! & 0x80) !== 0 && end >= 7) sense.information = BigInt(raw.readUInt32BE(3));
  if (end >= 12) {
    const csi = raw.readUInt32BE(8);
    if (csi !== 0) sense.commandSpecificInformation = BigInt(csi);
  }
  if (end >= 15 && raw[14] !== 0) sense.fieldReplaceableUnitCode = raw[14]!;
  if (end >= 18 && (raw[15]! & 0x80) !== 0) sense.senseKeySpecific = decodeSks(key, raw.subarray(15, 18));
  return sense;
}

function decodeDescriptor(raw: Buffer, responseCode: number): DecodedSense {
  const key = raw[1]! & 0x0f;
  const asc = raw.length >= 3 ? raw[2]! : 0;
  const ascq = raw.length >= 4 ? raw[3]! : 0;
  const sense = base('descriptor', raw, responseCode, key, asc, ascq);
  const descriptors: SenseDescriptor[] = [];
  if (raw.length >= 8) {
    const end = Math.min(raw.length, 8 + raw[7]!);
    let off = 8;
    while (off + 2 <= end) {
      const type = raw[off]!;
      const len = raw[off + 1]!;
      if (off + 2 + len > end) break; // truncated descriptor
      const d = Buffer.from(raw.subarray(off, off + 2 + len));
      descriptors.push({ type, bytes: d });
      applyDescriptor(sense, key, type, d);
      off += 2 + len;
    }
  }
  sense.descriptors = descriptors;
  return sense;
}

/* Fold the well-known descriptor types into the flat fields. */
function applyDescriptor(sense: DecodedSense, key: number, type: number, d: Buffer): void {
  switch (type) {
    case 0x00: // information
      if (d.length >= 12 && (d[2]! & 0x80) !== 0) sense.information = d.readBigUInt64BE(4);
      break;
    case 0x01: // command-specific information
      if (d.length >= 12) {
        const csi = d.readBigUInt64BE(4);
        if (csi !== 0n) sense.commandSpecificInformation = csi;
      }
      break;
    case 0x02: // sense key specific
      if (d.length >= 7 && (d[4]! & 0x80) !== 0) sense.senseKeySpecific = decodeSks(key, d.subarray(4, 7));
      break;
    case 0x03: // field replaceable unit
      if (d.length >= 4 && d[3] !== 0) sense.fieldReplaceableUnitCode = d[3]!;
      break;
    case 0x04: // stream commands
      if (d.length >= 4) {
        if (d[3]! & 0x80) sense.filemark = true;
        if (d[3]! & 0x40) sense.eom = true;
        if (d[3]! & 0x20) sense.ili = true;
      }
      break;
    case 0x05: // block commands
      if (d.length >= 4 && (d[3]! & 0x20) !== 0) sense.ili = true;
      break;
    default:
      break;
  }
}

function decodeSks(key: number, b: Buffer): SenseKeySpecific {
  const value = b.readUInt16BE(1);
  switch (key) {
    case SenseKey.ILLEGAL_REQUEST: {
      const sks: SenseKeySpecific = { kind: 'field-pointer', commandData: (b[0]! & 0x40) !== 0, fieldPointer: value };
      if (b[0]! & 0x08) sks.bitPointer = b[0]! & 0x07;
      return sks;
    }
    case SenseKey.NO_SENSE:
    case SenseKey.NOT_READY:
      return { kind: 'progress', progress: value, percent: (value * 100) / 65536 };
    case SenseKey.RECOVERED_ERROR:
    case SenseKey.MEDIUM_ERROR:
    case SenseKey.HARDWARE_ERROR:
      return { kind: 'retry-count', retryCount: value };
    case SenseKey.COPY_ABORTED: {
      const sks: SenseKeySpecific = { kind: 'segment-pointer', segmentDescriptor: (b[0]! & 0x20) !== 0, fieldPointer: value };
      if (b[0]! & 0x08) sks.bitPointer = b[0]! & 0x07;
      return sks;
    }
    case SenseKey.UNIT_ATTENTION:
      return { kind: 'unit-attention-overflow', overflow: (b[0]! & 0x01) !== 0 };
    default:
      return { kind: 'raw', bytes: Buffer.from(b) };
  }
}

function base(format: 'fixed' | 'descriptor', raw: Buffer, responseCode: number, key: number, asc: number, ascq: number): DecodedSense {
  return {
    format,
    responseCode,
    deferred: responseCode === 0x71 || responseCode === 0x73,
    senseKey: key,
    senseKeyName: senseKeyName(key),
    asc,
    ascq,
    ascName: ascName(asc, ascq),
    raw: Buffer.from(raw),
  };
}

/**
 * A placeholder DecodedSense (format `'unknown'`, senseKey/asc/ascq -1) for a
 * CHECK CONDITION whose sense bytes are empty or undecodable, so that callers
 * always get a {@link DecodedSense} with the raw bytes attached.
 */
export function undecodableSense(raw: Buffer): DecodedSense {
  return {
    format: 'unknown',
    responseCode: raw.length > 0 ? raw[0]! & 0x7f : -1,
    deferred: false,
    senseKey: -1,
    senseKeyName: 'UNKNOWN',
    asc: -1,
    ascq: -1,
    ascName: raw.length > 0 ? 'UNRECOGNIZED SENSE DATA' : 'NO SENSE DATA',
    raw: Buffer.from(raw),
  };
}

/**
 * One-line rendering of decoded sense, e.g.
 * `UNIT ATTENTION: REGISTRATIONS PREEMPTED (asc 0x2a, ascq 0x05)`.
 * Deferred errors, an ILLEGAL REQUEST field pointer and progress indication
 * are appended inside the parentheses, e.g.
 * `ILLEGAL REQUEST: INVALID FIELD IN CDB (asc 0x24, ascq 0x00; CDB byte 1 bit 4)`.
 * Undecodable sense renders as `no sense data` or
 * `unrecognized sense data (3 bytes: 7f 01 02)`.
 */
export function formatSense(s: DecodedSense): string {
  if (s.format === 'unknown') {
    if (s.raw.length === 0) return 'no sense data';
    const shown = s.raw.subarray(0, 32);
    const bytes = [...shown].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    return `unrecognized sense data (${s.raw.length} bytes: ${bytes}${s.raw.length > shown.length ? ' …' : ''})`;
  }
  const extras: string[] = [];
  if (s.deferred) extras.push('deferred');
  const sks = s.senseKeySpecific;
  if (sks?.kind === 'field-pointer') {
    const where = sks.commandData ? 'CDB' : 'parameter list';
    extras.push(`${where} byte ${sks.fieldPointer}${sks.bitPointer !== undefined ? ` bit ${sks.bitPointer}` : ''}`);
  } else if (sks?.kind === 'progress') {
    extras.push(`progress ${sks.percent.toFixed(1)}%`);
  }
  const tail = extras.length > 0 ? `; ${extras.join(', ')}` : '';
  return `${s.senseKeyName}: ${s.ascName} (asc ${hex2(s.asc)}, ascq ${hex2(s.ascq)}${tail})`;
}
