/**
 * One simulated logical unit of the fake SAN: persistent reservation state per
 * SPC-4 §5.12 (registrations per I_T nexus, the reservation holder and type,
 * PRgeneration, UNIT ATTENTIONs queued per nexus) and the device server that
 * executes a CDB against it, answering with SPC byte layouts (spc-bytes.ts).
 *
 * Supported: TEST UNIT READY, INQUIRY (standard, VPD 00h/80h/83h), READ
 * CAPACITY(10), READ(10), WRITE(10) (reservation conflicts as SPC's table of
 * allowed commands says), PR IN (all four), PR OUT REGISTER, RESERVE, RELEASE,
 * CLEAR, PREEMPT, PREEMPT AND ABORT, REGISTER AND IGNORE EXISTING KEY.
 * Not supported (ILLEGAL REQUEST): SPEC_I_PT, ALL_TG_PT, REGISTER AND MOVE,
 * REPLACE LOST RESERVATION; PREEMPT AND ABORT does not abort other nexuses' tasks.
 */
import {
  deviceIdentificationVpdData,
  fixedSense,
  iscsiTransportId,
  readFullStatusData,
  readKeysData,
  readReservationData,
  reportCapabilitiesData,
  standardInquiryData,
  supportedVpdPagesData,
  unitSerialVpdData,
} from './spc-bytes';

/** One I_T nexus: an initiator port (iSCSI name + ISID) and a relative target port. */
export interface Nexus {
  /** Unique per nexus: `<initiator>,i,0x<isid>@<port>`. */
  readonly id: string;
  readonly initiator: string;
  readonly isid: string;
  readonly port: number;
}

/** Build a nexus. */
export function nexus(initiator: string, isid: string, port: number): Nexus {
  return { id: `${initiator},i,0x${isid}@${port}`, initiator, isid, port };
}

/** What the device server answered. */
export interface DeviceResponse {
  status: number;
  sense?: Buffer;
  /** Data-in bytes (the whole response; the transport truncates to the allocation length). */
  data?: Buffer;
}

/** SAM status codes used here. */
export const GOOD = 0x00;
export const CHECK_CONDITION = 0x02;
export const BUSY = 0x08;
export const RESERVATION_CONFLICT = 0x18;
export const TASK_SET_FULL = 0x28;

/** Sense keys used here. */
export const ILLEGAL_REQUEST = 0x5;
export const UNIT_ATTENTION = 0x6;

/** An additional sense code and qualifier. */
export interface Asc {
  asc: number;
  ascq: number;
}

/** UNIT ATTENTION ASC/ASCQ of SPC's PR rules. */
export const RESERVATIONS_PREEMPTED: Asc = { asc: 0x2a, ascq: 0x03 };
export const RESERVATIONS_RELEASED: Asc = { asc: 0x2a, ascq: 0x04 };
export const REGISTRATIONS_PREEMPTED: Asc = { asc: 0x2a, ascq: 0x05 };
/** POWER ON, RESET, OR BUS DEVICE RESET OCCURRED. */
export const POWER_ON_RESET: Asc = { asc: 0x29, ascq: 0x00 };

const INVALID_OPCODE: Asc = { asc: 0x20, ascq: 0x00 };
const INVALID_FIELD_IN_CDB: Asc = { asc: 0x24, ascq: 0x00 };
const INVALID_FIELD_IN_PARAMETER_LIST: Asc = { asc: 0x26, ascq: 0x00 };
const INVALID_RELEASE: Asc = { asc: 0x26, ascq: 0x04 };
const PARAMETER_LIST_LENGTH_ERROR: Asc = { asc: 0x1a, ascq: 0x00 };

const BLOCKS = 2048;
const BLOCK_SIZE = 512;

const good = (data?: Buffer): DeviceResponse => (data ? { status: GOOD, data } : { status: GOOD });
const conflict = (): DeviceResponse => ({ status: RESERVATION_CONFLICT });
const illegal = (a: Asc): DeviceResponse => ({ status: CHECK_CONDITION, sense: fixedSense(ILLEGAL_REQUEST, a.asc, a.ascq) });

/** All-registrants types (7, 8): every registrant holds the reservation. */
const isAllRegistrants = (type: number): boolean => type === 7 || type === 8;
/** Registrants-only and all-registrants types: releasing sends RESERVATIONS RELEASED to the other registrants. */
const isRegistrantsType = (type: number): boolean => type >= 5 && type <= 8;
const VALID_TYPES = new Set([1, 3, 5, 6, 7, 8]);

/** Options of a simulated logical unit. */
export interface LogicalUnitOptions {
  /** Short name used in device paths ('lu0'). */
  name: string;
  /** NAA world-wide name reported in VPD 83h; null: the page carries no LU designator. */
  wwn: string | null;
  serial?: string;
}

/** A simulated logical unit and its persistent reservation state. */
export class FakeLogicalUnit {
  readonly name: string;
  readonly wwn: string | null;
  readonly serial: string;
  /** PRgeneration. */
  generation = 0;
  /** Extra T10 vendor ID designators appended to VPD page 83h (to make it long). */
  extraDesignators = 0;
  /** Registrations in the order they were made. */
  readonly registrations = new Map<string, { nexus: Nexus; key: bigint }>();
  /** The persistent reservation: the holder's nexus id (any registrant for types 7/8) and the type. */
  reservation: { holder: string; type: number } | null = null;
  /** APTPL of the last registration that set it. */
  ptplActivated = false;
  private readonly unitAttentions = new Map<string, Asc[]>();

  constructor(options: LogicalUnitOptions) {
    this.name = options.name;
    this.wwn = options.wwn;
    this.serial = options.serial ?? options.name.toUpperCase();
  }

  // ---- state as tests see it ----------------------------------------------------

  /** Registered keys, one per registered nexus, in registration order. */
  keys(): bigint[] {
    return [...this.registrations.values()].map((r) => r.key);
  }

  /** The distinct registered keys. */
  distinctKeys(): bigint[] {
    return [...new Set(this.keys())];
  }

  /** The reservation as READ RESERVATION reports it (key 0 for all-registrants types). */
  reservationKey(): { key: bigint; type: number } | null {
    const r = this.reservation;
    if (!r) return null;
    return { key: isAllRegistrants(r.type) ? 0n : (this.registrations.get(r.holder)?.key ?? 0n), type: r.type };
  }

  /** UNIT ATTENTIONs queued for `n`, oldest first. */
  pendingUnitAttentions(n: Nexus): Asc[] {
    return [...(this.unitAttentions.get(n.id) ?? [])];
  }

  // ---- direct set-up (no generation bump, no UNIT ATTENTION) --------------------

  /** Register `key` for `n`, as if done earlier. */
  setRegistration(n: Nexus, key: bigint): void {
    this.registrations.set(n.id, { nexus: n, key });
  }

  /** Make `n` hold a reservation of `type`, as if done earlier. */
  setReservation(n: Nexus, type: number): void {
    if (!this.registrations.has(n.id)) throw new Error(`fake SAN: ${n.id} is not registered on ${this.name}`);
    this.reservation = { holder: n.id, type };
  }

  /** Queue a UNIT ATTENTION for `n` (e.g. POWER_ON_RESET). */
  queueUnitAttention(n: Nexus, a: Asc): void {
    const list = this.unitAttentions.get(n.id) ?? [];
    list.push(a);
    this.unitAttentions.set(n.id, list);
  }

  // ---- the device server -----------------------------------------------------

  /**
   * Execute one command received on nexus `n`. `dataOut` is the data-out
   * buffer (PR OUT parameter list, WRITE data).
   */
  execute(n: Nexus, cdb: Buffer, dataOut: Buffer | null): DeviceResponse {
    const op = cdb[0];
    if (op === 0x12) return this.inquiry(n, cdb); // INQUIRY neither reports nor clears a UNIT ATTENTION
    const ua = this.unitAttentions.get(n.id);
    if (ua && ua.length > 0) {
      const a = ua.shift()!;
      return { status: CHECK_CONDITION, sense: fixedSense(UNIT_ATTENTION, a.asc, a.ascq) };
    }
    switch (op) {
      case 0x00:
        return good();
      case 0x25: {
        const d = Buffer.alloc(8);
        d.writeUInt32BE(BLOCKS - 1, 0);
        d.writeUInt32BE(BLOCK_SIZE, 4);
        return good(d);
      }
      case 0x28:
        return this.mayAccess(n, 'read') ? good(Buffer.alloc(cdb.readUInt16BE(7) * BLOCK_SIZE)) : conflict();
      case 0x2a:
        return this.mayAccess(n, 'write') ? good() : conflict();
      case 0x5e:
        return this.prIn(cdb[1] & 0x1f);
      case 0x5f:
        return this.prOut(n, cdb, dataOut);
      default:
        return illegal(INVALID_OPCODE);
    }
  }

  private inquiry(n: Nexus, cdb: Buffer): DeviceResponse {
    const evpd = (cdb[1] & 0x01) !== 0;
    const page = cdb[2];
    if (!evpd) return page === 0 ? good(standardInquiryData('FAKESAN', `LU ${this.name}`, '1.0')) : illegal(INVALID_FIELD_IN_CDB);
    switch (page) {
      case 0x00:
        return good(supportedVpdPagesData([0x00, 0x80, 0x83]));
      case 0x80:
        return good(unitSerialVpdData(this.serial));
      case 0x83:
        return good(deviceIdentificationVpdData(this.wwn, n.port, this.extraDesignators));
      default:
        return illegal(INVALID_FIELD_IN_CDB);
    }
  }

  private isRegistered(n: Nexus): boolean {
    return this.registrations.has(n.id);
  }

  private isHolder(n: Nexus): boolean {
    const r = this.reservation;
    if (!r) return false;
    return isAllRegistrants(r.type) ? this.isRegistered(n) : r.holder === n.id;
  }

  /** SPC-4 table "SPC commands that are allowed in the presence of various reservations", for READ and WRITE. */
  private mayAccess(n: Nexus, access: 'read' | 'write'): boolean {
    const r = this.reservation;
    if (!r || this.isHolder(n)) return true;
    switch (r.type) {
      case 1: // Write Exclusive
        return access === 'read';
      case 3: // Exclusive Access
        return false;
      case 5: // Write Exclusive – Registrants Only
      case 7: // Write Exclusive – All Registrants
        return access === 'read' || this.isRegistered(n);
      default: // 6, 8: Exclusive Access – Registrants Only / All Registrants
        return this.isRegistered(n);
    }
  }

  private prIn(action: number): DeviceResponse {
    switch (action) {
      case 0:
        return good(readKeysData(this.generation, this.keys()));
      case 1:
        return good(readReservationData(this.generation, this.reservationKey()));
      case 2:
        return good(reportCapabilitiesData(this.ptplActivated));
      case 3: {
        const r = this.reservation;
        const entries = [...this.registrations.values()].map(({ nexus: x, key }) => ({
          key,
          holder: r !== null && (isAllRegistrants(r.type) || r.holder === x.id),
          type: r?.type ?? 0,
          relativeTargetPort: x.port,
          transportId: iscsiTransportId(x.initiator, x.isid),
        }));
        return good(readFullStatusData(this.generation, entries));
      }
      default:
        return illegal(INVALID_FIELD_IN_CDB);
    }
  }

  private addUnitAttention(ids: Iterable<string>, a: Asc): void {
    for (const id of ids) {
      const reg = this.registrations.get(id);
      const target = reg?.nexus;
      if (target) this.queueUnitAttention(target, a);
    }
  }

  /** Remove the registration of `id`, releasing a reservation it held (SPC-4 5.12.11.2.2). */
  private unregister(id: string): void {
    this.registrations.delete(id);
    const r = this.reservation;
    if (!r) return;
    if (isAllRegistrants(r.type)) {
      if (this.registrations.size === 0) this.reservation = null;
    } else if (r.holder === id) {
      this.reservation = null;
      if (isRegistrantsType(r.type)) this.addUnitAttention(this.registrations.keys(), RESERVATIONS_RELEASED);
    }
  }

  private prOut(n: Nexus, cdb: Buffer, data: Buffer | null): DeviceResponse {
    const action = cdb[1] & 0x1f;
    const scope = cdb[2] >> 4;
    const type = cdb[2] & 0x0f;
    const listLength = cdb.readUInt32BE(5);
    if (action === 7 || action === 8) return illegal(INVALID_FIELD_IN_CDB); // REGISTER AND MOVE, REPLACE LOST RESERVATION
    if (action > 8) return illegal(INVALID_FIELD_IN_CDB);
    if (listLength !== 24 || !data || data.length < 24) return illegal(PARAMETER_LIST_LENGTH_ERROR);
    const key = data.readBigUInt64BE(0);
    const saKey = data.readBigUInt64BE(8);
    const flags = data[20];
    if (flags & 0x0c) return illegal(INVALID_FIELD_IN_PARAMETER_LIST); // SPEC_I_PT, ALL_TG_PT: not supported (REPORT CAPABILITIES says so)
    const aptpl = (flags & 0x01) !== 0;
    const reg = this.registrations.get(n.id);

    if (action === 0 || action === 6) {
      // REGISTER / REGISTER AND IGNORE EXISTING KEY
      if (action === 0 && (reg ? key !== reg.key : key !== 0n)) return conflict();
      if (saKey === 0n) {
        if (!reg) return good();
        this.unregister(n.id);
      } else if (reg) {
        reg.key = saKey;
      } else {
        this.registrations.set(n.id, { nexus: n, key: saKey });
      }
      this.ptplActivated = aptpl;
      this.generation++;
      return good();
    }

    // Every other service action needs the nexus registered with the key it sends.
    if (!reg || reg.key !== key) return conflict();
    const typeChecked = (): DeviceResponse | null => (scope !== 0 || !VALID_TYPES.has(type) ? illegal(INVALID_FIELD_IN_CDB) : null);

    switch (action) {
      case 1: {
        // RESERVE
        const bad = typeChecked();
        if (bad) return bad;
        const r = this.reservation;
        if (r) return this.isHolder(n) && r.type === type ? good() : conflict();
        this.reservation = { holder: n.id, type };
        return good();
      }
      case 2: {
        // RELEASE
        const r = this.reservation;
        if (!r || !this.isHolder(n)) return good();
        if (r.type !== type || scope !== 0) return illegal(INVALID_RELEASE);
        this.reservation = null;
        if (isRegistrantsType(r.type)) this.addUnitAttention([...this.registrations.keys()].filter((id) => id !== n.id), RESERVATIONS_RELEASED);
        return good();
      }
      case 3: {
        // CLEAR
        this.addUnitAttention([...this.registrations.keys()].filter((id) => id !== n.id), RESERVATIONS_PREEMPTED);
        this.registrations.clear();
        this.reservation = null;
        this.generation++;
        return good();
      }
      default:
        return this.preempt(n, saKey, scope, type);
    }
  }

  /** PREEMPT / PREEMPT AND ABORT (SPC-4 5.12.11.2.4). */
  private preempt(n: Nexus, saKey: bigint, scope: number, type: number): DeviceResponse {
    const r = this.reservation;
    const holderKey = r && !isAllRegistrants(r.type) ? this.registrations.get(r.holder)?.key : undefined;
    const preemptsReservation = r !== null && (isAllRegistrants(r.type) ? saKey === 0n : holderKey === saKey);
    if (!preemptsReservation) {
      // Registrations only: remove every registration with the SERVICE ACTION RESERVATION KEY.
      if (saKey === 0n) return illegal(INVALID_FIELD_IN_PARAMETER_LIST);
      const removed = [...this.registrations].filter(([id, g]) => g.key === saKey && id !== n.id).map(([id]) => id);
      if (removed.length === 0) return conflict();
      this.addUnitAttention(removed, REGISTRATIONS_PREEMPTED);
      for (const id of removed) this.unregister(id);
      this.generation++;
      return good();
    }
    if (scope !== 0 || !VALID_TYPES.has(type)) return illegal(INVALID_FIELD_IN_CDB);
    const removed = [...this.registrations]
      .filter(([id, g]) => id !== n.id && (isAllRegistrants(r.type) || g.key === saKey))
      .map(([id]) => id);
    this.addUnitAttention(removed, REGISTRATIONS_PREEMPTED);
    for (const id of removed) this.registrations.delete(id);
    this.reservation = { holder: n.id, type };
    if (r.type !== type) this.addUnitAttention([...this.registrations.keys()].filter((id) => id !== n.id), RESERVATIONS_RELEASED);
    this.generation++;
    return good();
  }
}
