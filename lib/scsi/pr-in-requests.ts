/**
 * PERSISTENT RESERVE IN requests: the service action by name plus a validated
 * allocation length with a sensible default per action.
 */
import { PrInAction, prInCdb } from './cdb';
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';

/** PR IN service actions by name. */
export type PrInActionName = 'read-keys' | 'read-reservation' | 'report-capabilities' | 'read-full-status';

/** A built PR IN command. */
export interface PrInRequest {
  /** Service action code (see `PrInAction`). */
  action: number;
  /** The 10-byte PERSISTENT RESERVE IN CDB. */
  cdb: Buffer;
  /** Allocation length in the CDB: size of the data-in buffer to provide. */
  allocationLength: number;
}

/**
 * Default allocation length per PR IN action: 1024 for read-keys (126 keys;
 * callers re-issue with up to 65535 when the additional length says more is
 * available) and the maximum, 65535, for read-full-status: LIO's READ FULL
 * STATUS bounds check ignores the 8-byte header and the 24-byte descriptor
 * header, so an allocation shorter than the list can overrun the target's
 * buffer (seen hanging the target at 8192 bytes); asking for everything at once
 * keeps a list under 64 KiB out of that path, 24 for read-reservation (8-byte header + one
 * 16-byte descriptor), 8 for report-capabilities (the whole response).
 */
export const DEFAULT_PR_IN_ALLOCATION_LENGTH: Readonly<Record<PrInActionName, number>> = Object.freeze({
  'read-keys': 1024,
  'read-reservation': 24,
  'report-capabilities': 8,
  'read-full-status': 65535,
});

const CODES: Readonly<Record<PrInActionName, number>> = {
  'read-keys': PrInAction.READ_KEYS,
  'read-reservation': PrInAction.READ_RESERVATION,
  'report-capabilities': PrInAction.REPORT_CAPABILITIES,
  'read-full-status': PrInAction.READ_FULL_STATUS,
};

/**
 * Builds a PERSISTENT RESERVE IN request.
 *
 * @param action           Service action by name.
 * @param allocationLength 1–65535; defaults per {@link DEFAULT_PR_IN_ALLOCATION_LENGTH}.
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`).
 * @example prInRequest('read-keys').cdb // 5e 00 00 00 00 00 00 20 00 00
 */
export function prInRequest(action: PrInActionName, allocationLength?: number): PrInRequest {
  if (typeof action !== 'string') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `PERSISTENT RESERVE IN: action must be a string; received ${action === null ? 'null' : typeof action}`);
  }
  if (!Object.prototype.hasOwnProperty.call(CODES, action)) {
    throw new ArgumentRangeError(
      'ERR_INVALID_OPTION',
      `PERSISTENT RESERVE IN: action ${JSON.stringify(action)} is not one of ${Object.keys(CODES).join(', ')}`,
    );
  }
  const code = CODES[action];
  const len = allocationLength ?? DEFAULT_PR_IN_ALLOCATION_LENGTH[action];
  if (typeof len !== 'number') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `PERSISTENT RESERVE IN (${action}): allocationLength must be an integer 1–65535; received ${typeof len}`);
  }
  if (!Number.isInteger(len) || len < 1 || len > 0xffff) {
    throw new ArgumentRangeError(
      'ERR_INVALID_OPTION',
      `PERSISTENT RESERVE IN (${action}): allocationLength ${String(len)} is out of range; expected an integer 1–65535`,
    );
  }
  return { action: code, cdb: prInCdb(code, len), allocationLength: len };
}
