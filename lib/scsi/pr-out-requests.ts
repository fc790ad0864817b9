/**
 * PERSISTENT RESERVE OUT requests: the options of each service action (the
 * types the `Device` methods take) and {@link prOutRequest}, which checks an
 * options object against the action's row in pr-service-actions.ts, has the
 * action's builder validate the values, and returns the CDB and parameter list
 * ready to send — nothing is sent for a bad request. Unlike sg_persist, an
 * option that does not apply to the action (TYPE, APTPL, ALL_TG_PT,
 * TransportIDs…) is refused rather than silently sent. Scope is always LU_SCOPE.
 */
import { prOutCdb } from './cdb';
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';
import type { KeyInput } from './keys';
import type { PrOutOptionValues } from './pr-out-builders';
import { LU_SCOPE, type ReservationTypeInput } from './reservation-types';
import { PR_OUT_ACTIONS, PR_OUT_METHODS, type PrOutMethod } from './pr-service-actions';
import type { TransportId } from './transport-id';

/** A fully built PR OUT command. */
export interface PrOutRequest {
  /** Service action code (CDB byte 1). */
  action: number;
  /** The 10-byte PERSISTENT RESERVE OUT CDB. */
  cdb: Buffer;
  /** The data-out buffer; its length equals the CDB's parameter list length. */
  parameterList: Buffer;
}

/** Options of REGISTER (`Device.register`). */
export interface RegisterOptions {
  /** Key currently registered by this I_T nexus; 0 (default) when not registered. */
  key?: KeyInput;
  /** Key to register; 0 unregisters. */
  newKey: KeyInput;
  /** Activate persist through power loss (APTPL). */
  aptpl?: boolean;
  /** Register through all target ports (ALL_TG_PT). */
  allTargetPorts?: boolean;
  /** Also register these initiator ports with `newKey` (sets SPEC_I_PT). Non-empty when given. */
  transportIds?: Array<TransportId | Buffer>;
}

/** Options of REGISTER AND IGNORE EXISTING KEY (`Device.registerAndIgnoreExistingKey`). */
export interface RegisterAndIgnoreExistingKeyOptions {
  /** Key to register, replacing any existing registration; 0 unregisters. */
  newKey: KeyInput;
  /** Activate persist through power loss (APTPL). */
  aptpl?: boolean;
  /** Register through all target ports (ALL_TG_PT). */
  allTargetPorts?: boolean;
}

/** Options of RESERVE and RELEASE (`Device.reserve`, `Device.release`). */
export interface ReserveOptions {
  /** This I_T nexus's registered key. */
  key: KeyInput;
  /** Reservation type (must match the held reservation for RELEASE). */
  type: ReservationTypeInput;
}

/** Options of CLEAR (`Device.clear`). */
export interface ClearOptions {
  /** This I_T nexus's registered key. */
  key: KeyInput;
}

/** Options of PREEMPT and PREEMPT AND ABORT (`Device.preempt`, `Device.preemptAndAbort`). */
export interface PreemptOptions {
  /** This I_T nexus's registered key. */
  key: KeyInput;
  /** Key whose registrations (and reservation) are preempted. */
  preemptKey: KeyInput;
  /** Type of the reservation established by the preemption. */
  type: ReservationTypeInput;
}

/** Options of REGISTER AND MOVE (`Device.registerAndMove`). */
export interface RegisterAndMoveOptions {
  /** Key of the reservation holder (this I_T nexus). */
  key: KeyInput;
  /** Key to register for the destination I_T nexus (must not be 0). */
  newKey: KeyInput;
  /** The destination initiator port (exactly one). */
  transportId: TransportId | Buffer;
  /** Relative target port identifier of the destination I_T nexus, 0–65535. */
  relativeTargetPortId: number;
  /** Unregister this I_T nexus after the move (UNREG). */
  unregister?: boolean;
  /** Activate persist through power loss (APTPL). */
  aptpl?: boolean;
  /**
   * TYPE field of the CDB. SPC has the moved reservation keep its type and some
   * targets (sg_persist's documentation says so) require TYPE to match the held
   * reservation. `Device.registerAndMove` fills it from READ RESERVATION when omitted;
   * the pure builder sends 0 when omitted.
   */
  type?: ReservationTypeInput;
}

/** Options of REPLACE LOST RESERVATION (`Device.replaceLostReservation`). */
export interface ReplaceLostReservationOptions {
  /** Key to register for the new reservation. */
  newKey: KeyInput;
  /** Type of the replacement reservation. */
  type: ReservationTypeInput;
}

/** Every option name some PR OUT action accepts (to tell "does not apply" from "unknown"). */
const KNOWN_OPTIONS: ReadonlySet<string> = new Set(PR_OUT_METHODS.flatMap((m) => PR_OUT_ACTIONS[m].accepts));

/** Checks the options object's shape: an object, no unknown/inapplicable names, required present. */
function checkOptions(api: string, method: PrOutMethod, options: unknown): PrOutOptionValues {
  const { name: action, accepts } = PR_OUT_ACTIONS[method];
  const accepted: readonly string[] = accepts;
  const required = Object.keys(PR_OUT_ACTIONS[method].requires);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ArgumentTypeError(
      'ERR_INVALID_OPTION',
      `${api}: options must be an object with ${required.join(', ')}; received ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`,
    );
  }
  const o: Readonly<Record<string, unknown>> = { ...options };
  for (const name of Object.keys(o)) {
    if (o[name] === undefined || accepted.includes(name)) continue;
    const why = KNOWN_OPTIONS.has(name) ? 'does not apply to' : 'is not an option of';
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: option ${JSON.stringify(name)} ${why} ${action}; accepted options: ${accepted.join(', ')}`);
  }
  for (const name of required) {
    if (o[name] === undefined) throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: option ${name} is required`);
  }
  return o;
}

/**
 * Builds the PERSISTENT RESERVE OUT command of `method` (a `Device` method name)
 * from `options`, validating them completely first.
 *
 * @param method  The action, e.g. `'register'`, `'preemptAndAbort'`.
 * @param options The action's options (e.g. {@link RegisterOptions}); anything else is refused.
 * @param api     What messages start with: the name the caller used (default `method`).
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`,
 *   `ERR_INVALID_RESERVATION_TYPE`, `ERR_INVALID_TRANSPORT_ID`).
 * @example prOutRequest('reserve', { key: 0x123abcn, type: 'write-exclusive' }).cdb // 5f 01 01 00 00 00 00 00 18 00
 */
export function prOutRequest(method: PrOutMethod, options: unknown, api: string = method): PrOutRequest {
  const action = PR_OUT_ACTIONS[method];
  const { type, parameterList } = action.build(checkOptions(api, method, options), api);
  return { action: action.code, cdb: prOutCdb(action.code, LU_SCOPE, type, parameterList.length), parameterList };
}
