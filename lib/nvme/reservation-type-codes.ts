/**
 * NVMe reservation types (the RTYPE field: Reservation Acquire / Release
 * CDW10 bits 15:8 and byte 4 of the Reservation Status data structure),
 * mapped to the library's reservation type names
 * (`lib/scsi/reservation-types.ts`) and to SPC's codes.
 *
 * NVMe numbers the six types 1–6 in the same order as SPC's 1, 3, 5, 6, 7, 8.
 * The kernel's block-layer `enum pr_type` (`linux/pr.h`) uses NVMe's
 * numbering, so `lib/block-pr/pr-ioctls.ts` maps through this module.
 * RTYPE 0 in a report means no reservation is held.
 */
import {
  type ReservationTypeCode,
  type ReservationTypeInput,
  type ReservationTypeName,
  parseReservationType,
  reservationTypeName,
} from '../scsi/reservation-types';

/** NVMe RTYPE values (NVMe Base Specification 2.x, Reservation Type Encoding). */
export const NvmeReservationType = {
  WRITE_EXCLUSIVE: 1,
  EXCLUSIVE_ACCESS: 2,
  WRITE_EXCLUSIVE_REGISTRANTS_ONLY: 3,
  EXCLUSIVE_ACCESS_REGISTRANTS_ONLY: 4,
  WRITE_EXCLUSIVE_ALL_REGISTRANTS: 5,
  EXCLUSIVE_ACCESS_ALL_REGISTRANTS: 6,
} as const;

/** A defined NVMe RTYPE value. */
export type NvmeRtype = 1 | 2 | 3 | 4 | 5 | 6;

const NAMES: readonly ReservationTypeName[] = [
  'write-exclusive',
  'exclusive-access',
  'write-exclusive-registrants-only',
  'exclusive-access-registrants-only',
  'write-exclusive-all-registrants',
  'exclusive-access-all-registrants',
];

const SCSI_CODES: readonly ReservationTypeCode[] = [1, 3, 5, 6, 7, 8];

function isRtype(n: number): n is NvmeRtype {
  return Number.isInteger(n) && n >= 1 && n <= 6;
}

/** NVMe RTYPE of a library reservation type name. */
export function nvmeRtypeFromName(name: ReservationTypeName): NvmeRtype {
  const i = NAMES.indexOf(name);
  if (i < 0) throw new RangeError(`not a reservation type name: ${String(name)}`);
  return (i + 1) as NvmeRtype;
}

/** Library name of an NVMe RTYPE, or `undefined` for 0 (no reservation) and reserved values. */
export function nvmeRtypeName(rtype: number): ReservationTypeName | undefined {
  return isRtype(rtype) ? NAMES[rtype - 1] : undefined;
}

/** The SPC type code (1, 3, 5, 6, 7, 8) of the same reservation type, or `undefined` for 0 and reserved values. */
export function scsiTypeFromNvmeRtype(rtype: number): ReservationTypeCode | undefined {
  return isRtype(rtype) ? SCSI_CODES[rtype - 1] : undefined;
}

/** The NVMe RTYPE of an SPC type code (1→1, 3→2, 5→3, 6→4, 7→5, 8→6), or `undefined` for any other value. */
export function nvmeRtypeFromScsiType(code: number): NvmeRtype | undefined {
  const i = SCSI_CODES.indexOf(code as ReservationTypeCode);
  return i < 0 ? undefined : ((i + 1) as NvmeRtype);
}

/**
 * Validates a reservation type given the library's way and returns its NVMe RTYPE.
 * Accepts everything `parseReservationType` accepts — names, aliases and, for numbers,
 * **SPC codes** (1, 3, 5, 6, 7, 8), so one `type` option means the same thing for SCSI
 * and NVMe devices (`3` is exclusive-access, NVMe RTYPE 2).
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_RESERVATION_TYPE`) as `parseReservationType`.
 *
 * @example parseNvmeReservationType('we-ro') // 3
 */
export function parseNvmeReservationType(input: ReservationTypeInput, name = 'type'): NvmeRtype {
  const code = parseReservationType(input, name);
  return nvmeRtypeFromName(reservationTypeName(code) as ReservationTypeName);
}
