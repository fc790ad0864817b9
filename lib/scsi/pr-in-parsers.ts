/**
 * Parsers for PERSISTENT RESERVE IN (0x5E) parameter data: READ KEYS,
 * READ RESERVATION, REPORT CAPABILITIES and READ FULL STATUS (SPC-4 §6.16).
 *
 * All parsers are pure. Each takes the data-in buffer and `validLength`
 * (allocation length − resid) and never reads beyond
 * `min(validLength, data.length)`: bytes past that point are stale or junk.
 * Garbage (a header shorter than required, lengths that overrun their
 * container, a key list that is not a multiple of 8, …) throws
 * {@link MalformedResponseError}; nothing else is ever thrown for any input.
 *
 * A response that did not fit the allocation is *not* an error: the list
 * results report `truncated`, and {@link needsLargerAllocation} tells the
 * caller whether (and how large) to re-issue the command — including for
 * targets such as LIO that report the truncated rather than the full length
 * in ADDITIONAL LENGTH.
 */
import { MalformedResponseError } from '../errors';
import { withHexInspect } from '../hex-inspect';
import { readKey } from './keys';
import { reservationTypeName, type ReservationTypeCode, type ReservationTypeName } from './reservation-types';
import { decodeTransportId, type TransportId } from './transport-id';

/** Largest allocation length a PR IN CDB can carry (bytes 7–8). */
export const MAX_PR_IN_ALLOCATION_LENGTH = 65535;

/** Size of the generation + additional length header of READ KEYS / READ RESERVATION / READ FULL STATUS. */
const HEADER_LENGTH = 8;
/** Size of a READ RESERVATION reservation descriptor. */
const RESERVATION_DESCRIPTOR_LENGTH = 16;
/** Fixed part of a READ FULL STATUS descriptor (the TransportID follows). */
const FULL_STATUS_DESCRIPTOR_HEADER = 24;
/**
 * Largest READ FULL STATUS descriptor a target plausibly returns: 24 fixed bytes
 * plus the longest iSCSI TransportID (4-byte header + 223-byte name + ",i,0x" +
 * 12-digit ISID + NUL, padded to a multiple of 4 = 248). Used by
 * {@link needsLargerAllocation} to decide whether a list that stopped short of the
 * allocation could have omitted a descriptor that did not fit.
 */
export const MAX_FULL_STATUS_DESCRIPTOR_LENGTH = FULL_STATUS_DESCRIPTOR_HEADER + 248;

/** Result of READ KEYS (service action 0). */
export interface ReadKeysResult {
  /** PRgeneration: bumped by the device server on every successful PR OUT that changes state. */
  generation: number;
  /** Registered reservation keys, one per registered I_T nexus (duplicates are normal). Only complete keys within the valid data. */
  keys: bigint[];
  /** ADDITIONAL LENGTH as reported: bytes of key list the device says exist (LIO: only those it returned). */
  additionalLength: number;
  /** `8 + additionalLength > validLength`: the list did not fit; `keys` holds only those that did. */
  truncated: boolean;
}

/** The reservation reported by READ RESERVATION. */
export interface Reservation {
  /** Reservation key of the holder (for all-registrants types: 0). */
  key: bigint;
  /** SCOPE (high nibble of byte 21); 0 = LU_SCOPE, the only scope SPC defines. */
  scope: number;
  /** TYPE (low nibble of byte 21), e.g. 5 = Write Exclusive – Registrants Only. */
  type: number;
  /** Kebab-case name of `type`; absent for codes SPC does not define. */
  typeName?: ReservationTypeName;
}

/** Result of READ RESERVATION (service action 1). */
export interface ReadReservationResult {
  /** PRgeneration. */
  generation: number;
  /**
   * The persistent reservation, or `null` when none is held.
   * Also `null` when fewer than 24 bytes are valid (the descriptor did not fit, and
   * `truncated` is true): never read `null` as "no reservation" without checking `truncated`.
   */
  reservation: Reservation | null;
  /** ADDITIONAL LENGTH as reported: 0 (no reservation) or 16. */
  additionalLength: number;
  /**
   * `8 + additionalLength > validLength`: re-issue with a larger allocation (24 is enough
   * unless the device reports an ADDITIONAL LENGTH above 16; its first 16 bytes are then
   * decoded when valid, so `reservation` may be set while this is true).
   */
  truncated: boolean;
}

/** Decoded REPORT CAPABILITIES (service action 2) parameter data. */
export interface ReportCapabilitiesResult {
  /** LENGTH field (bytes 0–1): length of the whole parameter data, 8 per SPC. */
  length: number;
  /** RLR_C: REPLACE LOST RESERVATION supported. */
  replaceLostReservationCapable: boolean;
  /** CRH: compatible reservation handling (SPC-2 RESERVE/RELEASE interplay per SPC-4 §5.13.3). */
  compatibleReservationHandling: boolean;
  /** SIP_C: SPEC_I_PT supported in REGISTER. */
  specifyInitiatorPortsCapable: boolean;
  /** ATP_C: ALL_TG_PT supported in REGISTER. */
  allTargetPortsCapable: boolean;
  /** PTPL_C: APTPL (persist through power loss) supported. */
  persistThroughPowerLossCapable: boolean;
  /** TMV: the type mask is valid. */
  typeMaskValid: boolean;
  /** ALLOW COMMANDS field (0–7; 5–7 reserved). */
  allowCommands: number;
  /** What {@link ReportCapabilitiesResult.allowCommands} means (SPC-4 table "ALLOW COMMANDS field"), paraphrased. */
  allowCommandsDescription: string;
  /** PTPL_A: persist through power loss is currently activated. */
  persistThroughPowerLossActivated: boolean;
  /** Reservation types the device supports, ascending; empty when TMV is 0 (the mask must then be ignored). */
  typesSupported: ReservationTypeCode[];
  /** Raw PERSISTENT RESERVATION TYPE MASK (bytes 4–5, big-endian), reported even when TMV is 0. */
  typeMask: number;
  /** Fewer bytes were valid than LENGTH says (only bytes 0–5 are decoded, so this is informational). */
  truncated: boolean;
}

/** One READ FULL STATUS descriptor: a registered I_T nexus. */
export interface FullStatusRegistration {
  /** The registration's reservation key. */
  key: bigint;
  /** ALL_TG_PT (byte 12 bit 1): registered through all target ports; `relativeTargetPortId` is then undefined by SPC. */
  allTargetPorts: boolean;
  /** R_HOLDER (byte 12 bit 0): this nexus holds the reservation. */
  reservationHolder: boolean;
  /** SCOPE (byte 13 high nibble). Meaningful only when `reservationHolder`. */
  scope: number;
  /** TYPE (byte 13 low nibble). Meaningful only when `reservationHolder`. */
  type: number;
  /** Kebab-case name of `type`; present only for a reservation holder with a defined type. */
  typeName?: ReservationTypeName;
  /** RELATIVE TARGET PORT IDENTIFIER (bytes 18–19). Meaningful only when not `allTargetPorts`. */
  relativeTargetPortId: number;
  /** The initiator port (TransportID from byte 24). */
  transportId: TransportId;
}

/** Result of READ FULL STATUS (service action 3). */
export interface ReadFullStatusResult {
  /** PRgeneration. */
  generation: number;
  /** Complete descriptors within the valid data; a descriptor cut off by the end of the valid data is dropped. */
  registrations: FullStatusRegistration[];
  /** ADDITIONAL LENGTH as reported (LIO: only the descriptors it returned). */
  additionalLength: number;
  /** `8 + additionalLength > validLength`: descriptors are missing; re-issue. */
  truncated: boolean;
}

/** Any result that {@link needsLargerAllocation} can judge. */
export type PrInListResult = ReadKeysResult | ReadReservationResult | ReadFullStatusResult;

/** Decision returned by {@link needsLargerAllocation}. */
export interface AllocationAdvice {
  /** Re-issue the command with `nextAllocationLength`. */
  retry: boolean;
  /** Allocation length for the re-issue (equals the current one when `retry` is false). */
  nextAllocationLength: number;
}

/** Bytes that may be read: min(validLength, data.length), with nonsense (negative, NaN) treated as 0. */
function usableLength(data: Buffer, validLength: number): number {
  const v = Number.isFinite(validLength) ? Math.floor(validLength) : 0;
  return Math.max(0, Math.min(v, data.length));
}

function malformed(what: string, message: string): MalformedResponseError {
  return new MalformedResponseError(`PERSISTENT RESERVE IN ${what}: ${message}`);
}

/** Reads the generation/additional-length header shared by SA 0, 1 and 3. */
function readHeader(data: Buffer, avail: number, what: string): { generation: number; additionalLength: number } {
  if (avail < HEADER_LENGTH) {
    throw malformed(what, `response has ${avail} valid byte(s); the header alone needs ${HEADER_LENGTH}`);
  }
  return { generation: data.readUInt32BE(0), additionalLength: data.readUInt32BE(4) };
}

/**
 * Parses READ KEYS (service action 0) parameter data.
 *
 * @param data        The data-in buffer (may be larger than the valid data).
 * @param validLength Allocation length − resid; bytes from here on are ignored.
 * @returns Generation, the complete keys within the valid data, the reported
 *   ADDITIONAL LENGTH and whether the list was truncated. See
 *   {@link needsLargerAllocation} for the re-issue decision.
 * @throws MalformedResponseError when fewer than 8 bytes are valid or
 *   ADDITIONAL LENGTH is not a multiple of 8.
 * @example
 * parseReadKeys(buf, 16) // { generation: 1, keys: [ 0x1a2b ], additionalLength: 8, truncated: false }
 */
export function parseReadKeys(data: Buffer, validLength: number): ReadKeysResult {
  const avail = usableLength(data, validLength);
  const { generation, additionalLength } = readHeader(data, avail, 'READ KEYS');
  if (additionalLength % 8 !== 0) {
    throw malformed('READ KEYS', `ADDITIONAL LENGTH ${additionalLength} is not a multiple of 8`);
  }
  const listBytes = Math.min(additionalLength, avail - HEADER_LENGTH);
  const count = Math.floor(listBytes / 8);
  const keys: bigint[] = [];
  for (let i = 0; i < count; i++) keys.push(readKey(data, HEADER_LENGTH + i * 8));
  return withHexInspect({
    generation,
    keys: withHexInspect(keys),
    additionalLength,
    truncated: HEADER_LENGTH + additionalLength > avail,
  });
}

/**
 * Parses READ RESERVATION (service action 1) parameter data.
 *
 * ADDITIONAL LENGTH 0 means no reservation; 16 (SPC's only other value) carries
 * the descriptor: key at bytes 8–15, scope/type at byte 21. Longer values are
 * tolerated (the first 16 bytes are decoded).
 *
 * @param data        The data-in buffer.
 * @param validLength Allocation length − resid.
 * @returns Generation and the reservation (or `null`). When fewer than 24 bytes are
 *   valid the descriptor did not fit: `reservation` is `null` and `truncated` true — re-issue.
 * @throws MalformedResponseError when fewer than 8 bytes are valid or
 *   ADDITIONAL LENGTH is 1–15.
 * @example
 * parseReadReservation(buf, 24).reservation // { key: 0x1a2b, scope: 0, type: 5, typeName: 'write-exclusive-registrants-only' }
 */
export function parseReadReservation(data: Buffer, validLength: number): ReadReservationResult {
  const avail = usableLength(data, validLength);
  const { generation, additionalLength } = readHeader(data, avail, 'READ RESERVATION');
  if (additionalLength !== 0 && additionalLength < RESERVATION_DESCRIPTOR_LENGTH) {
    throw malformed('READ RESERVATION', `ADDITIONAL LENGTH ${additionalLength} is neither 0 nor at least 16`);
  }
  const truncated = HEADER_LENGTH + additionalLength > avail;
  let reservation: Reservation | null = null;
  if (additionalLength !== 0 && avail >= HEADER_LENGTH + RESERVATION_DESCRIPTOR_LENGTH) {
    const scopeType = data[21];
    const type = scopeType & 0x0f;
    const typeName = reservationTypeName(type);
    reservation = withHexInspect<Reservation>({
      key: readKey(data, 8),
      scope: scopeType >> 4,
      type,
      ...(typeName !== undefined ? { typeName } : {}),
    });
  }
  return withHexInspect({ generation, reservation, additionalLength, truncated });
}

const ALLOW_COMMANDS_DESCRIPTIONS: readonly string[] = [
  'no information about which commands are allowed through which reservation types',
  'TEST UNIT READY allowed through Write Exclusive and Exclusive Access; no information about the other listed commands under Write Exclusive',
  'TEST UNIT READY allowed through Write Exclusive and Exclusive Access; MODE SENSE, READ ATTRIBUTE, READ BUFFER, RECEIVE DIAGNOSTIC RESULTS, REPORT SUPPORTED OPERATION CODES, REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS and READ DEFECT DATA not allowed through Write Exclusive; RECEIVE COPY RESULTS not allowed through either',
  'TEST UNIT READY allowed through Write Exclusive and Exclusive Access; MODE SENSE, READ ATTRIBUTE, READ BUFFER, RECEIVE DIAGNOSTIC RESULTS, REPORT SUPPORTED OPERATION CODES, REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS and READ DEFECT DATA allowed through Write Exclusive; RECEIVE COPY RESULTS not allowed through either',
  'TEST UNIT READY and RECEIVE COPY RESULTS allowed through Write Exclusive and Exclusive Access; MODE SENSE, READ ATTRIBUTE, READ BUFFER, RECEIVE DIAGNOSTIC RESULTS, REPORT SUPPORTED OPERATION CODES, REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS and READ DEFECT DATA allowed through Write Exclusive',
  'reserved (5)',
  'reserved (6)',
  'reserved (7)',
];

/**
 * Human description of an ALLOW COMMANDS value (REPORT CAPABILITIES byte 3 bits 6–4),
 * paraphrasing SPC-4's table. Values 5–7 are reserved.
 *
 * @param code ALLOW COMMANDS value, 0–7.
 * @returns The description; `'invalid (n)'` outside 0–7.
 */
export function describeAllowCommands(code: number): string {
  return Number.isInteger(code) && code >= 0 && code <= 7 ? ALLOW_COMMANDS_DESCRIPTIONS[code] : `invalid (${String(code)})`;
}

/** PERSISTENT RESERVATION TYPE MASK bits (bytes 4–5 read as one big-endian 16-bit value) per type code, ascending. */
const TYPE_MASK_BITS: ReadonlyArray<readonly [mask: number, code: ReservationTypeCode]> = [
  [0x0200, 1], // WR_EX    byte 4 bit 1
  [0x0800, 3], // EX_AC    byte 4 bit 3
  [0x2000, 5], // WR_EX_RO byte 4 bit 5
  [0x4000, 6], // EX_AC_RO byte 4 bit 6
  [0x8000, 7], // WR_EX_AR byte 4 bit 7
  [0x0001, 8], // EX_AC_AR byte 5 bit 0
];

/** Bytes of REPORT CAPABILITIES data that must be valid: LENGTH, two flag bytes and the type mask. */
const CAPABILITIES_MIN_LENGTH = 6;

/**
 * Parses REPORT CAPABILITIES (service action 2) parameter data (8 bytes per SPC).
 *
 * @param data        The data-in buffer.
 * @param validLength Allocation length − resid.
 * @returns Every capability bit, ALLOW COMMANDS with a description, PTPL_A and
 *   the supported reservation types (only when TMV is set).
 * @throws MalformedResponseError when fewer than 6 bytes are valid or the LENGTH
 *   field is below 6.
 * @example
 * parseReportCapabilities(buf, 8).typesSupported // [ 1, 3, 5, 6, 7, 8 ]
 */
export function parseReportCapabilities(data: Buffer, validLength: number): ReportCapabilitiesResult {
  const avail = usableLength(data, validLength);
  if (avail < CAPABILITIES_MIN_LENGTH) {
    throw malformed('REPORT CAPABILITIES', `response has ${avail} valid byte(s); at least ${CAPABILITIES_MIN_LENGTH} are needed`);
  }
  const length = data.readUInt16BE(0);
  if (length < CAPABILITIES_MIN_LENGTH) {
    throw malformed('REPORT CAPABILITIES', `LENGTH ${length} is too small (expected 8)`);
  }
  const b2 = data[2];
  const b3 = data[3];
  const typeMask = data.readUInt16BE(4);
  const typeMaskValid = (b3 & 0x80) !== 0;
  const allowCommands = (b3 >> 4) & 0x07;
  const typesSupported: ReservationTypeCode[] = typeMaskValid
    ? TYPE_MASK_BITS.filter(([bit]) => (typeMask & bit) !== 0).map(([, code]) => code)
    : [];
  return withHexInspect({
    length,
    replaceLostReservationCapable: (b2 & 0x80) !== 0,
    compatibleReservationHandling: (b2 & 0x10) !== 0,
    specifyInitiatorPortsCapable: (b2 & 0x08) !== 0,
    allTargetPortsCapable: (b2 & 0x04) !== 0,
    persistThroughPowerLossCapable: (b2 & 0x01) !== 0,
    typeMaskValid,
    allowCommands,
    allowCommandsDescription: describeAllowCommands(allowCommands),
    persistThroughPowerLossActivated: (b3 & 0x01) !== 0,
    typesSupported,
    typeMask,
    truncated: length > avail,
  });
}

/**
 * Parses READ FULL STATUS (service action 3) parameter data.
 *
 * Descriptors: key 0–7, byte 12 ALL_TG_PT (bit 1) / R_HOLDER (bit 0), byte 13
 * scope/type, relative target port 18–19, ADDITIONAL DESCRIPTOR LENGTH 20–23,
 * TransportID from 24; the next descriptor starts 24 + that length later.
 * A descriptor cut off by the end of the valid data is dropped and `truncated`
 * is set (not an error).
 *
 * @param data        The data-in buffer.
 * @param validLength Allocation length − resid.
 * @returns Generation, the complete registrations, ADDITIONAL LENGTH and `truncated`.
 * @throws MalformedResponseError when fewer than 8 bytes are valid, a descriptor
 *   (fixed part or TransportID) extends beyond ADDITIONAL LENGTH, or a TransportID
 *   does not decode.
 */
export function parseReadFullStatus(data: Buffer, validLength: number): ReadFullStatusResult {
  const what = 'READ FULL STATUS';
  const avail = usableLength(data, validLength);
  const { generation, additionalLength } = readHeader(data, avail, what);
  const end = HEADER_LENGTH + additionalLength;
  const registrations: FullStatusRegistration[] = [];
  let off = HEADER_LENGTH;
  while (off < end) {
    if (off + FULL_STATUS_DESCRIPTOR_HEADER > end) {
      throw malformed(what, `${end - off} byte(s) left at offset ${off} within ADDITIONAL LENGTH ${additionalLength}; a descriptor needs ${FULL_STATUS_DESCRIPTOR_HEADER}`);
    }
    if (off + FULL_STATUS_DESCRIPTOR_HEADER > avail) break; // cut off: truncated
    const descriptorLength = data.readUInt32BE(off + 20);
    const next = off + FULL_STATUS_DESCRIPTOR_HEADER + descriptorLength;
    if (next > end) {
      throw malformed(what, `descriptor at offset ${off} has ADDITIONAL DESCRIPTOR LENGTH ${descriptorLength}, beyond ADDITIONAL LENGTH ${additionalLength}`);
    }
    if (next > avail) break; // cut off: truncated
    registrations.push(parseFullStatusDescriptor(data, off, descriptorLength));
    off = next;
  }
  return withHexInspect({
    generation,
    registrations: withHexInspect(registrations),
    additionalLength,
    truncated: end > avail,
  });
}

function parseFullStatusDescriptor(data: Buffer, off: number, descriptorLength: number): FullStatusRegistration {
  const flags = data[off + 12];
  const scopeType = data[off + 13];
  const reservationHolder = (flags & 0x01) !== 0;
  const type = scopeType & 0x0f;
  const typeName = reservationHolder ? reservationTypeName(type) : undefined;
  const tidStart = off + FULL_STATUS_DESCRIPTOR_HEADER;
  const transportId = decodeDescriptorTransportId(data.subarray(tidStart, tidStart + descriptorLength), off);
  return withHexInspect<FullStatusRegistration>({
    key: readKey(data, off),
    allTargetPorts: (flags & 0x02) !== 0,
    reservationHolder,
    scope: scopeType >> 4,
    type,
    ...(typeName !== undefined ? { typeName } : {}),
    relativeTargetPortId: data.readUInt16BE(off + 18),
    transportId,
  });
}

/** Decodes a descriptor's TransportID from a slice bounded by its ADDITIONAL DESCRIPTOR LENGTH; any failure becomes MalformedResponseError. */
function decodeDescriptorTransportId(slice: Buffer, descriptorOffset: number): TransportId {
  try {
    return decodeTransportId(slice, 0).id;
  } catch (err) {
    if (err instanceof MalformedResponseError) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw malformed('READ FULL STATUS', `TransportID of descriptor at offset ${descriptorOffset} does not decode: ${detail}`);
  }
}

/**
 * Decides whether a READ KEYS / READ RESERVATION / READ FULL STATUS command
 * should be re-issued with a larger allocation length.
 *
 * Re-issue when:
 * - the result is `truncated` (ADDITIONAL LENGTH says more data exists than was valid), or
 * - the list ends so close to `allocationLength` that the next entry could not
 *   have fit (less than 8 bytes left for READ KEYS, less than
 *   {@link MAX_FULL_STATUS_DESCRIPTOR_LENGTH} for READ FULL STATUS). LIO stops at
 *   the first entry that does not fit and reports only the returned bytes in
 *   ADDITIONAL LENGTH, so a full-looking response may be silently short. This
 *   includes the case where the valid data exactly filled the allocation.
 *   READ RESERVATION's descriptor has a fixed size, so only `truncated` applies.
 *
 * The next allocation is `min(65535, max(8 + additionalLength, 2 × allocationLength))`.
 * Nothing is suggested once the allocation is already 65535 (the maximum the CDB
 * can carry); the caller then keeps the (possibly truncated) result.
 *
 * @param result           A result of {@link parseReadKeys}, {@link parseReadReservation} or {@link parseReadFullStatus}.
 * @param allocationLength The allocation length the command was issued with.
 * @returns `{ retry, nextAllocationLength }`.
 * @example
 * // LIO, 3 registrants, allocation 24: two keys fit, ADDITIONAL LENGTH 16
 * needsLargerAllocation(parseReadKeys(buf, 24), 24) // { retry: true, nextAllocationLength: 48 }
 */
export function needsLargerAllocation(result: PrInListResult, allocationLength: number): AllocationAdvice {
  const current = Number.isFinite(allocationLength) ? Math.max(0, Math.floor(allocationLength)) : 0;
  const used = HEADER_LENGTH + result.additionalLength;
  let suspicious = false;
  if ('keys' in result) suspicious = current - used < 8;
  else if ('registrations' in result) suspicious = current - used < MAX_FULL_STATUS_DESCRIPTOR_LENGTH;
  const next = Math.min(MAX_PR_IN_ALLOCATION_LENGTH, Math.max(used, current * 2));
  if ((result.truncated || suspicious) && next > current) {
    return { retry: true, nextAllocationLength: next };
  }
  return { retry: false, nextAllocationLength: current };
}
