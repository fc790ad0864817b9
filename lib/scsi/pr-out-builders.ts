/**
 * One builder per PERSISTENT RESERVE OUT service action: the option values
 * (already checked for shape against the action's row in
 * pr-service-actions.ts) → the CDB TYPE field and the parameter list. Each
 * validates every value (types, ranges, combinations) before anything is built.
 *
 * Key placement follows SPC-4 §6.16.3 (basic parameter list) and §6.16.4
 * (REGISTER AND MOVE): REGISTER RK = current key (0 if none), SARK = new key;
 * RESERVE/RELEASE/CLEAR RK = own key; PREEMPT (AND ABORT) RK = own key,
 * SARK = key being preempted; REGISTER AND MOVE RK = holder key, SARK =
 * destination key; REGISTER AND IGNORE / REPLACE LOST RK = 0, SARK = new key.
 * The TYPE is 0 for actions that take no type.
 */
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';
import { type KeyInput, parseKey } from './keys';
import { buildBasicParameterList, buildRegisterAndMoveParameterList } from './parameter-list';
import { type ReservationTypeInput, parseReservationType } from './reservation-types';
import { type TransportId, encodeTransportId } from './transport-id';

/** Every option name a PR OUT action may accept (besides the per-call options). */
export type PrOutOptionName =
  | 'key'
  | 'newKey'
  | 'preemptKey'
  | 'type'
  | 'aptpl'
  | 'allTargetPorts'
  | 'transportIds'
  | 'transportId'
  | 'relativeTargetPortId'
  | 'unregister';

/** Options whose names were checked against the action's row; the values are not checked yet. */
export type PrOutOptionValues = Readonly<Partial<Record<PrOutOptionName, unknown>>>;

/** What a builder produces: the CDB TYPE field and the data-out buffer. */
export interface PrOutParameters {
  /** TYPE field of the CDB (byte 2, low nibble); 0 for actions that take no type. */
  type: number;
  /** The parameter list. */
  parameterList: Buffer;
}

/** Re-throws argument errors from a nested validator with `api` prepended. */
function within<T>(api: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ArgumentRangeError) throw new ArgumentRangeError(e.code, `${api}: ${e.message}`);
    if (e instanceof ArgumentTypeError) throw new ArgumentTypeError(e.code, `${api}: ${e.message}`);
    throw e;
  }
}

function key(api: string, o: PrOutOptionValues, name: 'key' | 'newKey' | 'preemptKey'): bigint {
  return within(api, () => parseKey(o[name] as KeyInput, name));
}

function type(api: string, o: PrOutOptionValues): number {
  return within(api, () => parseReservationType(o.type as ReservationTypeInput, 'type'));
}

function flag(api: string, o: PrOutOptionValues, name: 'aptpl' | 'allTargetPorts' | 'unregister'): boolean {
  const v = o[name];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: option ${name} must be a boolean; received ${v === null ? 'null' : typeof v}`);
  }
  return v;
}

function transportId(api: string, value: unknown, name: string): Buffer {
  if (Array.isArray(value)) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: option ${name} must be exactly one TransportID, not an array`);
  }
  return within(api, () => {
    try {
      return encodeTransportId(value as TransportId | Buffer);
    } catch (e) {
      if (e instanceof ArgumentRangeError) throw new ArgumentRangeError(e.code, `${name}: ${e.message}`);
      if (e instanceof ArgumentTypeError) throw new ArgumentTypeError(e.code, `${name}: ${e.message}`);
      throw e;
    }
  });
}

/** REGISTER: RK = `key` (default 0), SARK = `newKey`; `transportIds` set SPEC_I_PT. */
export function registerParameters(o: PrOutOptionValues, api: string): PrOutParameters {
  const rk = o.key === undefined ? 0n : key(api, o, 'key');
  const sark = key(api, o, 'newKey');
  const aptpl = flag(api, o, 'aptpl');
  const allTgPt = flag(api, o, 'allTargetPorts');
  let tids: Buffer[] | undefined;
  if (o.transportIds !== undefined) {
    if (!Array.isArray(o.transportIds)) {
      throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: option transportIds must be an array of TransportIDs`);
    }
    if (o.transportIds.length === 0) {
      throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: option transportIds is empty; omit it or give at least one TransportID`);
    }
    if (sark === 0n) {
      throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: option transportIds cannot be used when newKey is 0 (unregister)`);
    }
    tids = o.transportIds.map((t: unknown, i) => transportId(api, t, `transportIds[${i}]`));
  }
  const parameterList = buildBasicParameterList({
    reservationKey: rk,
    serviceActionKey: sark,
    aptpl,
    allTgPt,
    specIPt: tids !== undefined,
    ...(tids !== undefined ? { transportIds: tids } : {}),
  });
  return { type: 0, parameterList };
}

/** REGISTER AND IGNORE EXISTING KEY: RK = 0, SARK = `newKey` (no TransportIDs, SPC-4). */
export function registerAndIgnoreExistingKeyParameters(o: PrOutOptionValues, api: string): PrOutParameters {
  const parameterList = buildBasicParameterList({
    reservationKey: 0n,
    serviceActionKey: key(api, o, 'newKey'),
    aptpl: flag(api, o, 'aptpl'),
    allTgPt: flag(api, o, 'allTargetPorts'),
  });
  return { type: 0, parameterList };
}

/** RESERVE, RELEASE: TYPE = `type`, RK = `key`. */
export function reserveParameters(o: PrOutOptionValues, api: string): PrOutParameters {
  return { type: type(api, o), parameterList: buildBasicParameterList({ reservationKey: key(api, o, 'key'), serviceActionKey: 0n }) };
}

/** CLEAR: RK = `key`. */
export function clearParameters(o: PrOutOptionValues, api: string): PrOutParameters {
  return { type: 0, parameterList: buildBasicParameterList({ reservationKey: key(api, o, 'key'), serviceActionKey: 0n }) };
}

/** PREEMPT, PREEMPT AND ABORT: TYPE = `type`, RK = `key`, SARK = `preemptKey`. */
export function preemptParameters(o: PrOutOptionValues, api: string): PrOutParameters {
  const t = type(api, o);
  return { type: t, parameterList: buildBasicParameterList({ reservationKey: key(api, o, 'key'), serviceActionKey: key(api, o, 'preemptKey') }) };
}

/** REGISTER AND MOVE: RK = `key`, SARK = `newKey` (not 0), one TransportID; TYPE = `type` or 0. */
export function registerAndMoveParameters(o: PrOutOptionValues, api: string): PrOutParameters {
  const rk = key(api, o, 'key');
  const sark = key(api, o, 'newKey');
  if (sark === 0n) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: option newKey must not be 0 (SPC rejects a zero service action reservation key)`);
  }
  const rtpi = o.relativeTargetPortId;
  if (typeof rtpi !== 'number') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: option relativeTargetPortId must be an integer 0–65535; received ${rtpi === null ? 'null' : typeof rtpi}`);
  }
  if (!Number.isInteger(rtpi) || rtpi < 0 || rtpi > 0xffff) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: option relativeTargetPortId ${String(rtpi)} is out of range; expected an integer 0–65535`);
  }
  const tid = transportId(api, o.transportId, 'transportId');
  const parameterList = buildRegisterAndMoveParameterList({
    reservationKey: rk,
    serviceActionKey: sark,
    unregister: flag(api, o, 'unregister'),
    aptpl: flag(api, o, 'aptpl'),
    relativeTargetPortId: rtpi,
    transportId: tid,
  });
  return { type: o.type === undefined ? 0 : type(api, o), parameterList };
}

/** REPLACE LOST RESERVATION: TYPE = `type`, RK = 0, SARK = `newKey`. */
export function replaceLostReservationParameters(o: PrOutOptionValues, api: string): PrOutParameters {
  const t = type(api, o);
  return { type: t, parameterList: buildBasicParameterList({ reservationKey: 0n, serviceActionKey: key(api, o, 'newKey') }) };
}
