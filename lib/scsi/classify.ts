/**
 * Turns the raw outcome of one SCSI command into success (`null`) or a typed
 * {@link ScsiPrError}. Pure; no I/O.
 */
import {
  ReservationConflictError,
  ScsiPrError,
  ScsiSenseError,
  ScsiStatusError,
  TimeoutError,
  TransportError,
} from '../errors';
import type { RawResult } from './raw-result';
import { driverStatusName, DriverStatus, DRIVER_MASK, HostStatus, hostStatusName, SamStatus, samStatusName } from './scsi-status';
import { decodeSense, formatSense, SenseKey, undecodableSense, type DecodedSense } from './sense';
import { hex2 } from './hex';
import { prServiceActionName } from './pr-service-actions';

/** What the classifier needs to know about the command besides its result. */
export interface ClassifyContext {
  /** Device path, used as the message prefix. */
  path: string;
  /** The CDB that was sent. */
  cdb: Buffer;
  /** Overrides the name derived from the CDB by {@link commandName}. */
  commandName?: string;
  /** The timeout the command was submitted with (ms), reported by TimeoutError. */
  timeoutMs?: number;
}

/*
 * Host bytes that older kernels (before about 6.3) derived from the SCSI status/sense itself
 * (scsi_decide_disposition / scsi_check_sense): RESERVATION CONFLICT → NEXUS
 * FAILURE; ILLEGAL REQUEST 20h/21h/22h/24h/26h/27h, HARDWARE ERROR, DATA
 * PROTECT, BLANK CHECK, … → TARGET FAILURE; MEDIUM ERROR 11h/13h/14h →
 * MEDIUM ERROR; DATA PROTECT 27h/07h → ALLOC FAILURE. When the status byte or
 * sense data is there, the SCSI outcome is the real one and these are noise.
 */
const MIDLAYER_DERIVED_HOST: ReadonlySet<number> = new Set([
  HostStatus.DID_TARGET_FAILURE,
  HostStatus.DID_NEXUS_FAILURE,
  HostStatus.DID_ALLOC_FAILURE,
  HostStatus.DID_MEDIUM_ERROR,
]);

/**
 * Classify the raw outcome of a command.
 *
 * Returns `null` for success, otherwise the error to throw, in this order:
 *
 * 1. **Transport** — host status other than `DID_OK`, or driver status (low
 *    nibble; the obsolete `SUGGEST_*` bits are masked off) other than
 *    `DRIVER_OK`/`DRIVER_SENSE` → {@link TransportError} carrying the `DID_*`
 *    name; `DID_TIME_OUT` or `DRIVER_TIMEOUT` → {@link TimeoutError} instead.
 *    Exception: the host bytes older kernels derive from the SCSI outcome
 *    itself (`DID_NEXUS_FAILURE` on RESERVATION CONFLICT; `DID_TARGET_FAILURE`,
 *    `DID_MEDIUM_ERROR`, `DID_ALLOC_FAILURE` on CHECK CONDITION) are ignored when
 *    the status byte is non-GOOD or sense data came back, so the SCSI outcome wins.
 * 2. **RESERVATION CONFLICT** (status 18h) → {@link ReservationConflictError}.
 * 3. **CHECK CONDITION** — status 02h, or status GOOD with `DRIVER_SENSE` and
 *    sense bytes (some kernels report it only that way), or the obsolete
 *    COMMAND TERMINATED (22h) with sense → {@link ScsiSenseError}. Sense keys
 *    NO SENSE, RECOVERED ERROR and COMPLETED mean the command completed, so
 *    they are success. If the sense bytes are empty or undecodable the error
 *    still is a ScsiSenseError, whose `sense` has `format: 'unknown'` (see
 *    `undecodableSense`) and code `'ERR_CHECK_CONDITION'`.
 * 4. **Other status** — GOOD and CONDITION MET are success; anything else
 *    (BUSY, TASK SET FULL, ACA ACTIVE, TASK ABORTED, …) → {@link ScsiStatusError}.
 *
 * Messages read `<path>: <command> failed: <reason>`, e.g.
 * `/dev/sg3: PERSISTENT RESERVE OUT (PREEMPT AND ABORT) failed: RESERVATION CONFLICT`.
 */
export function classifyResult(result: RawResult, context: ClassifyContext): ScsiPrError | null {
  // The common case first, before any message is built: GOOD, DID_OK, DRIVER_OK, no sense.
  if ((result.status & 0xfe) === 0 && (result.hostStatus & 0xff) === 0 && (result.driverStatus & DRIVER_MASK) === 0 && !(result.sense?.length > 0)) return null;
  const name = context.commandName ?? commandName(context.cdb);
  const prefix = `${context.path}: ${name}`;
  const errCtx = { path: context.path, cdb: context.cdb, result };
  // Bit 0 and bits 7..6 of the status byte were vendor/reserved in SCSI-2;
  // SAM uses bit 6 (TASK ABORTED), so only bit 0 is masked.
  const status = result.status & 0xfe;
  const host = result.hostStatus & 0xff;
  const driver = result.driverStatus & DRIVER_MASK;
  const sense = result.sense ?? Buffer.alloc(0);
  const driverSense = driver === DriverStatus.DRIVER_SENSE && sense.length > 0;
  const scsiOutcome = status !== SamStatus.GOOD || driverSense;

  // (1) transport / driver
  const hostFailed = host !== HostStatus.DID_OK && !(scsiOutcome && MIDLAYER_DERIVED_HOST.has(host));
  const driverFailed = driver !== DriverStatus.DRIVER_OK && driver !== DriverStatus.DRIVER_SENSE;
  if (hostFailed || driverFailed) {
    const hostName = hostStatusName(host);
    if (host === HostStatus.DID_TIME_OUT || driver === DriverStatus.DRIVER_TIMEOUT) {
      const timeoutMs = context.timeoutMs ?? result.durationMs;
      const via = host === HostStatus.DID_TIME_OUT ? hostName : driverStatusName(result.driverStatus);
      return new TimeoutError(`${prefix} timed out after ${timeoutMs} ms (${via})`, timeoutMs, errCtx);
    }
    const detail = hostFailed ? hostName : driverStatusName(result.driverStatus);
    return new TransportError(
      `${prefix} failed: transport error ${detail} (host status ${hex2(host)}, driver status ${hex2(result.driverStatus & 0xff)})`,
      { hostStatus: host, driverStatus: result.driverStatus, hostStatusName: hostName },
      errCtx,
    );
  }

  // (2) reservation conflict
  if (status === SamStatus.RESERVATION_CONFLICT) {
    return new ReservationConflictError(`${prefix} failed: RESERVATION CONFLICT`, errCtx);
  }

  // (3) check condition, however it was reported
  const decoded = sense.length > 0 ? decodeSense(sense) : null;
  const checkCondition =
    status === SamStatus.CHECK_CONDITION ||
    (status === SamStatus.GOOD && driverSense) ||
    (status === SamStatus.COMMAND_TERMINATED && decoded !== null);
  if (checkCondition) {
    if (decoded !== null && isCompletedSense(decoded)) return null;
    const s: DecodedSense = decoded ?? undecodableSense(sense);
    return new ScsiSenseError(`${prefix} failed: ${formatSense(s)}`, s, errCtx);
  }

  // (4) any other status
  if (status === SamStatus.GOOD || status === SamStatus.CONDITION_MET) return null;
  const statusName = samStatusName(status);
  return new ScsiStatusError(`${prefix} failed: ${statusName}`, { status, statusName }, errCtx);
}

/* Sense keys that report a completed command (SPC: NO SENSE, RECOVERED ERROR, COMPLETED). */
function isCompletedSense(s: DecodedSense): boolean {
  return s.senseKey === SenseKey.NO_SENSE || s.senseKey === SenseKey.RECOVERED_ERROR || s.senseKey === SenseKey.COMPLETED;
}

/**
 * Whether `err` is a CHECK CONDITION with sense key UNIT ATTENTION (any ASC),
 * i.e. a condition the caller should usually just retry once it has noted it
 * (reset 29h/xx, PR change 2Ah/03–05, …).
 */
export function isUnitAttention(err: unknown): boolean {
  return err instanceof ScsiSenseError && err.sense.senseKey === SenseKey.UNIT_ATTENTION;
}

/** Whether `err` is a BUSY or TASK SET FULL status: the device asks to be retried later. */
export function isRetryableBusy(err: unknown): boolean {
  return (
    err instanceof ScsiStatusError && (err.status === SamStatus.BUSY || err.status === SamStatus.TASK_SET_FULL)
  );
}

const OPCODES: ReadonlyMap<number, string> = new Map([
  [0x00, 'TEST UNIT READY'],
  [0x01, 'REZERO UNIT'],
  [0x03, 'REQUEST SENSE'],
  [0x04, 'FORMAT UNIT'],
  [0x07, 'REASSIGN BLOCKS'],
  [0x08, 'READ(6)'],
  [0x0a, 'WRITE(6)'],
  [0x0b, 'SEEK(6)'],
  [0x12, 'INQUIRY'],
  [0x15, 'MODE SELECT(6)'],
  [0x16, 'RESERVE(6)'],
  [0x17, 'RELEASE(6)'],
  [0x1a, 'MODE SENSE(6)'],
  [0x1b, 'START STOP UNIT'],
  [0x1c, 'RECEIVE DIAGNOSTIC RESULTS'],
  [0x1d, 'SEND DIAGNOSTIC'],
  [0x1e, 'PREVENT ALLOW MEDIUM REMOVAL'],
  [0x25, 'READ CAPACITY(10)'],
  [0x28, 'READ(10)'],
  [0x2a, 'WRITE(10)'],
  [0x2b, 'SEEK(10)'],
  [0x2e, 'WRITE AND VERIFY(10)'],
  [0x2f, 'VERIFY(10)'],
  [0x34, 'PRE-FETCH(10)'],
  [0x35, 'SYNCHRONIZE CACHE(10)'],
  [0x37, 'READ DEFECT DATA(10)'],
  [0x3b, 'WRITE BUFFER'],
  [0x3c, 'READ BUFFER(10)'],
  [0x41, 'WRITE SAME(10)'],
  [0x42, 'UNMAP'],
  [0x48, 'SANITIZE'],
  [0x4c, 'LOG SELECT'],
  [0x4d, 'LOG SENSE'],
  [0x55, 'MODE SELECT(10)'],
  [0x56, 'RESERVE(10)'],
  [0x57, 'RELEASE(10)'],
  [0x5a, 'MODE SENSE(10)'],
  [0x5e, 'PERSISTENT RESERVE IN'],
  [0x5f, 'PERSISTENT RESERVE OUT'],
  [0x7f, 'VARIABLE LENGTH CDB'],
  [0x83, 'EXTENDED COPY'],
  [0x84, 'RECEIVE COPY RESULTS'],
  [0x85, 'ATA PASS-THROUGH(16)'],
  [0x86, 'ACCESS CONTROL IN'],
  [0x87, 'ACCESS CONTROL OUT'],
  [0x88, 'READ(16)'],
  [0x89, 'COMPARE AND WRITE'],
  [0x8a, 'WRITE(16)'],
  [0x8c, 'READ ATTRIBUTE'],
  [0x8d, 'WRITE ATTRIBUTE'],
  [0x8e, 'WRITE AND VERIFY(16)'],
  [0x8f, 'VERIFY(16)'],
  [0x90, 'PRE-FETCH(16)'],
  [0x91, 'SYNCHRONIZE CACHE(16)'],
  [0x93, 'WRITE SAME(16)'],
  [0x9e, 'SERVICE ACTION IN(16)'],
  [0x9f, 'SERVICE ACTION OUT(16)'],
  [0xa0, 'REPORT LUNS'],
  [0xa1, 'ATA PASS-THROUGH(12)'],
  [0xa2, 'SECURITY PROTOCOL IN'],
  [0xa3, 'MAINTENANCE IN'],
  [0xa4, 'MAINTENANCE OUT'],
  [0xa8, 'READ(12)'],
  [0xaa, 'WRITE(12)'],
  [0xaf, 'VERIFY(12)'],
  [0xb5, 'SECURITY PROTOCOL OUT'],
  [0xb7, 'READ DEFECT DATA(12)'],
]);

/* Commands whose name is the service action (byte 1, bits 4..0) alone. */
const SERVICE_ACTIONS: ReadonlyMap<number, ReadonlyMap<number, string>> = new Map([
  [
    0x9e,
    new Map([
      [0x10, 'READ CAPACITY(16)'],
      [0x12, 'GET LBA STATUS'],
      [0x13, 'REPORT REFERRALS'],
    ]),
  ],
  [
    0xa3,
    new Map([
      [0x05, 'REPORT IDENTIFYING INFORMATION'],
      [0x0a, 'REPORT TARGET PORT GROUPS'],
      [0x0b, 'REPORT ALIASES'],
      [0x0c, 'REPORT SUPPORTED OPERATION CODES'],
      [0x0d, 'REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS'],
      [0x0e, 'REPORT PRIORITY'],
      [0x0f, 'REPORT TIMESTAMP'],
    ]),
  ],
  [
    0xa4,
    new Map([
      [0x06, 'SET IDENTIFYING INFORMATION'],
      [0x0a, 'SET TARGET PORT GROUPS'],
      [0x0b, 'CHANGE ALIASES'],
      [0x0e, 'SET PRIORITY'],
      [0x0f, 'SET TIMESTAMP'],
    ]),
  ],
]);

/**
 * Human name of the command in a CDB, from its operation code and, for
 * service-action commands, byte 1 bits 4–0:
 * `INQUIRY`, `INQUIRY (VPD page 0x83)`, `READ(10)`, `READ CAPACITY(16)`,
 * `PERSISTENT RESERVE IN (READ KEYS)`, `PERSISTENT RESERVE OUT (PREEMPT AND ABORT)`, …
 * Unknown opcodes give `'OPCODE 0x..'`, an empty CDB `'EMPTY CDB'`.
 */
export function commandName(cdb: Buffer): string {
  if (cdb.length === 0) return 'EMPTY CDB';
  const op = cdb[0]!;
  const sa = cdb.length > 1 ? cdb[1]! & 0x1f : undefined;
  if (op === 0x5e || op === 0x5f) {
    const base = OPCODES.get(op)!;
    if (sa === undefined) return base;
    const action = prServiceActionName(op === 0x5e ? 'in' : 'out', sa);
    return `${base} (${action ?? `service action ${hex2(sa)}`})`;
  }
  if (op === 0x12 && cdb.length > 2 && (cdb[1]! & 0x01) !== 0) {
    return `INQUIRY (VPD page ${hex2(cdb[2]!)})`;
  }
  const byAction = SERVICE_ACTIONS.get(op);
  if (byAction !== undefined && sa !== undefined) {
    const named = byAction.get(sa);
    if (named !== undefined) return named;
    return `${OPCODES.get(op)!} (service action ${hex2(sa)})`;
  }
  return OPCODES.get(op) ?? `OPCODE ${hex2(op)}`;
}
