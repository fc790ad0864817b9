/**
 * PERSISTENT RESERVE OUT parameter lists (SPC-4 §6.16.3 / §6.16.4): the basic
 * 24-byte list (optionally followed by TransportIDs when SPEC_I_PT is set) and
 * the REGISTER AND MOVE list.
 */
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';
import { keyToBuffer } from './keys';
import { encodeTransportId } from './transport-id';

/** Byte 20 of the basic parameter list. */
const SPEC_I_PT = 0x08;
const ALL_TG_PT = 0x04;
const APTPL = 0x01;
/** Byte 17 of the REGISTER AND MOVE parameter list. */
const UNREG = 0x02;
const MOVE_APTPL = 0x01;

const BASIC_LENGTH = 24;

function flag(value: unknown, name: string, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${what}: ${name} must be a boolean; received ${value === null ? 'null' : typeof value}`);
  }
  return value;
}

function keyField(value: unknown, name: string, what: string): Buffer {
  if (typeof value !== 'bigint') {
    throw new ArgumentTypeError('ERR_INVALID_KEY', `${what}: ${name} must be a bigint; received ${value === null ? 'null' : typeof value}`);
  }
  try {
    return keyToBuffer(value);
  } catch {
    throw new ArgumentRangeError('ERR_INVALID_KEY', `${what}: ${name} ${value}n is out of range; expected 0–2^64-1`);
  }
}

/** Validates an already-encoded TransportID (exactly one, well formed). */
function transportIdField(value: unknown, name: string, what: string): Buffer {
  if (!Buffer.isBuffer(value)) {
    throw new ArgumentTypeError('ERR_INVALID_TRANSPORT_ID', `${what}: ${name} must be an encoded TransportID Buffer (see encodeTransportId)`);
  }
  try {
    return encodeTransportId(value);
  } catch (e) {
    if (e instanceof ArgumentRangeError || e instanceof ArgumentTypeError) {
      throw new ArgumentRangeError('ERR_INVALID_TRANSPORT_ID', `${what}: ${name}: ${e.message}`);
    }
    throw e;
  }
}

/**
 * Builds the basic PR OUT parameter list used by every service action except
 * REGISTER AND MOVE.
 *
 * Layout: reservation key (bytes 0–7), service action reservation key (8–15),
 * byte 20 flags SPEC_I_PT (bit 3), ALL_TG_PT (bit 2), APTPL (bit 0). With
 * SPEC_I_PT the TransportID parameter data length follows at bytes 24–27 and the
 * TransportIDs from byte 28; otherwise the list is exactly 24 bytes.
 *
 * `specIPt` defaults to "transportIds is a non-empty array"; setting it
 * explicitly to a value that contradicts `transportIds` is an error.
 *
 * @param o.reservationKey   RESERVATION KEY field.
 * @param o.serviceActionKey SERVICE ACTION RESERVATION KEY field.
 * @param o.transportIds     Encoded TransportIDs (each validated, see `encodeTransportId`).
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`, `ERR_INVALID_TRANSPORT_ID`).
 */
export function buildBasicParameterList(o: {
  reservationKey: bigint;
  serviceActionKey: bigint;
  specIPt?: boolean;
  allTgPt?: boolean;
  aptpl?: boolean;
  transportIds?: Buffer[];
}): Buffer {
  const what = 'PR OUT parameter list';
  if (typeof o !== 'object' || o === null) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${what}: options must be an object`);
  }
  const rk = keyField(o.reservationKey, 'reservationKey', what);
  const sark = keyField(o.serviceActionKey, 'serviceActionKey', what);
  const allTgPt = flag(o.allTgPt, 'allTgPt', what);
  const aptpl = flag(o.aptpl, 'aptpl', what);
  let tids: Buffer[] = [];
  if (o.transportIds !== undefined) {
    if (!Array.isArray(o.transportIds)) {
      throw new ArgumentTypeError('ERR_INVALID_OPTION', `${what}: transportIds must be an array of Buffers`);
    }
    tids = o.transportIds.map((t, i) => transportIdField(t, `transportIds[${i}]`, what));
  }
  const specIPt = o.specIPt === undefined ? tids.length > 0 : flag(o.specIPt, 'specIPt', what);
  if (specIPt && tids.length === 0) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${what}: specIPt requires at least one TransportID in transportIds`);
  }
  if (!specIPt && tids.length > 0) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${what}: transportIds are only sent with specIPt: true`);
  }

  const tidBytes = tids.reduce((n, t) => n + t.length, 0);
  const buf = Buffer.alloc(specIPt ? BASIC_LENGTH + 4 + tidBytes : BASIC_LENGTH);
  rk.copy(buf, 0);
  sark.copy(buf, 8);
  buf[20] = (specIPt ? SPEC_I_PT : 0) | (allTgPt ? ALL_TG_PT : 0) | (aptpl ? APTPL : 0);
  if (specIPt) {
    buf.writeUInt32BE(tidBytes, 24);
    let off = 28;
    for (const t of tids) {
      t.copy(buf, off);
      off += t.length;
    }
  }
  return buf;
}

/**
 * Builds the REGISTER AND MOVE parameter list.
 *
 * Layout: reservation key (bytes 0–7), service action reservation key (8–15),
 * byte 17 UNREG (bit 1) / APTPL (bit 0), relative target port identifier
 * (18–19), TransportID parameter data length (20–23), the single TransportID
 * from byte 24.
 *
 * @param o.relativeTargetPortId 0–65535: the target port through which the destination initiator is reached.
 * @param o.transportId          Encoded TransportID of the destination I_T nexus (validated).
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`, `ERR_INVALID_TRANSPORT_ID`).
 */
export function buildRegisterAndMoveParameterList(o: {
  reservationKey: bigint;
  serviceActionKey: bigint;
  unregister?: boolean;
  aptpl?: boolean;
  relativeTargetPortId: number;
  transportId: Buffer;
}): Buffer {
  const what = 'REGISTER AND MOVE parameter list';
  if (typeof o !== 'object' || o === null) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${what}: options must be an object`);
  }
  const rk = keyField(o.reservationKey, 'reservationKey', what);
  const sark = keyField(o.serviceActionKey, 'serviceActionKey', what);
  const unregister = flag(o.unregister, 'unregister', what);
  const aptpl = flag(o.aptpl, 'aptpl', what);
  const rtpi: unknown = o.relativeTargetPortId;
  if (typeof rtpi !== 'number') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${what}: relativeTargetPortId must be an integer 0–65535; received ${rtpi === null ? 'null' : typeof rtpi}`);
  }
  if (!Number.isInteger(rtpi) || rtpi < 0 || rtpi > 0xffff) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${what}: relativeTargetPortId ${String(rtpi)} is out of range; expected an integer 0–65535`);
  }
  const tid = transportIdField(o.transportId, 'transportId', what);

  const buf = Buffer.alloc(BASIC_LENGTH + tid.length);
  rk.copy(buf, 0);
  sark.copy(buf, 8);
  buf[17] = (unregister ? UNREG : 0) | (aptpl ? MOVE_APTPL : 0);
  buf.writeUInt16BE(rtpi, 18);
  buf.writeUInt32BE(tid.length, 20);
  tid.copy(buf, 24);
  return buf;
}
