/**
 * One pure function per PERSISTENT RESERVE OUT service action. Each validates
 * its options completely (unknown or inapplicable options, types, ranges) and
 * returns the CDB and parameter list ready to send — nothing is sent for a bad
 * request. Unlike sg_persist, a field that does not apply to an action (TYPE,
 * APTPL, ALL_TG_PT, TransportIDs…) is refused rather than silently sent.
 *
 * Key placement follows SPC-4 (DESIGN §4): REGISTER RK = current key (0 if none),
 * SARK = new key; RESERVE/RELEASE/CLEAR RK = own key; PREEMPT (AND ABORT)
 * RK = own key, SARK = key being preempted; REGISTER AND MOVE RK = holder key,
 * SARK = destination key; REGISTER AND IGNORE / REPLACE LOST RK = 0, SARK = new key.
 * Scope is always LU_SCOPE; the CDB TYPE is 0 for actions that take no type.
 */
import { PrOutAction, prOutCdb } from './cdb';
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';
import { type KeyInput, parseKey } from './keys';
import { buildBasicParameterList, buildRegisterAndMoveParameterList } from './parameter-list';
import { LU_SCOPE, type ReservationTypeInput, parseReservationType } from './reservation-types';
import { type TransportId, encodeTransportId } from './transport-id';

/** A fully built PR OUT command. */
export interface PrOutRequest {
  /** Service action code (see `PrOutAction`). */
  action: number;
  /** The 10-byte PERSISTENT RESERVE OUT CDB. */
  cdb: Buffer;
  /** The data-out buffer; its length equals the CDB's parameter list length. */
  parameterList: Buffer;
}

/** Options of {@link registerRequest}. */
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

/** Options of {@link registerAndIgnoreExistingKeyRequest}. */
export interface RegisterAndIgnoreExistingKeyOptions {
  /** Key to register, replacing any existing registration; 0 unregisters. */
  newKey: KeyInput;
  /** Activate persist through power loss (APTPL). */
  aptpl?: boolean;
  /** Register through all target ports (ALL_TG_PT). */
  allTargetPorts?: boolean;
}

/** Options of {@link reserveRequest} and {@link releaseRequest}. */
export interface ReserveOptions {
  /** This I_T nexus's registered key. */
  key: KeyInput;
  /** Reservation type (must match the held reservation for RELEASE). */
  type: ReservationTypeInput;
}

/** Options of {@link clearRequest}. */
export interface ClearOptions {
  /** This I_T nexus's registered key. */
  key: KeyInput;
}

/** Options of {@link preemptRequest} and {@link preemptAndAbortRequest}. */
export interface PreemptOptions {
  /** This I_T nexus's registered key. */
  key: KeyInput;
  /** Key whose registrations (and reservation) are preempted. */
  preemptKey: KeyInput;
  /** Type of the reservation established by the preemption. */
  type: ReservationTypeInput;
}

/** Options of {@link registerAndMoveRequest}. */
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

/** Options of {@link replaceLostReservationRequest}. */
export interface ReplaceLostReservationOptions {
  /** Key to register for the new reservation. */
  newKey: KeyInput;
  /** Type of the replacement reservation. */
  type: ReservationTypeInput;
}

/** Every option name any PR OUT request accepts (to tell "inapplicable" from "unknown"). */
const KNOWN_OPTIONS = new Set([
  'key', 'newKey', 'preemptKey', 'type', 'aptpl', 'allTargetPorts', 'transportIds', 'transportId',
  'relativeTargetPortId', 'unregister',
]);

type Opts = Record<string, unknown>;

/** Checks the options object's shape: an object, no unknown/inapplicable names, required present. */
function checkOptions(action: string, opts: unknown, allowed: readonly string[], required: readonly string[]): Opts {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new ArgumentTypeError(
      'ERR_INVALID_OPTION',
      `${action}: options must be an object with ${required.join(', ')}; received ${opts === null ? 'null' : Array.isArray(opts) ? 'an array' : typeof opts}`,
    );
  }
  const o = opts as Opts;
  for (const name of Object.keys(o)) {
    if (o[name] === undefined || allowed.includes(name)) continue;
    const why = KNOWN_OPTIONS.has(name) ? 'does not apply to' : 'is not an option of';
    throw new ArgumentRangeError(
      'ERR_INVALID_OPTION',
      `${action}: option ${JSON.stringify(name)} ${why} ${action}; accepted options: ${allowed.join(', ')}`,
    );
  }
  for (const name of required) {
    if (o[name] === undefined) {
      throw new ArgumentTypeError('ERR_INVALID_OPTION', `${action}: option ${name} is required`);
    }
  }
  return o;
}

/** Re-throws argument errors from a nested validator with the action prepended. */
function within<T>(action: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ArgumentRangeError) throw new ArgumentRangeError(e.code, `${action}: ${e.message}`);
    if (e instanceof ArgumentTypeError) throw new ArgumentTypeError(e.code, `${action}: ${e.message}`);
    throw e;
  }
}

function key(action: string, o: Opts, name: string): bigint {
  return within(action, () => parseKey(o[name] as KeyInput, name));
}

function type(action: string, o: Opts): number {
  return within(action, () => parseReservationType(o.type as ReservationTypeInput, 'type'));
}

function flag(action: string, o: Opts, name: string): boolean {
  const v = o[name];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${action}: option ${name} must be a boolean; received ${v === null ? 'null' : typeof v}`);
  }
  return v;
}

function transportId(action: string, value: unknown, name: string): Buffer {
  if (Array.isArray(value)) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${action}: option ${name} must be exactly one TransportID, not an array`);
  }
  return within(action, () => {
    try {
      return encodeTransportId(value as TransportId | Buffer);
    } catch (e) {
      if (e instanceof ArgumentRangeError) throw new ArgumentRangeError(e.code, `${name}: ${e.message}`);
      if (e instanceof ArgumentTypeError) throw new ArgumentTypeError(e.code, `${name}: ${e.message}`);
      throw e;
    }
  });
}

function basic(actionCode: number, typeCode: number, params: Parameters<typeof buildBasicParameterList>[0]): PrOutRequest {
  const parameterList = buildBasicParameterList(params);
  return { action: actionCode, cdb: prOutCdb(actionCode, LU_SCOPE, typeCode, parameterList.length), parameterList };
}

/**
 * REGISTER: registers `newKey` for this I_T nexus (RK = `key`, default 0;
 * SARK = `newKey`). `newKey` 0 with a registered `key` unregisters. With
 * `transportIds` the other initiator ports are registered too (SPEC_I_PT).
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`, `ERR_INVALID_TRANSPORT_ID`).
 * @example registerRequest({ newKey: '0x123abc' })
 */
export function registerRequest(options: RegisterOptions): PrOutRequest {
  const A = 'REGISTER';
  const o = checkOptions(A, options, ['key', 'newKey', 'aptpl', 'allTargetPorts', 'transportIds'], ['newKey']);
  const rk = o.key === undefined ? 0n : key(A, o, 'key');
  const sark = key(A, o, 'newKey');
  const aptpl = flag(A, o, 'aptpl');
  const allTgPt = flag(A, o, 'allTargetPorts');
  let tids: Buffer[] | undefined;
  if (o.transportIds !== undefined) {
    if (!Array.isArray(o.transportIds)) {
      throw new ArgumentTypeError('ERR_INVALID_OPTION', `${A}: option transportIds must be an array of TransportIDs`);
    }
    if (o.transportIds.length === 0) {
      throw new ArgumentRangeError('ERR_INVALID_OPTION', `${A}: option transportIds is empty; omit it or give at least one TransportID`);
    }
    if (sark === 0n) {
      throw new ArgumentRangeError('ERR_INVALID_OPTION', `${A}: option transportIds cannot be used when newKey is 0 (unregister)`);
    }
    tids = (o.transportIds as unknown[]).map((t, i) => transportId(A, t, `transportIds[${i}]`));
  }
  return basic(PrOutAction.REGISTER, 0, {
    reservationKey: rk,
    serviceActionKey: sark,
    aptpl,
    allTgPt,
    specIPt: tids !== undefined,
    ...(tids !== undefined ? { transportIds: tids } : {}),
  });
}

/**
 * REGISTER AND IGNORE EXISTING KEY: registers `newKey` whatever this I_T nexus
 * had registered (RK = 0, SARK = `newKey`). TransportIDs are not allowed (SPC-4).
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`).
 */
export function registerAndIgnoreExistingKeyRequest(options: RegisterAndIgnoreExistingKeyOptions): PrOutRequest {
  const A = 'REGISTER AND IGNORE EXISTING KEY';
  const o = checkOptions(A, options, ['newKey', 'aptpl', 'allTargetPorts'], ['newKey']);
  return basic(PrOutAction.REGISTER_AND_IGNORE_EXISTING_KEY, 0, {
    reservationKey: 0n,
    serviceActionKey: key(A, o, 'newKey'),
    aptpl: flag(A, o, 'aptpl'),
    allTgPt: flag(A, o, 'allTargetPorts'),
  });
}

/**
 * RESERVE: creates a reservation of `type` held through `key` (RK = `key`).
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`, `ERR_INVALID_RESERVATION_TYPE`).
 * @example reserveRequest({ key: 0x123abcn, type: 'write-exclusive' })
 */
export function reserveRequest(options: ReserveOptions): PrOutRequest {
  const A = 'RESERVE';
  const o = checkOptions(A, options, ['key', 'type'], ['key', 'type']);
  return basic(PrOutAction.RESERVE, type(A, o), { reservationKey: key(A, o, 'key'), serviceActionKey: 0n });
}

/**
 * RELEASE: releases the reservation held through `key`; `type` must match it.
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`, `ERR_INVALID_RESERVATION_TYPE`).
 */
export function releaseRequest(options: ReserveOptions): PrOutRequest {
  const A = 'RELEASE';
  const o = checkOptions(A, options, ['key', 'type'], ['key', 'type']);
  return basic(PrOutAction.RELEASE, type(A, o), { reservationKey: key(A, o, 'key'), serviceActionKey: 0n });
}

/**
 * CLEAR: removes the reservation and every registration (RK = `key`, this I_T nexus's key).
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`).
 */
export function clearRequest(options: ClearOptions): PrOutRequest {
  const A = 'CLEAR';
  const o = checkOptions(A, options, ['key'], ['key']);
  return basic(PrOutAction.CLEAR, 0, { reservationKey: key(A, o, 'key'), serviceActionKey: 0n });
}

function preempt(A: string, code: number, options: unknown): PrOutRequest {
  const o = checkOptions(A, options, ['key', 'preemptKey', 'type'], ['key', 'preemptKey', 'type']);
  return basic(code, type(A, o), { reservationKey: key(A, o, 'key'), serviceActionKey: key(A, o, 'preemptKey') });
}

/**
 * PREEMPT: removes the registrations of `preemptKey` and, if it held the
 * reservation, takes it over with `type` (RK = `key`, SARK = `preemptKey`).
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`, `ERR_INVALID_RESERVATION_TYPE`).
 */
export function preemptRequest(options: PreemptOptions): PrOutRequest {
  return preempt('PREEMPT', PrOutAction.PREEMPT, options);
}

/**
 * PREEMPT AND ABORT: like {@link preemptRequest}, and also aborts the preempted
 * initiators' outstanding commands — the fencing primitive.
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`, `ERR_INVALID_RESERVATION_TYPE`).
 */
export function preemptAndAbortRequest(options: PreemptOptions): PrOutRequest {
  return preempt('PREEMPT AND ABORT', PrOutAction.PREEMPT_AND_ABORT, options);
}

/**
 * REGISTER AND MOVE: registers `newKey` for the I_T nexus named by
 * `transportId` + `relativeTargetPortId` and moves this nexus's reservation to
 * it (RK = `key`, SARK = `newKey`). The CDB TYPE field is `type` (0 when omitted).
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`, `ERR_INVALID_TRANSPORT_ID`).
 */
export function registerAndMoveRequest(options: RegisterAndMoveOptions): PrOutRequest {
  const A = 'REGISTER AND MOVE';
  const o = checkOptions(
    A,
    options,
    ['key', 'newKey', 'transportId', 'relativeTargetPortId', 'unregister', 'aptpl', 'type'],
    ['key', 'newKey', 'transportId', 'relativeTargetPortId'],
  );
  const rk = key(A, o, 'key');
  const sark = key(A, o, 'newKey');
  if (sark === 0n) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${A}: option newKey must not be 0 (SPC rejects a zero service action reservation key)`);
  }
  const rtpi = o.relativeTargetPortId;
  if (typeof rtpi !== 'number') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${A}: option relativeTargetPortId must be an integer 0–65535; received ${rtpi === null ? 'null' : typeof rtpi}`);
  }
  if (!Number.isInteger(rtpi) || rtpi < 0 || rtpi > 0xffff) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${A}: option relativeTargetPortId ${String(rtpi)} is out of range; expected an integer 0–65535`);
  }
  const tid = transportId(A, o.transportId, 'transportId');
  const parameterList = buildRegisterAndMoveParameterList({
    reservationKey: rk,
    serviceActionKey: sark,
    unregister: flag(A, o, 'unregister'),
    aptpl: flag(A, o, 'aptpl'),
    relativeTargetPortId: rtpi,
    transportId: tid,
  });
  const action = PrOutAction.REGISTER_AND_MOVE;
  const t = o.type === undefined ? 0 : type(A, o);
  return { action, cdb: prOutCdb(action, LU_SCOPE, t, parameterList.length), parameterList };
}

/**
 * REPLACE LOST RESERVATION (SPC-4): after the device lost a reservation,
 * registers `newKey` and establishes a reservation of `type` (RK = 0, SARK = `newKey`).
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`, `ERR_INVALID_RESERVATION_TYPE`).
 */
export function replaceLostReservationRequest(options: ReplaceLostReservationOptions): PrOutRequest {
  const A = 'REPLACE LOST RESERVATION';
  const o = checkOptions(A, options, ['newKey', 'type'], ['newKey', 'type']);
  return basic(PrOutAction.REPLACE_LOST_RESERVATION, type(A, o), { reservationKey: 0n, serviceActionKey: key(A, o, 'newKey') });
}
