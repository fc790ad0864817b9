/**
 * SCSI TransportIDs (SPC-4 §7.6.4): how persistent reservations name an
 * initiator port — in PR OUT REGISTER (SPEC_I_PT) and REGISTER AND MOVE
 * parameter lists, and in READ FULL STATUS descriptors.
 *
 * Byte 0 is `format << 6 | protocol identifier`. Every protocol uses a fixed
 * 24-byte TransportID except iSCSI, which carries a NUL-terminated UTF-8 name
 * (format 0) or `name,i,0x<ISID>` (format 1) after a 2-byte additional length.
 */
import { MalformedResponseError } from '../errors';
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';
import { hex2 } from './hex';

/** SCSI protocol identifiers (SPC-4 Table 362) used in byte 0 bits 3–0 of a TransportID. */
export const ProtocolId = {
  FCP: 0x0,
  SPI: 0x1,
  SSA: 0x2,
  SBP: 0x3,
  SRP: 0x4,
  ISCSI: 0x5,
  SAS: 0x6,
  ADT: 0x7,
  ATA: 0x8,
  UAS: 0x9,
  SOP: 0xa,
  PCIE: 0xb,
  NONE: 0xf,
} as const;

/** Fibre Channel (FCP-4) TransportID: the initiator's 8-byte N_Port_Name. */
export interface FcpTransportId {
  protocol: 'fcp';
  /** N_Port_Name (WWPN), 64 bits. */
  nPortName: bigint;
}

/** Parallel SCSI TransportID. */
export interface SpiTransportId {
  protocol: 'spi';
  /** SCSI address of the initiator, 0–65535. */
  scsiAddress: number;
  /** Relative port identifier of the target port, 0–65535. */
  relativePortId: number;
}

/** IEEE 1394 (SBP-3) TransportID: the initiator's EUI-64. */
export interface SbpTransportId {
  protocol: 'sbp';
  /** EUI-64 name, 64 bits. */
  eui64: bigint;
}

/** SCSI RDMA Protocol TransportID. */
export interface SrpTransportId {
  protocol: 'srp';
  /** 16-byte initiator port identifier. */
  initiatorPortId: Buffer;
}

/** iSCSI TransportID: format 0 (name only) or format 1 (name plus ISID). */
export interface IscsiTransportId {
  protocol: 'iscsi';
  /** iSCSI name of the initiator (e.g. `iqn.1994-05.com.redhat:node1`), at most 223 UTF-8 bytes. */
  name: string;
  /**
   * Initiator session ID in hex without `0x` (normally 12 digits, 1–12 accepted,
   * stored lowercase). Present ⇒ format 1 (`name,i,0x<ISID>`), absent ⇒ format 0.
   */
  isid?: string;
}

/** SAS TransportID: the initiator port's SAS address. */
export interface SasTransportId {
  protocol: 'sas';
  /** SAS address, 64 bits. */
  sasAddress: bigint;
}

/** SCSI over PCI Express TransportID. */
export interface SopTransportId {
  protocol: 'sop';
  /** Routing ID, 0–65535. */
  routingId: number;
}

/**
 * A TransportID this library does not interpret (other protocol identifiers,
 * or a format code other than the ones listed above). `raw` is the whole
 * TransportID including byte 0.
 */
export interface UnknownTransportId {
  protocol: 'unknown';
  /** Protocol identifier, 0–15. */
  protocolId: number;
  /** Format code, 0–3. */
  format: number;
  /** The complete encoded TransportID (≥ 24 bytes, multiple of 4, byte 0 matching protocolId/format). */
  raw: Buffer;
}

/**
 * Not a SCSI TransportID: how an NVMe namespace's Reservation Report names a
 * registrant (`NvmeDevice.readFullStatus`): its 128-bit Host Identifier and the
 * controller ID (0xffff under the dynamic controller model). Never encoded.
 */
export interface NvmeHostTransportId {
  protocol: 'nvme';
  /** Host Identifier, lowercase hex (32 digits from the extended data structure). */
  hostId: string;
  /** Controller ID (CNTLID). */
  controllerId: number;
}

/** A decoded TransportID; discriminated on `protocol`. */
export type TransportId =
  | NvmeHostTransportId
  | FcpTransportId
  | SpiTransportId
  | SbpTransportId
  | SrpTransportId
  | IscsiTransportId
  | SasTransportId
  | SopTransportId
  | UnknownTransportId;

/** Fixed TransportID length for every protocol but iSCSI. */
export const FIXED_LENGTH = 24;
/** iSCSI names are at most 223 bytes (RFC 3720 §3.2.6.1). */
const MAX_ISCSI_NAME_BYTES = 223;
const MAX_U64 = 0xffff_ffff_ffff_ffffn;
const ISID_RE = /^[0-9a-fA-F]{1,12}$/;
export const ISID_SEPARATOR = ',i,0x';

/**
 * Index in `text` of the last `,i,0x` in any letter case, or -1. Only ASCII letters are
 * folded: `toLowerCase()` would lengthen a name holding `İ` (U+0130 becomes two UTF-16
 * units) and shift the index off the separator.
 * @internal (transport-id-text.ts)
 */
export function lastIsidSeparator(text: string): number {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase()).lastIndexOf(ISID_SEPARATOR);
}

const ALLOWED_FIELDS: Readonly<Record<TransportId['protocol'], readonly string[]>> = {
  nvme: ['hostId', 'controllerId'],
  fcp: ['nPortName'],
  spi: ['scsiAddress', 'relativePortId'],
  sbp: ['eui64'],
  srp: ['initiatorPortId'],
  iscsi: ['name', 'isid'],
  sas: ['sasAddress'],
  sop: ['routingId'],
  unknown: ['protocolId', 'format', 'raw'],
};

// ---------------------------------------------------------------------------
// encode

/** @internal (transport-id-text.ts) */
export function invalid(message: string): ArgumentRangeError {
  return new ArgumentRangeError('ERR_INVALID_TRANSPORT_ID', message);
}

/** @internal (transport-id-text.ts) */
export function invalidType(message: string): ArgumentTypeError {
  return new ArgumentTypeError('ERR_INVALID_TRANSPORT_ID', message);
}

function checkU64(value: unknown, proto: string, field: string): bigint {
  if (typeof value !== 'bigint') {
    throw invalidType(`${proto} TransportID ${field} must be a bigint; received ${typeOf(value)}`);
  }
  if (value < 0n || value > MAX_U64) {
    throw invalid(`${proto} TransportID ${field} ${value}n is out of range; expected 0–2^64-1`);
  }
  return value;
}

function checkU16(value: unknown, proto: string, field: string): number {
  if (typeof value !== 'number') {
    throw invalidType(`${proto} TransportID ${field} must be an integer 0–65535; received ${typeOf(value)}`);
  }
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw invalid(`${proto} TransportID ${field} ${String(value)} is out of range; expected an integer 0–65535`);
  }
  return value;
}

/**
 * Validates an iSCSI name for encoding: non-empty, ≤ 223 UTF-8 bytes, and free of
 * whitespace, control characters and commas (a comma would make `,i,0x` ambiguous).
 */
/** @internal (transport-id-text.ts) */
export function checkIscsiName(name: unknown): string {
  if (typeof name !== 'string') {
    throw invalidType(`iscsi TransportID name must be a string; received ${typeOf(name)}`);
  }
  if (name.length === 0) throw invalid('iscsi TransportID name is empty');
  if (/[\s,\u0000-\u001f\u007f]/.test(name)) {
    throw invalid(`iscsi TransportID name ${quote(name)} contains whitespace, a control character or a comma`);
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_ISCSI_NAME_BYTES) {
    throw invalid(`iscsi TransportID name is ${bytes} bytes; iSCSI names are at most ${MAX_ISCSI_NAME_BYTES} bytes`);
  }
  return name;
}

/** @internal (transport-id-text.ts) */
export function checkIsid(isid: unknown): string {
  if (typeof isid !== 'string') {
    throw invalidType(`iscsi TransportID isid must be a hex string; received ${typeOf(isid)}`);
  }
  if (!ISID_RE.test(isid)) {
    throw invalid(`iscsi TransportID isid ${quote(isid)} is not 1–12 hex digits (without 0x)`);
  }
  return isid.toLowerCase();
}

function encodeIscsi(name: string, isid: string | undefined): Buffer {
  const text = isid === undefined ? name : name + ISID_SEPARATOR + isid;
  const textBytes = Buffer.from(text, 'utf8');
  // At least one NUL, padded to a multiple of 4, additional length ≥ 20.
  const additional = Math.max(20, (textBytes.length + 1 + 3) & ~3);
  const buf = Buffer.alloc(4 + additional);
  buf[0] = ((isid === undefined ? 0 : 1) << 6) | ProtocolId.ISCSI;
  buf.writeUInt16BE(additional, 2);
  textBytes.copy(buf, 4);
  return buf;
}

/**
 * Encodes (and fully validates) a TransportID.
 *
 * A `Buffer` is checked to hold exactly one well-formed TransportID and returned
 * as a copy. iSCSI names are NUL-terminated and padded to a multiple of 4 bytes
 * with a total of at least 24 bytes; all other protocols encode to 24 bytes.
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_TRANSPORT_ID`).
 *
 * @example
 * encodeTransportId({ protocol: 'sas', sasAddress: 0x5000c50005b32001n }) // 24 bytes, 06 00 00 00 50 00 c5 …
 */
export function encodeTransportId(id: TransportId | Buffer): Buffer {
  if (id instanceof Uint8Array) {
    const buf = Buffer.from(id.buffer, id.byteOffset, id.byteLength);
    const r = tryDecode(buf, 0);
    if (typeof r === 'string') throw invalid(`TransportID buffer is not a valid TransportID: ${r}`);
    if (r.length !== buf.length) {
      throw invalid(`TransportID buffer holds ${buf.length} bytes but the TransportID in it is ${r.length} bytes`);
    }
    return Buffer.from(buf);
  }
  if (typeof id !== 'object' || id === null) {
    throw invalidType(`TransportID must be an object with a protocol field or a Buffer; received ${typeOf(id)}`);
  }
  const protocol = (id as { protocol?: unknown }).protocol;
  if (protocol === 'nvme') throw invalid('an NVMe host (protocol nvme) is not a SCSI TransportID and has no encoding');
  if (typeof protocol !== 'string' || !Object.prototype.hasOwnProperty.call(ALLOWED_FIELDS, protocol)) {
    throw invalid(
      `TransportID protocol ${typeof protocol === 'string' ? quote(protocol) : typeOf(protocol)} is not one of ` +
        Object.keys(ALLOWED_FIELDS).join(', '),
    );
  }
  const allowed = ALLOWED_FIELDS[protocol as TransportId['protocol']];
  for (const k of Object.keys(id)) {
    if (k !== 'protocol' && !allowed.includes(k) && (id as unknown as Record<string, unknown>)[k] !== undefined) {
      throw invalid(`${protocol} TransportID has unknown field ${quote(k)}; accepted fields: ${allowed.join(', ')}`);
    }
  }
  const t = id as TransportId;
  const buf = Buffer.alloc(FIXED_LENGTH);
  switch (t.protocol) {
    case 'fcp':
      buf[0] = ProtocolId.FCP;
      buf.writeBigUInt64BE(checkU64(t.nPortName, 'fcp', 'nPortName'), 8);
      return buf;
    case 'spi':
      buf[0] = ProtocolId.SPI;
      buf.writeUInt16BE(checkU16(t.scsiAddress, 'spi', 'scsiAddress'), 2);
      buf.writeUInt16BE(checkU16(t.relativePortId, 'spi', 'relativePortId'), 6);
      return buf;
    case 'sbp':
      buf[0] = ProtocolId.SBP;
      buf.writeBigUInt64BE(checkU64(t.eui64, 'sbp', 'eui64'), 8);
      return buf;
    case 'srp': {
      const port: unknown = t.initiatorPortId;
      if (!(port instanceof Uint8Array)) {
        throw invalidType(`srp TransportID initiatorPortId must be a 16-byte Buffer; received ${typeOf(port)}`);
      }
      if (port.length !== 16) {
        throw invalid(`srp TransportID initiatorPortId has ${port.length} bytes; expected exactly 16`);
      }
      buf[0] = ProtocolId.SRP;
      buf.set(port, 8);
      return buf;
    }
    case 'iscsi': {
      const name = checkIscsiName(t.name);
      const isid = t.isid === undefined ? undefined : checkIsid(t.isid);
      return encodeIscsi(name, isid);
    }
    case 'sas':
      buf[0] = ProtocolId.SAS;
      buf.writeBigUInt64BE(checkU64(t.sasAddress, 'sas', 'sasAddress'), 4);
      return buf;
    case 'nvme':
      throw invalid('an NVMe host (protocol nvme) is not a SCSI TransportID and has no encoding');
    case 'sop':
      buf[0] = ProtocolId.SOP;
      buf.writeUInt16BE(checkU16(t.routingId, 'sop', 'routingId'), 2);
      return buf;
    case 'unknown': {
      const protocolId: unknown = t.protocolId;
      const format: unknown = t.format;
      const raw: unknown = t.raw;
      if (typeof protocolId !== 'number' || !Number.isInteger(protocolId) || protocolId < 0 || protocolId > 15) {
        throw invalid(`unknown TransportID protocolId ${String(protocolId)} is not an integer 0–15`);
      }
      if (typeof format !== 'number' || !Number.isInteger(format) || format < 0 || format > 3) {
        throw invalid(`unknown TransportID format ${String(format)} is not an integer 0–3`);
      }
      if (!(raw instanceof Uint8Array)) {
        throw invalidType(`unknown TransportID raw must be a Buffer; received ${typeOf(raw)}`);
      }
      if (raw.length < FIXED_LENGTH || raw.length % 4 !== 0) {
        throw invalid(`unknown TransportID raw has ${raw.length} bytes; expected at least 24 and a multiple of 4`);
      }
      if ((raw[0]! & 0x0f) !== protocolId || raw[0]! >> 6 !== format) {
        throw invalid(
          `unknown TransportID raw byte 0 is ${hex2(raw[0]!)} but protocolId ${protocolId} / format ${format} ` +
            `require ${hex2((format << 6) | protocolId)}`,
        );
      }
      if (protocolId === ProtocolId.ISCSI) {
        const rawBuf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        if (4 + rawBuf.readUInt16BE(2) !== raw.length) {
          throw invalid(`unknown iSCSI TransportID raw has ${raw.length} bytes but its additional length says ${4 + rawBuf.readUInt16BE(2)}`);
        }
      }
      return Buffer.from(raw);
    }
  }
}

// ---------------------------------------------------------------------------
// decode

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes one TransportID or returns a reason string (never reads outside `buf`). */
/** @internal (transport-id-text.ts) */
export function tryDecode(buf: Buffer, offset: number): { id: TransportId; length: number } | string {
  const remaining = buf.length - offset;
  if (remaining < 4) return `truncated: ${remaining} bytes at offset ${offset}, need at least 4`;
  const b0 = buf[offset]!;
  const protocolId = b0 & 0x0f;
  const format = b0 >> 6;

  if (protocolId === ProtocolId.ISCSI) {
    const additional = buf.readUInt16BE(offset + 2);
    const total = 4 + additional;
    if (total > remaining) {
      return `iSCSI TransportID at offset ${offset} claims ${total} bytes but only ${remaining} are present`;
    }
    if (format > 1) {
      return { id: { protocol: 'unknown', protocolId, format, raw: Buffer.from(buf.subarray(offset, offset + total)) }, length: total };
    }
    const field = buf.subarray(offset + 4, offset + total);
    const nul = field.indexOf(0);
    let text: string;
    try {
      text = utf8.decode(nul === -1 ? field : field.subarray(0, nul));
    } catch {
      return `iSCSI TransportID at offset ${offset} is not valid UTF-8`;
    }
    if (text.length === 0) return `iSCSI TransportID at offset ${offset} has an empty name`;
    if (/[\u0000-\u001f\u007f]/.test(text)) return `iSCSI TransportID at offset ${offset} contains control characters`;
    if (format === 0) return { id: { protocol: 'iscsi', name: text }, length: total };
    const sep = lastIsidSeparator(text);
    if (sep <= 0) return `iSCSI TransportID format 1 at offset ${offset} lacks the ",i,0x" ISID separator or a name`;
    const isid = text.slice(sep + ISID_SEPARATOR.length);
    if (!ISID_RE.test(isid)) return `iSCSI TransportID at offset ${offset} has ISID ${quote(isid)}, not 1–12 hex digits`;
    return { id: { protocol: 'iscsi', name: text.slice(0, sep), isid: isid.toLowerCase() }, length: total };
  }

  if (remaining < FIXED_LENGTH) {
    return `truncated: ${remaining} bytes at offset ${offset}, a TransportID of protocol ${protocolId} is ${FIXED_LENGTH} bytes`;
  }
  const length = FIXED_LENGTH;
  if (format === 0) {
    switch (protocolId) {
      case ProtocolId.FCP:
        return { id: { protocol: 'fcp', nPortName: buf.readBigUInt64BE(offset + 8) }, length };
      case ProtocolId.SPI:
        return {
          id: { protocol: 'spi', scsiAddress: buf.readUInt16BE(offset + 2), relativePortId: buf.readUInt16BE(offset + 6) },
          length,
        };
      case ProtocolId.SBP:
        return { id: { protocol: 'sbp', eui64: buf.readBigUInt64BE(offset + 8) }, length };
      case ProtocolId.SRP:
        return { id: { protocol: 'srp', initiatorPortId: Buffer.from(buf.subarray(offset + 8, offset + 24)) }, length };
      case ProtocolId.SAS:
        return { id: { protocol: 'sas', sasAddress: buf.readBigUInt64BE(offset + 4) }, length };
      case ProtocolId.SOP:
        return { id: { protocol: 'sop', routingId: buf.readUInt16BE(offset + 2) }, length };
      default:
        break;
    }
  }
  return { id: { protocol: 'unknown', protocolId, format, raw: Buffer.from(buf.subarray(offset, offset + length)) }, length };
}

/**
 * Decodes one TransportID from `buf` at `offset` (as found in READ FULL STATUS
 * descriptors). Never reads outside `buf`. Protocols or format codes this
 * library does not interpret decode as `{ protocol: 'unknown', … }`.
 *
 * Decoding is slightly more tolerant than encoding: an iSCSI additional length
 * below 20 or not a multiple of 4, and a missing NUL terminator, are accepted.
 *
 * @returns The TransportID and the number of bytes it occupies.
 * @throws MalformedResponseError for truncated or garbled data.
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_TRANSPORT_ID`) when
 *         `buf` is not a Buffer or `offset` is not an integer within it.
 */
export function decodeTransportId(buf: Buffer, offset = 0): { id: TransportId; length: number } {
  if (!Buffer.isBuffer(buf)) throw invalidType(`decodeTransportId needs a Buffer; received ${typeOf(buf)}`);
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > buf.length) {
    throw invalid(`decodeTransportId offset ${String(offset)} is not an integer 0–${buf.length}`);
  }
  const r = tryDecode(buf, offset);
  if (typeof r === 'string') throw new MalformedResponseError(`Malformed TransportID: ${r}`);
  return r;
}

// ---------------------------------------------------------------------------

/** `s` quoted for a message, cut at 60 characters. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s);
}

/** What `v` is, for a message. */
export function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return `a ${v.length}-byte buffer`;
  return typeof v === 'object' ? 'an object' : `type ${typeof v}`;
}
