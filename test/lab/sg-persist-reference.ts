/**
 * An independent reference for lab cross-checks: runs sg3_utils (sg_persist,
 * sg_raw) on a device and parses what they print, with no code shared with
 * scsi-pr. Results come back in one plain shape (bigint keys, numeric types,
 * `{ name, isid }` TransportIDs) so a test can `toEqual` them against
 * scsi-pr's results passed through {@link fromScsiPr}.
 *
 * sg_persist output formats (sg3_utils 1.46, sg_persist 0.67), as printed with -n:
 *
 *   -k   "  PR generation=0x3, 2 registered reservation keys follow:" + "    0x1" lines
 *        "  PR generation=0x0, there are NO registered reservation keys"
 *   -r   "  PR generation=0x3, Reservation follows:" / "    Key=0x1" /
 *        "    scope: LU_SCOPE,  type: Write Exclusive"
 *        "  PR generation=0x0, there is NO reservation held"
 *   -s   "  PR generation=0x3" then per descriptor:
 *        "    Key=0x1" / "      All target ports bit clear|set" /
 *        "      Relative port address: 0x1" (only when ALL_TG_PT is clear) /
 *        "      << Reservation holder >>" | "      not reservation holder" /
 *        "      scope: LU_SCOPE,  type: …" (holders only) / "      Transport Id of initiator:" /
 *        "        iSCSI world wide unique port id: <name>,i,0x<isid>" (format 1) |
 *        "        iSCSI name: <name>" (format 0);  "  No full status descriptors"
 *   -c   "  Replace Lost Reservation Capable(RLR_C): 0" … "      Write Exclusive: 1"
 *
 * sg_persist 1.46 never asks for more than 8192 bytes (`--alloc-length` above
 * 2000 hex is refused), trusts ADDITIONAL LENGTH beyond what it received (with
 * more than 1023 keys, -k prints garbage past its buffer) and does not retry
 * UNIT ATTENTION (exit status 6). The runners here retry a UA like any initiator
 * would, and {@link sgRawPrIn} fetches PR IN data with any allocation length
 * through sg_raw, decoded by {@link decodeFullStatusBytes} / {@link decodeReadKeysBytes}.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { run, SG_EXIT } from './lab-env';

/** A TransportID as sg_persist prints it (iSCSI only in this lab). */
export interface RefTransportId {
  protocol: 'iscsi' | 'other';
  /** iSCSI name (or the raw text for other protocols). */
  name: string;
  /** ISID, lowercase hex without 0x; absent for an iSCSI format-0 TransportID. */
  isid?: string;
}

/** READ KEYS in reference form. */
export interface RefKeys {
  generation: number;
  keys: bigint[];
}

/** READ RESERVATION in reference form. */
export interface RefReservation {
  generation: number;
  reservation: { key: bigint; scope: number; type: number } | null;
}

/** One READ FULL STATUS descriptor in reference form. */
export interface RefRegistration {
  key: bigint;
  allTargetPorts: boolean;
  /** Only when ALL_TG_PT is clear (SPC leaves it undefined otherwise; sg_persist hides it). */
  relativeTargetPortId?: number;
  reservationHolder: boolean;
  /** Only for reservation holders. */
  scope?: number;
  /** Only for reservation holders. */
  type?: number;
  transportId: RefTransportId;
}

/** READ FULL STATUS in reference form. */
export interface RefFullStatus {
  generation: number;
  registrations: RefRegistration[];
}

/** REPORT CAPABILITIES in reference form. */
export interface RefCapabilities {
  replaceLostReservationCapable: boolean;
  compatibleReservationHandling: boolean;
  specifyInitiatorPortsCapable: boolean;
  allTargetPortsCapable: boolean;
  persistThroughPowerLossCapable: boolean;
  typeMaskValid: boolean;
  allowCommands: number;
  persistThroughPowerLossActivated: boolean;
  typesSupported: number[];
}

/** sg_persist's type strings (pr_type_strs in sg_persist.c) → type codes. */
const TYPE_CODES: Record<string, number> = {
  'write exclusive': 1,
  'exclusive access': 3,
  'write exclusive, registrants only': 5,
  'exclusive access, registrants only': 6,
  'write exclusive, all registrants': 7,
  'exclusive access, all registrants': 8,
};

const SCOPE_CODES: Record<string, number> = { lu_scope: 0 };

function fail(what: string, text: string): never {
  throw new Error(`sg-persist-reference: cannot parse ${what}:\n${text}`);
}

function typeCode(name: string, text: string): number {
  const code = TYPE_CODES[name.trim().toLowerCase()];
  if (code === undefined) fail(`reservation type "${name}"`, text);
  return code;
}

function scopeCode(name: string, text: string): number {
  const code = SCOPE_CODES[name.trim().toLowerCase()];
  if (code === undefined) fail(`scope "${name}"`, text);
  return code;
}

function generationOf(text: string): number {
  const m = /PR generation=0x([0-9a-f]+)/i.exec(text);
  if (!m) fail('PR generation', text);
  return parseInt(m[1], 16);
}

function splitIscsiPort(text: string): RefTransportId {
  const i = text.toLowerCase().lastIndexOf(',i,0x');
  if (i < 0) return { protocol: 'iscsi', name: text };
  return { protocol: 'iscsi', name: text.slice(0, i), isid: text.slice(i + 5).toLowerCase() };
}

/** Parses `sg_persist -n -k` output. */
export function parseSgPersistKeys(text: string): RefKeys {
  const generation = generationOf(text);
  if (/there are NO registered reservation keys/i.test(text)) return { generation, keys: [] };
  const head = /(\d+) registered reservation keys? follows?:/i.exec(text);
  if (!head) fail('READ KEYS header', text);
  const body = text.slice(head.index + head[0].length);
  const keys = [...body.matchAll(/^\s+0x([0-9a-f]+)\s*$/gim)].map((m) => BigInt('0x' + m[1]));
  if (keys.length !== Number(head[1])) fail(`READ KEYS: header says ${head[1]} keys, ${keys.length} listed`, text);
  return { generation, keys };
}

/** Parses `sg_persist -n -r` output. */
export function parseSgPersistReservation(text: string): RefReservation {
  const generation = generationOf(text);
  if (/there is NO reservation held/i.test(text)) return { generation, reservation: null };
  const key = /^\s+Key=0x([0-9a-f]+)\s*$/im.exec(text);
  const st = /^\s+scope:\s*(\S+),\s+type:\s*(.+?)\s*$/im.exec(text);
  if (!/Reservation follows/i.test(text) || !key || !st) fail('READ RESERVATION', text);
  return { generation, reservation: { key: BigInt('0x' + key[1]), scope: scopeCode(st[1], text), type: typeCode(st[2], text) } };
}

/** Parses `sg_persist -n -s` output. */
export function parseSgPersistFullStatus(text: string): RefFullStatus {
  const generation = generationOf(text);
  if (/No full status descriptors/i.test(text)) return { generation, registrations: [] };
  const blocks = text.split(/^(?=\s+Key=0x)/m).slice(1);
  const registrations = blocks.map((b): RefRegistration => {
    const key = /^\s+Key=0x([0-9a-f]+)/i.exec(b);
    const atp = /All target ports bit (set|clear)/i.exec(b);
    const holder = /<< Reservation holder >>/.test(b);
    const notHolder = /not reservation holder/i.test(b);
    if (!key || !atp || holder === notHolder) fail('READ FULL STATUS descriptor', b);
    const allTargetPorts = atp[1].toLowerCase() === 'set';
    const reg: RefRegistration = { key: BigInt('0x' + key[1]), allTargetPorts, reservationHolder: holder, transportId: { protocol: 'other', name: '' } };
    const rtp = /Relative port address:\s*0x([0-9a-f]+)/i.exec(b);
    if (!allTargetPorts) {
      if (!rtp) fail('relative port address', b);
      reg.relativeTargetPortId = parseInt(rtp[1], 16);
    }
    if (holder) {
      const st = /^\s+scope:\s*(\S+),\s+type:\s*(.+?)\s*$/im.exec(b);
      if (!st) fail('holder scope/type', b);
      reg.scope = scopeCode(st[1], b);
      reg.type = typeCode(st[2], b);
    }
    const f1 = /iSCSI world wide unique port id:\s*(\S+)/i.exec(b);
    const f0 = /iSCSI name:\s*(\S+)/i.exec(b);
    if (f1) reg.transportId = splitIscsiPort(f1[1]);
    else if (f0) reg.transportId = { protocol: 'iscsi', name: f0[1] };
    else {
      const t = /Transport Id of initiator:\s*\n([\s\S]*)$/i.exec(b);
      if (!t) fail('TransportID', b);
      reg.transportId = { protocol: 'other', name: t[1].trim() };
    }
    return reg;
  });
  return { generation, registrations };
}

/** Parses `sg_persist -n -c` output. */
export function parseSgPersistCapabilities(text: string): RefCapabilities {
  const bit = (label: string): boolean => {
    const m = new RegExp(`\\(${label}\\):\\s*(\\d)`).exec(text);
    if (!m) fail(label, text);
    return m[1] === '1';
  };
  const allow = /Allow Commands:\s*(\d)/i.exec(text);
  if (!allow) fail('Allow Commands', text);
  const typesSupported = Object.entries(TYPE_CODES)
    .filter(([name]) => new RegExp(`^\\s+${name}:\\s*1\\s*$`, 'im').test(text))
    .map(([, code]) => code)
    .sort((a, b) => a - b);
  return {
    replaceLostReservationCapable: bit('RLR_C'),
    compatibleReservationHandling: bit('CRH'),
    specifyInitiatorPortsCapable: bit('SIP_C'),
    allTargetPortsCapable: bit('ATP_C'),
    persistThroughPowerLossCapable: bit('PTPL_C'),
    typeMaskValid: bit('TMV'),
    allowCommands: Number(allow[1]),
    persistThroughPowerLossActivated: bit('PTPL_A'),
    typesSupported,
  };
}

/** Outcome of one sg_persist / sg_raw invocation. */
export interface ToolRun {
  status: number;
  stdout: string;
  stderr: string;
  /** UNIT ATTENTIONs the tool failed with (and that were retried) before this outcome. */
  unitAttentionsRetried: number;
}

/**
 * Runs `sg_persist -n <args> <sg>`. With `retryUnitAttention` (default 3) an exit
 * status 6 (UNIT ATTENTION: the command did not run, the UA is now cleared) is
 * retried; 0 gives the raw first outcome.
 */
export async function sgPersist(sg: string, args: string[], retryUnitAttention = 3): Promise<ToolRun> {
  let retried = 0;
  for (;;) {
    const r = await run('sg_persist', ['-n', ...args, sg]);
    if (r.status === SG_EXIT.UNIT_ATTENTION && retried < retryUnitAttention) {
      retried++;
      continue;
    }
    return { ...r, unitAttentionsRetried: retried };
  }
}

async function ok(sg: string, args: string[]): Promise<string> {
  const r = await sgPersist(sg, args);
  if (r.status !== 0) throw new Error(`sg_persist -n ${args.join(' ')} ${sg}: exit ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** READ KEYS through sg_persist. */
export async function sgReadKeys(sg: string): Promise<RefKeys> {
  return parseSgPersistKeys(await ok(sg, ['-k']));
}

/** READ RESERVATION through sg_persist. */
export async function sgReadReservation(sg: string): Promise<RefReservation> {
  return parseSgPersistReservation(await ok(sg, ['-r']));
}

/** READ FULL STATUS through sg_persist (allocation length 8192, its maximum). */
export async function sgReadFullStatus(sg: string): Promise<RefFullStatus> {
  return parseSgPersistFullStatus(await ok(sg, ['-s']));
}

/** REPORT CAPABILITIES through sg_persist. */
export async function sgReportCapabilities(sg: string): Promise<RefCapabilities> {
  return parseSgPersistCapabilities(await ok(sg, ['-c']));
}

let scratchCounter = 0;

/**
 * PERSISTENT RESERVE IN with any service action and allocation length through
 * `sg_raw -r <len> -o <file>` (UNIT ATTENTION retried). Returns the bytes the
 * device returned (allocation − resid). The scratch file lives under
 * <repo>/.lab (the guest's /tmp is private).
 */
export async function sgRawPrIn(sg: string, serviceAction: number, allocationLength: number): Promise<Buffer> {
  const dir = join(__dirname, '..', '..', '.lab', 'sg-persist-reference');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `prin-${process.pid}-${scratchCounter++}.bin`);
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  const cdb = ['5e', hex(serviceAction), '00', '00', '00', '00', '00', hex(allocationLength >> 8), hex(allocationLength & 0xff), '00'];
  try {
    for (let i = 0; ; i++) {
      rmSync(file, { force: true });
      const r = await run('sg_raw', ['-r', String(allocationLength), '-o', file, sg, ...cdb]);
      if (r.status === SG_EXIT.UNIT_ATTENTION && i < 3) continue;
      if (r.status !== 0) throw new Error(`sg_raw PR IN SA ${serviceAction} ${sg}: exit ${r.status}: ${r.stderr}`);
      return readFileSync(file);
    }
  } finally {
    rmSync(file, { force: true });
  }
}

/** Decodes READ FULL STATUS parameter data (independent of scsi-pr's parser; iSCSI TransportIDs only). */
export function decodeFullStatusBytes(data: Buffer): RefFullStatus & { additionalLength: number } {
  if (data.length < 8) throw new Error(`READ FULL STATUS: ${data.length} bytes`);
  const generation = data.readUInt32BE(0);
  const additionalLength = data.readUInt32BE(4);
  const end = Math.min(data.length, 8 + additionalLength);
  const registrations: RefRegistration[] = [];
  for (let off = 8; off + 24 <= end; ) {
    const descLen = data.readUInt32BE(off + 20);
    if (off + 24 + descLen > end) break;
    const flags = data[off + 12];
    const allTargetPorts = (flags & 2) !== 0;
    const reservationHolder = (flags & 1) !== 0;
    const tid = data.subarray(off + 24, off + 24 + descLen);
    const proto = tid[0] & 0x0f;
    const format = tid[0] >> 6;
    let transportId: RefTransportId;
    if (proto === 5) {
      const text = tid.subarray(4, 4 + tid.readUInt16BE(2)).toString('utf8').replace(/\0.*$/s, '');
      transportId = format === 1 ? splitIscsiPort(text) : { protocol: 'iscsi', name: text };
    } else {
      transportId = { protocol: 'other', name: tid.toString('hex') };
    }
    const reg: RefRegistration = { key: data.readBigUInt64BE(off), allTargetPorts, reservationHolder, transportId };
    if (!allTargetPorts) reg.relativeTargetPortId = data.readUInt16BE(off + 18);
    if (reservationHolder) {
      reg.scope = data[off + 13] >> 4;
      reg.type = data[off + 13] & 0x0f;
    }
    registrations.push(reg);
    off += 24 + descLen;
  }
  return { generation, additionalLength, registrations };
}

/** scsi-pr results converted to the reference shapes above. */
export const fromScsiPr = {
  keys(r: { generation: number; keys: bigint[] }): RefKeys {
    return { generation: r.generation, keys: [...r.keys] };
  },
  reservation(r: { generation: number; reservation: { key: bigint; scope: number; type: number } | null }): RefReservation {
    return {
      generation: r.generation,
      reservation: r.reservation ? { key: r.reservation.key, scope: r.reservation.scope, type: r.reservation.type } : null,
    };
  },
  fullStatus(r: {
    generation: number;
    registrations: Array<{
      key: bigint;
      allTargetPorts: boolean;
      reservationHolder: boolean;
      scope: number;
      type: number;
      relativeTargetPortId: number;
      transportId: { protocol: string; name?: string; isid?: string };
    }>;
  }): RefFullStatus {
    return {
      generation: r.generation,
      registrations: r.registrations.map((x) => {
        const reg: RefRegistration = {
          key: x.key,
          allTargetPorts: x.allTargetPorts,
          reservationHolder: x.reservationHolder,
          transportId:
            x.transportId.protocol === 'iscsi'
              ? { protocol: 'iscsi', name: x.transportId.name ?? '', ...(x.transportId.isid !== undefined ? { isid: x.transportId.isid.toLowerCase() } : {}) }
              : { protocol: 'other', name: JSON.stringify(x.transportId) },
        };
        if (!x.allTargetPorts) reg.relativeTargetPortId = x.relativeTargetPortId;
        if (x.reservationHolder) {
          reg.scope = x.scope;
          reg.type = x.type;
        }
        return reg;
      }),
    };
  },
  capabilities(r: RefCapabilities & { typesSupported: readonly number[] }): RefCapabilities {
    return {
      replaceLostReservationCapable: r.replaceLostReservationCapable,
      compatibleReservationHandling: r.compatibleReservationHandling,
      specifyInitiatorPortsCapable: r.specifyInitiatorPortsCapable,
      allTargetPortsCapable: r.allTargetPortsCapable,
      persistThroughPowerLossCapable: r.persistThroughPowerLossCapable,
      typeMaskValid: r.typeMaskValid,
      allowCommands: r.allowCommands,
      persistThroughPowerLossActivated: r.persistThroughPowerLossActivated,
      typesSupported: [...r.typesSupported],
    };
  },
};

/** What {@link expectSgPersistAgrees} read through scsi-pr. */
export interface ScsiPrViews {
  keys: { generation: number; keys: bigint[] };
  reservation: { generation: number; reservation: { key: bigint; scope: number; type: number; typeName?: string } | null };
  fullStatus: Parameters<typeof fromScsiPr.fullStatus>[0];
}

/**
 * Reads READ KEYS, READ RESERVATION and READ FULL STATUS through scsi-pr on
 * `device`, then `sg_persist -k/-r/-s` on `sg` (the same device), and expects
 * both to agree on everything: generation, keys in order, holder key, scope
 * and type, and per registration the key, ALL_TG_PT, relative target port,
 * R_HOLDER, scope/type and TransportID (name and ISID). No PR OUT may run in
 * between, so the generations must match too. Returns scsi-pr's results.
 */
export async function expectSgPersistAgrees<
  K extends ScsiPrViews['keys'],
  R extends ScsiPrViews['reservation'],
  F extends ScsiPrViews['fullStatus'],
>(device: { readKeys(): Promise<K>; readReservation(): Promise<R>; readFullStatus(): Promise<F> }, sg: string): Promise<{ keys: K; reservation: R; fullStatus: F }> {
  const keys = await device.readKeys();
  const reservation = await device.readReservation();
  const fullStatus = await device.readFullStatus();
  expect(fromScsiPr.keys(keys), `READ KEYS: scsi-pr vs sg_persist -k on ${sg}`).toEqual(await sgReadKeys(sg));
  expect(fromScsiPr.reservation(reservation), `READ RESERVATION: scsi-pr vs sg_persist -r on ${sg}`).toEqual(await sgReadReservation(sg));
  expect(fromScsiPr.fullStatus(fullStatus), `READ FULL STATUS: scsi-pr vs sg_persist -s on ${sg}`).toEqual(await sgReadFullStatus(sg));
  return { keys, reservation, fullStatus };
}

/** Decodes READ KEYS parameter data (independent of scsi-pr's parser): the keys that are present. */
export function decodeReadKeysBytes(data: Buffer): RefKeys & { additionalLength: number } {
  if (data.length < 8) throw new Error(`READ KEYS: ${data.length} bytes`);
  const additionalLength = data.readUInt32BE(4);
  const end = Math.min(data.length, 8 + additionalLength);
  const keys: bigint[] = [];
  for (let off = 8; off + 8 <= end; off += 8) keys.push(data.readBigUInt64BE(off));
  return { generation: data.readUInt32BE(0), additionalLength, keys };
}

/**
 * {@link expectSgPersistAgrees} on a target that may not implement READ FULL STATUS.
 * `fullStatus: 'answered'`: exactly expectSgPersistAgrees. `'refused'` (tgt 1.0.85): READ KEYS
 * and READ RESERVATION must agree as there, and READ FULL STATUS must be refused by both —
 * scsi-pr with ERR_ILLEGAL_REQUEST, INVALID FIELD IN CDB (05/24/00) and `sg_persist -s` with
 * exit status 5 (ILLEGAL REQUEST); `fullStatus` is then null.
 */
export async function expectSgPersistAgreesOrFullStatusRefused<
  K extends ScsiPrViews['keys'],
  R extends ScsiPrViews['reservation'],
  F extends ScsiPrViews['fullStatus'],
>(
  device: { readKeys(): Promise<K>; readReservation(): Promise<R>; readFullStatus(): Promise<F> },
  sg: string,
  fullStatus: 'answered' | 'refused',
): Promise<{ keys: K; reservation: R; fullStatus: F | null }> {
  if (fullStatus === 'answered') return expectSgPersistAgrees(device, sg);
  const keys = await device.readKeys();
  const reservation = await device.readReservation();
  const refused = await device.readFullStatus().then(
    () => 'answered',
    (e: unknown) => e,
  );
  expect(fromScsiPr.keys(keys), `READ KEYS: scsi-pr vs sg_persist -k on ${sg}`).toEqual(await sgReadKeys(sg));
  expect(fromScsiPr.reservation(reservation), `READ RESERVATION: scsi-pr vs sg_persist -r on ${sg}`).toEqual(await sgReadReservation(sg));
  expect(refused, `READ FULL STATUS through scsi-pr on ${sg}`).toMatchObject({ code: 'ERR_ILLEGAL_REQUEST', sense: { senseKey: 5, asc: 0x24, ascq: 0 } });
  const ref = await sgPersist(sg, ['-s']);
  expect(ref.status, `sg_persist -s on ${sg}: ${ref.stdout}${ref.stderr}`).toBe(5);
  return { keys, reservation, fullStatus: null };
}
