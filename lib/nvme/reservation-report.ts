/**
 * Parser of the data a Reservation Report command returns: the Reservation
 * Status data structure (regular, with 64-bit host identifiers) or the
 * Reservation Status Extended data structure (128-bit host identifiers,
 * requested with CDW11 EDS = 1). All multi-byte fields are little-endian.
 *
 * Regular: header 24 bytes — GEN u32 @0, RTYPE u8 @4, REGCTL u16 @5, PTPLS @9
 * (bit 0) — then 24-byte Registered Controller data structures: CNTLID u16 @0,
 * RCSTS @2 (bit 0: holds the reservation), HOSTID 8 bytes @8, RKEY u64 @16.
 * Extended: header 64 bytes (same first 24), then 64-byte entries: CNTLID @0,
 * RCSTS @2, RKEY u64 @8, HOSTID 16 bytes @16.
 *
 * REGCTL counts every registered controller even when the allocation was too
 * small to hold them all: then the result says `truncated` and the caller
 * re-issues with `reservationStatusLength` bytes.
 */
import { MalformedResponseError } from '../errors';
import { ArgumentRangeError, ArgumentTypeError, describeValue } from '../invalid-argument';
import type { ReservationTypeName } from '../scsi/reservation-types';
import { nvmeRtypeName } from './reservation-type-codes';

/** Header and entry sizes of the two formats. */
export const ReservationStatusLayout = {
  REGULAR_HEADER: 24,
  REGULAR_ENTRY: 24,
  EXTENDED_HEADER: 64,
  EXTENDED_ENTRY: 64,
} as const;

/** Most controllers REGCTL can count (u16). */
export const MAX_REGISTERED_CONTROLLERS = 0xffff;

/** One registered controller (registrant). */
export interface NvmeRegistrant {
  /** CNTLID; 0xffff when the subsystem uses the dynamic controller model (e.g. Linux nvmet). */
  controllerId: number;
  /** RCSTS bit 0: this controller holds the reservation (every registrant does for the all-registrants types). */
  holdsReservation: boolean;
  /** Host identifier, lowercase hex of its bytes in wire order: 16 digits (regular) or 32 (extended). */
  hostId: string;
  /** Registration key (RKEY). */
  key: bigint;
}

/** A parsed Reservation Status data structure. */
export interface NvmeReservationStatus {
  /** Generation counter (GEN): advances on every register, preempt and clear. */
  generation: number;
  /** Reservation type held, or `undefined` when no reservation is held (RTYPE 0). */
  type: ReservationTypeName | undefined;
  /** Raw RTYPE (0–6). */
  rtype: number;
  /** The registrants that fit in the data, in the controller's order. */
  registrants: NvmeRegistrant[];
  /** REGCTL: how many controllers are registered, whether or not they all fit. */
  registeredControllers: number;
  /** PTPLS bit 0: reservations persist through a power loss. */
  ptplState: boolean;
  /** More controllers are registered than the data holds: re-issue with `reservationStatusLength`. */
  truncated: boolean;
  /** Which format was parsed. */
  extended: boolean;
}

/**
 * Bytes needed to receive the status with `controllers` registered controllers.
 *
 * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) when `controllers` is not an integer 0–65535.
 *
 * @example reservationStatusLength(2, true) // 192
 */
export function reservationStatusLength(controllers: number, extended: boolean): number {
  if (typeof controllers !== 'number' || !Number.isInteger(controllers) || controllers < 0 || controllers > MAX_REGISTERED_CONTROLLERS) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `controllers must be an integer 0–${MAX_REGISTERED_CONTROLLERS}; received ${describeValue(controllers)}`);
  }
  const L = ReservationStatusLayout;
  return extended ? L.EXTENDED_HEADER + controllers * L.EXTENDED_ENTRY : L.REGULAR_HEADER + controllers * L.REGULAR_ENTRY;
}

/**
 * Parses Reservation Report data.
 *
 * @param data     The data-in buffer.
 * @param extended Whether the command asked for the extended structure (CDW11 EDS = 1).
 * @param validLength Bytes of `data` the controller wrote, when known to be fewer than `data.length`.
 * @throws MalformedResponseError when the data is shorter than the header or RTYPE is a reserved value.
 */
export function parseReservationStatus(data: Buffer, extended: boolean, validLength: number = data.length): NvmeReservationStatus {
  if (!Buffer.isBuffer(data)) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `reservation status data must be a Buffer; received ${describeValue(data)}`);
  }
  if (typeof extended !== 'boolean') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `extended must be a boolean; received ${describeValue(extended)}`);
  }
  if (!Number.isInteger(validLength) || validLength < 0) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `validLength must be a non-negative integer; received ${describeValue(validLength)}`);
  }
  const L = ReservationStatusLayout;
  const header = extended ? L.EXTENDED_HEADER : L.REGULAR_HEADER;
  const entry = extended ? L.EXTENDED_ENTRY : L.REGULAR_ENTRY;
  const length = Math.min(validLength, data.length);
  const format = extended ? 'extended reservation status' : 'reservation status';
  if (length < header) {
    throw new MalformedResponseError(`${format} data has ${length} bytes; its header alone has ${header}`);
  }
  const rtype = data[4];
  const type = nvmeRtypeName(rtype);
  if (rtype !== 0 && type === undefined) {
    throw new MalformedResponseError(`${format} data reports reservation type ${rtype} (RTYPE); defined types are 1–6, 0 for none`);
  }
  const registeredControllers = data.readUInt16LE(5);
  const fit = Math.floor((length - header) / entry);
  const count = Math.min(registeredControllers, fit);
  const registrants: NvmeRegistrant[] = [];
  for (let i = 0; i < count; i++) {
    const at = header + i * entry;
    registrants.push(
      extended
        ? {
            controllerId: data.readUInt16LE(at),
            holdsReservation: (data[at + 2] & 1) !== 0,
            hostId: data.toString('hex', at + 16, at + 32),
            key: data.readBigUInt64LE(at + 8),
          }
        : {
            controllerId: data.readUInt16LE(at),
            holdsReservation: (data[at + 2] & 1) !== 0,
            hostId: data.toString('hex', at + 8, at + 16),
            key: data.readBigUInt64LE(at + 16),
          },
    );
  }
  return {
    generation: data.readUInt32LE(0),
    type,
    rtype,
    registrants,
    registeredControllers,
    ptplState: (data[9] & 1) !== 0,
    truncated: registeredControllers > count,
    extended,
  };
}
