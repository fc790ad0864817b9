// @ts-check
'use strict';
/**
 * A minimal in-process SCSI target for host CPU benchmarks (cpu-bench.js):
 * logical units that answer the commands `Device.readKeys()` and `fence()` send
 * (INQUIRY standard / VPD 80h / 83h, PR IN READ KEYS and READ RESERVATION,
 * PR OUT PREEMPT AND ABORT and PREEMPT), and `BenchTransport`, a ScsiTransport
 * (lib/transport/scsi-transport.ts) that a real `Device` is built on.
 *
 * Plain JavaScript on purpose: the scripted fake SAN of the unit tests
 * (test/unit/support/fake-transport.ts) is TypeScript that is not compiled to
 * dist/, and it logs and copies every command, which would be measured as if
 * it were the library's cost. This one does as little as an answer needs:
 * the response is written straight into the caller's data-in buffer, nothing
 * is logged unless a recorder is set, and the cost of the whole fake is
 * measured on its own by cpu-bench.js (the transport called without Device).
 *
 * Completion: 'microtask' resolves the submit promise at once (the answer is
 * there in the next microtask); 'immediate' hands every answer of one
 * event-loop turn back in the next turn, in one setImmediate (as the sg poller
 * hands back the results one poll wake-up found).
 */

/** @typedef {'microtask' | 'immediate'} Completion */
/** @typedef {{ cdb: Buffer, direction: 'none' | 'in' | 'out', data: Buffer | null, timeoutMs: number, signal?: AbortSignal }} TransportCommand */
/** @typedef {{ status: number, hostStatus: number, driverStatus: number, sense: Buffer, resid: number, durationMs: number, data: Buffer | null }} RawResult */
/** @typedef {{ cdb: Buffer, direction: 'none' | 'in' | 'out', data: Buffer | null }} RecordedCommand */

const GOOD = 0x00;
const CHECK_CONDITION = 0x02;
const RESERVATION_CONFLICT = 0x18;
const DRIVER_SENSE = 0x08;
const NO_SENSE = Buffer.alloc(0);

/** Fixed-format sense data (18 bytes): ILLEGAL REQUEST with `asc`/`ascq`. @param {number} asc @param {number} ascq */
function illegalRequestSense(asc, ascq) {
  const s = Buffer.alloc(18);
  s[0] = 0x70;
  s[2] = 0x05;
  s[7] = 10;
  s[12] = asc;
  s[13] = ascq;
  return s;
}
const INVALID_OPCODE = illegalRequestSense(0x20, 0x00);
const INVALID_FIELD_IN_CDB = illegalRequestSense(0x24, 0x00);

/** The device server's answer: status, and either data-in bytes written or sense. */
class Answer {
  /** @param {number} status @param {number} length bytes of the whole response (data-in) @param {Buffer} sense */
  constructor(status, length, sense) {
    this.status = status;
    this.length = length;
    this.sense = sense;
  }
}
const ANSWER_GOOD = new Answer(GOOD, 0, NO_SENSE);
const ANSWER_CONFLICT = new Answer(RESERVATION_CONFLICT, 0, NO_SENSE);

/**
 * Write `src` into `dst` as far as it fits; the response's full length is returned.
 * @param {Buffer | null} dst @param {Buffer} src
 */
function copyOut(dst, src) {
  if (dst) src.copy(dst, 0, 0, Math.min(src.length, dst.length));
  return src.length;
}

/** One logical unit: registrations per I_T nexus, the reservation, PRgeneration. */
class BenchLogicalUnit {
  /** @param {number} index 0-based; gives the NAA WWN and the serial */
  constructor(index) {
    const naaHex = `6001405${(index + 1).toString(16).padStart(25, '0')}`;
    this.wwn = `naa.${naaHex}`;
    this.generation = 0;
    /** @type {Map<string, bigint>} registered key per nexus id, in registration order */
    this.registrations = new Map();
    /** @type {{ holder: string, type: number } | null} */
    this.reservation = null;
    this.standardInquiry = Buffer.alloc(36);
    this.standardInquiry[2] = 0x06; // SPC-4
    this.standardInquiry[3] = 0x02;
    this.standardInquiry[4] = 31;
    this.standardInquiry.write('BENCH   ', 8, 'latin1');
    this.standardInquiry.write(`LU ${index}`.padEnd(16), 16, 'latin1');
    this.standardInquiry.write('1.0 ', 32, 'latin1');
    const serial = Buffer.from(`BENCH${index}`, 'latin1');
    this.serialVpd = Buffer.concat([Buffer.from([0, 0x80, 0, serial.length]), serial]);
    const naa = Buffer.from(naaHex, 'hex'); // 16 bytes: NAA 6
    // One LU designator: binary code set, association LU, NAA.
    this.identificationVpd = Buffer.concat([Buffer.from([0, 0x83, 0, 4 + naa.length, 0x01, 0x03, 0, naa.length]), naa]);
  }

  /** Set-up, not timed: the given nexuses registered with their keys, `holder` holding a reservation of `type`. @param {Array<[string, bigint]>} registrations @param {string} holder @param {number} type */
  arm(registrations, holder, type) {
    this.registrations.clear();
    for (const [nexus, key] of registrations) this.registrations.set(nexus, key);
    this.reservation = { holder, type };
    this.generation++;
  }

  /**
   * Execute one command received on `nexus`; data-in is written into `dataIn`.
   * @param {string} nexus @param {Buffer} cdb @param {Buffer | null} dataIn @param {Buffer | null} dataOut
   * @returns {Answer}
   */
  execute(nexus, cdb, dataIn, dataOut) {
    switch (cdb[0]) {
      case 0x5e:
        return this.prIn(cdb[1] & 0x1f, dataIn);
      case 0x5f:
        return this.prOut(nexus, cdb, dataOut);
      case 0x12:
        return this.inquiry(cdb, dataIn);
      case 0x00:
        return ANSWER_GOOD;
      default:
        return new Answer(CHECK_CONDITION, 0, INVALID_OPCODE);
    }
  }

  /** @param {Buffer} cdb @param {Buffer | null} dataIn */
  inquiry(cdb, dataIn) {
    if ((cdb[1] & 1) === 0) return new Answer(GOOD, copyOut(dataIn, this.standardInquiry), NO_SENSE);
    if (cdb[2] === 0x80) return new Answer(GOOD, copyOut(dataIn, this.serialVpd), NO_SENSE);
    if (cdb[2] === 0x83) return new Answer(GOOD, copyOut(dataIn, this.identificationVpd), NO_SENSE);
    return new Answer(CHECK_CONDITION, 0, INVALID_FIELD_IN_CDB);
  }

  /** READ KEYS and READ RESERVATION, written straight into the data-in buffer. @param {number} action @param {Buffer | null} d */
  prIn(action, d) {
    if (action === 0) {
      const n = this.registrations.size;
      const length = 8 + 8 * n;
      if (d && d.length >= 8) {
        d.writeUInt32BE(this.generation >>> 0, 0);
        d.writeUInt32BE(8 * n, 4);
        let at = 8;
        for (const key of this.registrations.values()) {
          if (at + 8 > d.length) break;
          d.writeBigUInt64BE(key, at);
          at += 8;
        }
      }
      return new Answer(GOOD, length, NO_SENSE);
    }
    if (action === 1) {
      const r = this.reservation;
      const length = r ? 24 : 8;
      if (d && d.length >= length) {
        d.writeUInt32BE(this.generation >>> 0, 0);
        d.writeUInt32BE(length - 8, 4);
        if (r) {
          d.fill(0, 8, 24);
          d.writeBigUInt64BE(this.registrations.get(r.holder) ?? 0n, 8);
          d[21] = r.type & 0x0f;
        }
      }
      return new Answer(GOOD, length, NO_SENSE);
    }
    return new Answer(CHECK_CONDITION, 0, INVALID_FIELD_IN_CDB);
  }

  /** PREEMPT (4) and PREEMPT AND ABORT (5) only. @param {string} nexus @param {Buffer} cdb @param {Buffer | null} p */
  prOut(nexus, cdb, p) {
    const action = cdb[1] & 0x1f;
    if ((action !== 4 && action !== 5) || !p || p.length < 24) return new Answer(CHECK_CONDITION, 0, INVALID_FIELD_IN_CDB);
    const key = p.readBigUInt64BE(0);
    const victim = p.readBigUInt64BE(8);
    if (this.registrations.get(nexus) !== key) return ANSWER_CONFLICT;
    const r = this.reservation;
    const holderKey = r ? this.registrations.get(r.holder) : undefined;
    let removed = 0;
    for (const [id, k] of this.registrations) {
      if (k === victim && id !== nexus) {
        this.registrations.delete(id);
        removed++;
      }
    }
    if (holderKey === victim) this.reservation = { holder: nexus, type: cdb[2] & 0x0f };
    else if (removed === 0) return ANSWER_CONFLICT;
    this.generation++;
    return ANSWER_GOOD;
  }
}

/** Answers waiting for the next turn ('immediate' completion), shared by every transport. */
/** @type {Array<() => void>} */
let nextTurn = [];
function flushNextTurn() {
  const batch = nextTurn;
  nextTurn = [];
  for (const resolve of batch) resolve();
}

/** One open path (I_T nexus `nexus`) to `lu`: the ScsiTransport a `Device` is built on. */
class BenchTransport {
  /** @param {BenchLogicalUnit} lu @param {string} nexus @param {Completion} completion */
  constructor(lu, nexus, completion) {
    this.kind = /** @type {const} */ ('sg-async');
    this.lu = lu;
    this.nexus = nexus;
    this.completion = completion;
    this.inFlight = 0;
    this.closed = false;
    /** @type {RecordedCommand[] | null} when set, every command is copied here (set-up runs only) */
    this.recorder = null;
  }

  /** @param {TransportCommand} command @returns {Promise<RawResult>} */
  submit(command) {
    if (this.closed) return Promise.reject(new Error(`${this.nexus}: closed`));
    const { cdb, direction, data } = command;
    if (this.recorder) this.recorder.push({ cdb: Buffer.from(cdb), direction, data: data && direction === 'out' ? Buffer.from(data) : data && Buffer.alloc(data.length) });
    const dataIn = direction === 'in' ? data : null;
    const answer = this.lu.execute(this.nexus, cdb, dataIn, direction === 'out' ? data : null);
    const transferred = dataIn ? Math.min(answer.length, dataIn.length) : 0;
    /** @type {RawResult} */
    const raw = {
      status: answer.status,
      hostStatus: 0,
      driverStatus: answer.sense.length > 0 ? DRIVER_SENSE : 0,
      sense: answer.sense,
      resid: dataIn ? dataIn.length - transferred : 0,
      durationMs: 0,
      data: dataIn,
    };
    if (this.completion === 'microtask') return Promise.resolve(raw);
    this.inFlight++;
    return new Promise((resolve) => {
      if (nextTurn.length === 0) setImmediate(flushNextTurn);
      nextTurn.push(() => {
        this.inFlight--;
        resolve(raw);
      });
    });
  }

  /** @returns {Promise<void>} */
  reset() {
    return Promise.resolve();
  }

  close() {
    this.closed = true;
  }
}

module.exports = { BenchLogicalUnit, BenchTransport };
