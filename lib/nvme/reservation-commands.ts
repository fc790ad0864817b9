/**
 * Builders of the four NVMe reservation commands (NVM Command Set I/O
 * commands, NVMe Base Specification 2.x "Reservations"): the opcode, command
 * dwords 10/11 and the data buffer. Each validates every option (names,
 * types, ranges, which options the action takes) before anything is built.
 *
 * Keys are little-endian u64 in the data structures (unlike SPC's big-endian
 * parameter lists). Options take keys and types the library's way: keys as
 * `KeyInput` (`parseKey`), types as `ReservationTypeInput` with numbers meaning
 * SPC codes (`parseNvmeReservationType`).
 *
 * Which key goes where: Register — CRKEY = current key (unregister, replace),
 * NRKEY = new key (register, replace); Acquire — CRKEY = own key, PRKEY = key
 * to preempt; Release — CRKEY = own key. IEKEY (ignore existing key) skips the
 * controller's CRKEY check; Linux nvmet refuses it on Acquire and Release
 * (Invalid Field), and its Reservation Report requires EDS = 1 (128-bit host IDs).
 */
import { ArgumentRangeError, ArgumentTypeError, describeValue } from '../invalid-argument';
import { type KeyInput, parseKey } from '../scsi/keys';
import type { ReservationTypeInput } from '../scsi/reservation-types';
import { reservationStatusLength, ReservationStatusLayout } from './reservation-report';
import { parseNvmeReservationType } from './reservation-type-codes';

/** Opcodes of the reservation commands. Bits 1:0 give the data direction (01b host to controller, 10b controller to host). */
export const NvmeReservationOpcode = {
  REGISTER: 0x0d,
  REPORT: 0x0e,
  ACQUIRE: 0x11,
  RELEASE: 0x15,
} as const;

/** A built reservation command, ready for `encodePassthruCommand` (plus nsid and timeout). */
export interface NvmeReservationCommand {
  /** Command opcode. */
  opcode: number;
  /** Command dword 10. */
  cdw10: number;
  /** Command dword 11 (Reservation Report only). */
  cdw11?: number;
  /** Data buffer: filled for `'out'`, zeroed and to be filled by the controller for `'in'`. */
  data: Buffer;
  /** `'out'` host to controller, `'in'` controller to host. */
  direction: 'in' | 'out';
}

/** Reservation Register actions (RREGA, CDW10 bits 2:0). */
export const RegisterAction = { register: 0, unregister: 1, replace: 2 } as const;
/** Reservation Acquire actions (RACQA, CDW10 bits 2:0). */
export const AcquireAction = { acquire: 0, preempt: 1, 'preempt-and-abort': 2 } as const;
/** Reservation Release actions (RRELA, CDW10 bits 2:0). */
export const ReleaseAction = { release: 0, clear: 1 } as const;

/** IEKEY, CDW10 bit 3. */
const IEKEY = 1 << 3;
/** CPTPL values (Reservation Register CDW10 bits 31:30): 10b set PTPL state to 0, 11b set it to 1. */
const CPTPL_CLEAR = 2;
const CPTPL_SET = 3;

/** Options of {@link buildReservationRegister}. */
export interface ReservationRegisterOptions {
  /** `'register'` a new key, `'unregister'` this host, `'replace'` its key. */
  action: keyof typeof RegisterAction;
  /** CRKEY: the key registered now. Required for unregister and replace unless `ignoreExistingKey`; refused for register. */
  currentKey?: KeyInput;
  /** NRKEY: the key to register. Required for register and replace; refused for unregister. */
  newKey?: KeyInput;
  /** IEKEY: the controller skips the CRKEY check. Default false. */
  ignoreExistingKey?: boolean;
  /** CPTPL: `true` sets Persist Through Power Loss, `false` clears it; omitted leaves it unchanged. */
  ptpl?: boolean;
}

/** Options of {@link buildReservationAcquire}. */
export interface ReservationAcquireOptions {
  /** `'acquire'` the reservation, `'preempt'` or `'preempt-and-abort'` the registrants of `preemptKey`. */
  action: keyof typeof AcquireAction;
  /** CRKEY: this host's registered key. */
  key: KeyInput;
  /** PRKEY: the key to preempt. Required for the preempt actions (0 is allowed: all-registrants reservations); refused for acquire. */
  preemptKey?: KeyInput;
  /** RTYPE: the reservation type to acquire or to hold after the preempt. */
  type: ReservationTypeInput;
  /** IEKEY. Default false. */
  ignoreExistingKey?: boolean;
}

/** Options of {@link buildReservationRelease}. */
export interface ReservationReleaseOptions {
  /** `'release'` the reservation held, or `'clear'` the reservation and every registration. */
  action: keyof typeof ReleaseAction;
  /** CRKEY: this host's registered key. */
  key: KeyInput;
  /** RTYPE of the reservation being released; required for release, refused for clear. */
  type?: ReservationTypeInput;
  /** IEKEY. Default false. */
  ignoreExistingKey?: boolean;
}

/** Options of {@link buildReservationReport}. */
export interface ReservationReportOptions {
  /** Bytes to receive: a multiple of 4, at least the header (24, or 64 extended). Default: the header plus 16 controllers. */
  allocationLength?: number;
  /** EDS: ask for the extended structure (128-bit host IDs). Default true. */
  extended?: boolean;
}

type Api = 'reservationRegister' | 'reservationAcquire' | 'reservationRelease' | 'reservationReport';

function options(api: Api, o: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: options must be an object; received ${describeValue(o)}`);
  }
  for (const name of Object.keys(o)) {
    if (!allowed.includes(name)) {
      throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: unknown option ${JSON.stringify(name)}; accepted: ${allowed.join(', ')}`);
    }
  }
  return o as Record<string, unknown>;
}

function action<T extends Record<string, number>>(api: Api, v: unknown, table: T): number {
  if (typeof v !== 'string') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: option action must be a string; received ${describeValue(v)}`);
  }
  if (!Object.prototype.hasOwnProperty.call(table, v)) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: action ${JSON.stringify(v)} is not one of ${Object.keys(table).join(', ')}`);
  }
  return table[v];
}

function within<T>(api: Api, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ArgumentRangeError) throw new ArgumentRangeError(e.code, `${api}: ${e.message}`);
    if (e instanceof ArgumentTypeError) throw new ArgumentTypeError(e.code, `${api}: ${e.message}`);
    throw e;
  }
}

function flag(api: Api, o: Record<string, unknown>, name: string): boolean | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: option ${name} must be a boolean; received ${describeValue(v)}`);
  }
  return v;
}

function key(api: Api, o: Record<string, unknown>, name: string, act: string, need: 'required' | 'refused' | 'optional'): bigint {
  const v = o[name];
  if (v === undefined) {
    if (need === 'required') throw new ArgumentRangeError('ERR_INVALID_KEY', `${api}: action ${act} needs option ${name}`);
    return 0n;
  }
  if (need === 'refused') throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: action ${act} takes no option ${name}`);
  return within(api, () => parseKey(v as KeyInput, name));
}

function keys(a: bigint, b?: bigint): Buffer {
  const data = Buffer.alloc(b === undefined ? 8 : 16);
  data.writeBigUInt64LE(a, 0);
  if (b !== undefined) data.writeBigUInt64LE(b, 8);
  return data;
}

/**
 * Reservation Register (opcode 0x0d): CDW10 = CPTPL << 30 | IEKEY << 3 | RREGA; data = CRKEY, NRKEY (16 bytes).
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`) for bad or misplaced options.
 *
 * @example buildReservationRegister({ action: 'register', newKey: 0x1234n, ptpl: true })
 */
export function buildReservationRegister(opts: ReservationRegisterOptions): NvmeReservationCommand {
  const api = 'reservationRegister';
  const o = options(api, opts, ['action', 'currentKey', 'newKey', 'ignoreExistingKey', 'ptpl']);
  const rrega = action(api, o.action, RegisterAction);
  const act = o.action as string;
  const iekey = flag(api, o, 'ignoreExistingKey') ?? false;
  const ptpl = flag(api, o, 'ptpl');
  const crkey = key(api, o, 'currentKey', act, rrega === RegisterAction.register ? 'refused' : iekey ? 'optional' : 'required');
  const nrkey = key(api, o, 'newKey', act, rrega === RegisterAction.unregister ? 'refused' : 'required');
  const cptpl = ptpl === undefined ? 0 : ptpl ? CPTPL_SET : CPTPL_CLEAR;
  const cdw10 = ((cptpl << 30) | (iekey ? IEKEY : 0) | rrega) >>> 0;
  return { opcode: NvmeReservationOpcode.REGISTER, cdw10, data: keys(crkey, nrkey), direction: 'out' };
}

/**
 * Reservation Acquire (opcode 0x11): CDW10 = RTYPE << 8 | IEKEY << 3 | RACQA; data = CRKEY, PRKEY (16 bytes).
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`, `ERR_INVALID_RESERVATION_TYPE`).
 *
 * @example buildReservationAcquire({ action: 'preempt-and-abort', key: 0xaan, preemptKey: 0xbbn, type: 'we-ro' })
 */
export function buildReservationAcquire(opts: ReservationAcquireOptions): NvmeReservationCommand {
  const api = 'reservationAcquire';
  const o = options(api, opts, ['action', 'key', 'preemptKey', 'type', 'ignoreExistingKey']);
  const racqa = action(api, o.action, AcquireAction);
  const act = o.action as string;
  const iekey = flag(api, o, 'ignoreExistingKey') ?? false;
  const crkey = key(api, o, 'key', act, 'required');
  const prkey = key(api, o, 'preemptKey', act, racqa === AcquireAction.acquire ? 'refused' : 'required');
  if (o.type === undefined) throw new ArgumentRangeError('ERR_INVALID_RESERVATION_TYPE', `${api}: action ${act} needs option type`);
  const rtype = within(api, () => parseNvmeReservationType(o.type as ReservationTypeInput, 'type'));
  const cdw10 = (rtype << 8) | (iekey ? IEKEY : 0) | racqa;
  return { opcode: NvmeReservationOpcode.ACQUIRE, cdw10, data: keys(crkey, prkey), direction: 'out' };
}

/**
 * Reservation Release (opcode 0x15): CDW10 = RTYPE << 8 | IEKEY << 3 | RRELA; data = CRKEY (8 bytes).
 * RTYPE is 0 for clear.
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`, `ERR_INVALID_RESERVATION_TYPE`).
 *
 * @example buildReservationRelease({ action: 'release', key: 0xaan, type: 'write-exclusive' })
 */
export function buildReservationRelease(opts: ReservationReleaseOptions): NvmeReservationCommand {
  const api = 'reservationRelease';
  const o = options(api, opts, ['action', 'key', 'type', 'ignoreExistingKey']);
  const rrela = action(api, o.action, ReleaseAction);
  const act = o.action as string;
  const iekey = flag(api, o, 'ignoreExistingKey') ?? false;
  const crkey = key(api, o, 'key', act, 'required');
  let rtype = 0;
  if (rrela === ReleaseAction.release) {
    if (o.type === undefined) throw new ArgumentRangeError('ERR_INVALID_RESERVATION_TYPE', `${api}: action release needs option type`);
    rtype = within(api, () => parseNvmeReservationType(o.type as ReservationTypeInput, 'type'));
  } else if (o.type !== undefined) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: action clear takes no option type`);
  }
  const cdw10 = (rtype << 8) | (iekey ? IEKEY : 0) | rrela;
  return { opcode: NvmeReservationOpcode.RELEASE, cdw10, data: keys(crkey), direction: 'out' };
}

/** Default number of registrant entries a report makes room for. */
export const DEFAULT_REPORT_CONTROLLERS = 16;

/**
 * Reservation Report (opcode 0x0e): CDW10 = NUMD (dwords to transfer, 0's based), CDW11 bit 0 = EDS;
 * data = a zeroed buffer of `allocationLength` bytes for the controller to fill.
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`) for a length that is not a multiple of 4,
 *   shorter than the header or longer than the header plus 65535 entries.
 *
 * @example buildReservationReport({ allocationLength: reservationStatusLength(4, true) })
 */
export function buildReservationReport(opts: ReservationReportOptions = {}): NvmeReservationCommand {
  const api = 'reservationReport';
  const o = options(api, opts, ['allocationLength', 'extended']);
  const extended = flag(api, o, 'extended') ?? true;
  const L = ReservationStatusLayout;
  const min = extended ? L.EXTENDED_HEADER : L.REGULAR_HEADER;
  const max = reservationStatusLength(0xffff, extended);
  const len = o.allocationLength ?? reservationStatusLength(DEFAULT_REPORT_CONTROLLERS, extended);
  if (typeof len !== 'number') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: option allocationLength must be a number; received ${describeValue(len)}`);
  }
  if (!Number.isInteger(len) || len % 4 !== 0 || len < min || len > max) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: allocationLength ${String(len)} must be a multiple of 4 from ${min} to ${max}`);
  }
  return {
    opcode: NvmeReservationOpcode.REPORT,
    cdw10: len / 4 - 1,
    cdw11: extended ? 1 : 0,
    data: Buffer.alloc(len),
    direction: 'in',
  };
}
