/**
 * Persistent reservation types (SPC-4 §6.15.3.3, the TYPE nibble of PR OUT CDB
 * byte 2 and of READ RESERVATION / READ FULL STATUS responses) and the scope.
 */
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';

/** Reservation type codes defined by SPC-3/4/5. Codes 0, 2 and 4 are obsolete; 9–15 reserved. */
export const ReservationType = {
  WRITE_EXCLUSIVE: 1,
  EXCLUSIVE_ACCESS: 3,
  WRITE_EXCLUSIVE_REGISTRANTS_ONLY: 5,
  EXCLUSIVE_ACCESS_REGISTRANTS_ONLY: 6,
  WRITE_EXCLUSIVE_ALL_REGISTRANTS: 7,
  EXCLUSIVE_ACCESS_ALL_REGISTRANTS: 8,
} as const;

/** A valid reservation type code. */
export type ReservationTypeCode = 1 | 3 | 5 | 6 | 7 | 8;

/** Kebab-case name of a reservation type. */
export type ReservationTypeName =
  | 'write-exclusive'
  | 'exclusive-access'
  | 'write-exclusive-registrants-only'
  | 'exclusive-access-registrants-only'
  | 'write-exclusive-all-registrants'
  | 'exclusive-access-all-registrants';

/**
 * Anything accepted where a reservation type is expected: a code (1, 3, 5, 6, 7, 8),
 * a kebab-case name, a short alias (`we`, `ea`, `we-ro`, `ea-ro`, `we-ar`, `ea-ar`),
 * or the decimal code as a string (`'3'`). Names are case-insensitive and `_` may
 * stand for `-` (so `'WRITE_EXCLUSIVE'` works too).
 */
export type ReservationTypeInput = ReservationTypeCode | ReservationTypeName | number | string;

/** The only scope SPC defines for persistent reservations: the whole logical unit. */
export const LU_SCOPE = 0;

const NAMES: Readonly<Record<ReservationTypeCode, ReservationTypeName>> = {
  1: 'write-exclusive',
  3: 'exclusive-access',
  5: 'write-exclusive-registrants-only',
  6: 'exclusive-access-registrants-only',
  7: 'write-exclusive-all-registrants',
  8: 'exclusive-access-all-registrants',
};

const ALIASES: Readonly<Record<string, ReservationTypeCode>> = {
  we: 1,
  ea: 3,
  'we-ro': 5,
  'ea-ro': 6,
  'we-ar': 7,
  'ea-ar': 8,
};

const LABELS: Readonly<Record<ReservationTypeCode, string>> = {
  1: 'Write Exclusive',
  3: 'Exclusive Access',
  5: 'Write Exclusive, registrants only',
  6: 'Exclusive Access, registrants only',
  7: 'Write Exclusive, all registrants',
  8: 'Exclusive Access, all registrants',
};

const BY_NAME: ReadonlyMap<string, ReservationTypeCode> = new Map<string, ReservationTypeCode>([
  ...(Object.entries(NAMES).map(([code, n]) => [n, Number(code) as ReservationTypeCode]) as [string, ReservationTypeCode][]),
  ...(Object.entries(ALIASES) as [string, ReservationTypeCode][]),
]);

const ACCEPTED =
  'expected 1, 3, 5, 6, 7, 8 or one of write-exclusive, exclusive-access, write-exclusive-registrants-only, ' +
  'exclusive-access-registrants-only, write-exclusive-all-registrants, exclusive-access-all-registrants ' +
  '(aliases we, ea, we-ro, ea-ro, we-ar, ea-ar)';

function isCode(n: number): n is ReservationTypeCode {
  return n === 1 || n === 3 || n === 5 || n === 6 || n === 7 || n === 8;
}

/**
 * Validates a reservation type and returns its code.
 *
 * @param input A code, name, alias or decimal string (see {@link ReservationTypeInput}).
 * @param name  Option name used in error messages (default `'type'`).
 * @throws ArgumentTypeError (`ERR_INVALID_RESERVATION_TYPE`) for non-number, non-string input.
 * @throws ArgumentRangeError (`ERR_INVALID_RESERVATION_TYPE`) for an unknown or obsolete type.
 *
 * @example
 * parseReservationType('we-ro')            // 5
 * parseReservationType('exclusive-access') // 3
 */
export function parseReservationType(input: ReservationTypeInput, name = 'type'): ReservationTypeCode {
  if (typeof input === 'number') {
    if (isCode(input)) return input;
    throw new ArgumentRangeError('ERR_INVALID_RESERVATION_TYPE', `${name} ${String(input)} is not a reservation type; ${ACCEPTED}`);
  }
  if (typeof input === 'string') {
    if (/^[0-9]{1,2}$/.test(input)) {
      const n = Number(input);
      if (isCode(n)) return n;
    } else {
      const code = BY_NAME.get(input.toLowerCase().replace(/_/g, '-'));
      if (code !== undefined) return code;
    }
    const shown = JSON.stringify(input.length > 40 ? input.slice(0, 40) + '…' : input);
    throw new ArgumentRangeError('ERR_INVALID_RESERVATION_TYPE', `${name} ${shown} is not a reservation type; ${ACCEPTED}`);
  }
  const t = input === null ? 'null' : typeof input;
  throw new ArgumentTypeError('ERR_INVALID_RESERVATION_TYPE', `${name} must be a number or string; received ${t}. ${ACCEPTED}`);
}

/** Kebab-case name of a type code, or `undefined` for codes SPC does not define. */
export function reservationTypeName(code: number): ReservationTypeName | undefined {
  return isCode(code) ? NAMES[code] : undefined;
}

/**
 * Human-readable label in sg_persist's wording, for any value of the 4-bit TYPE field:
 * `'Write Exclusive, registrants only'`, `'obsolete [2]'`, `'reserved [0xa]'`.
 * Values outside 0–15 give `'invalid [n]'`.
 */
export function reservationTypeLabel(code: number): string {
  if (isCode(code)) return LABELS[code];
  if (code === 0 || code === 2 || code === 4) return `obsolete [${code}]`;
  if (Number.isInteger(code) && code >= 9 && code <= 15) return `reserved [0x${code.toString(16)}]`;
  return `invalid [${String(code)}]`;
}
