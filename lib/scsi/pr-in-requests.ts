/**
 * PERSISTENT RESERVE IN requests: the service action by id plus a validated
 * allocation length, by default the action's own (see pr-service-actions.ts).
 */
import { prInCdb } from './cdb';
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';
import { PR_IN_ACTIONS, PR_IN_METHODS } from './pr-service-actions';

/** PR IN service actions by id: `'read-keys'`, `'read-reservation'`, `'report-capabilities'`, `'read-full-status'`. */
export type PrInActionName = (typeof PR_IN_ACTIONS)[keyof typeof PR_IN_ACTIONS]['id'];

/** A built PR IN command. */
export interface PrInRequest {
  /** Service action code (CDB byte 1). */
  action: number;
  /** The 10-byte PERSISTENT RESERVE IN CDB. */
  cdb: Buffer;
  /** Allocation length in the CDB: size of the data-in buffer to provide. */
  allocationLength: number;
}

/** Default allocation length per PR IN action id (the rows' `defaultAllocationLength`; why each, see there). */
export const DEFAULT_PR_IN_ALLOCATION_LENGTH: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(PR_IN_METHODS.map((m) => [PR_IN_ACTIONS[m].id, PR_IN_ACTIONS[m].defaultAllocationLength])),
);

/**
 * Builds a PERSISTENT RESERVE IN request.
 *
 * @param action           Service action by id.
 * @param allocationLength 1–65535; defaults per {@link DEFAULT_PR_IN_ALLOCATION_LENGTH}.
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`).
 * @example prInRequest('read-keys').cdb // 5e 00 00 00 00 00 00 04 00 00
 */
export function prInRequest(action: PrInActionName, allocationLength?: number): PrInRequest {
  if (typeof action !== 'string') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `PERSISTENT RESERVE IN: action must be a string; received ${action === null ? 'null' : typeof action}`);
  }
  const method = PR_IN_METHODS.find((m) => PR_IN_ACTIONS[m].id === action);
  if (method === undefined) {
    throw new ArgumentRangeError(
      'ERR_INVALID_OPTION',
      `PERSISTENT RESERVE IN: action ${JSON.stringify(action)} is not one of ${PR_IN_METHODS.map((m) => PR_IN_ACTIONS[m].id).join(', ')}`,
    );
  }
  const { code, defaultAllocationLength } = PR_IN_ACTIONS[method];
  const len = allocationLength ?? defaultAllocationLength;
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
