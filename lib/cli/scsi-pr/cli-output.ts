/**
 * What the `scsi-pr` tool prints. Pure functions, unit-tested against
 * sg_persist's wording (sg3_utils 1.46, `sg_persist -n`): the PR IN renderings
 * reproduce sg_persist's text byte for byte for what both can show, so scripts
 * that scrape `sg_persist -k`/`-r`/`-s`/`-c` output can scrape scsi-pr's.
 * Multi-device reports (fence/unfence/status/service) have their own concise
 * layout, and every result has a JSON form (`--json`).
 */
import { formatKey } from '../../scsi/keys';
import { toJSONSafe } from '../../hex-inspect';
import { formatSense, type DecodedSense } from '../../scsi/sense';
import type { ReadFullStatusResult, ReadKeysResult, ReadReservationResult, ReportCapabilitiesResult } from '../../scsi/pr-in-parsers';
import type { TransportId } from '../../scsi/transport-id';
import type { FenceReport } from '../../fencing/fence';
import type { ProgressEvent } from '../../fencing/progress-event';
import type { UnfenceReport } from '../../fencing/unfence';
import type { StatusReport } from '../../fencing/fence-status';

/** sg_persist's names of the TYPE field values (pr_type_strs in sg_persist.c). */
const SG_TYPE_NAMES: readonly string[] = [
  'obsolete [0]',
  'Write Exclusive',
  'obsolete [2]',
  'Exclusive Access',
  'obsolete [4]',
  'Write Exclusive, registrants only',
  'Exclusive Access, registrants only',
  'Write Exclusive, all registrants',
  'Exclusive Access, all registrants',
  'obsolete [9]',
  'obsolete [0xa]',
  'obsolete [0xb]',
  'obsolete [0xc]',
  'obsolete [0xd]',
  'obsolete [0xe]',
  'obsolete [0xf]',
];

/** sg_persist's label of a reservation type code (`Write Exclusive, registrants only`). */
export function sgTypeName(type: number): string {
  return SG_TYPE_NAMES[type & 0xf]!;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** `scope: LU_SCOPE, ` the way sg_persist writes it (note the two spaces before `type:`). */
function scopeType(scope: number, type: number): string {
  return `${scope === 0 ? 'scope: LU_SCOPE, ' : `scope: ${scope} `} type: ${sgTypeName(type)}`;
}

/** READ KEYS, as `sg_persist -n -k` prints it. */
export function formatReadKeys(r: ReadKeysResult): string {
  const head = `  PR generation=${hex(r.generation)}, `;
  if (r.keys.length === 0) return `${head}there are NO registered reservation keys\n`;
  const count = r.keys.length === 1 ? '1 registered reservation key follows:' : `${r.keys.length} registered reservation keys follow:`;
  return `${head}${count}\n${r.keys.map((k) => `    ${formatKey(k)}\n`).join('')}`;
}

/** READ RESERVATION, as `sg_persist -n -r` prints it. */
export function formatReadReservation(r: ReadReservationResult): string {
  const head = `  PR generation=${hex(r.generation)}, `;
  if (!r.reservation) return `${head}there is NO reservation held\n`;
  const { key, scope, type } = r.reservation;
  return `${head}Reservation follows:\n    Key=${formatKey(key)}\n    ${scopeType(scope, type)}\n`;
}

/** REPORT CAPABILITIES, as `sg_persist -n -c` prints it. */
export function formatReportCapabilities(r: ReportCapabilitiesResult): string {
  const b = (v: boolean): string => (v ? '1' : '0');
  const lines = [
    'Report capabilities response:',
    `  Replace Lost Reservation Capable(RLR_C): ${b(r.replaceLostReservationCapable)}`,
    `  Compatible Reservation Handling(CRH): ${b(r.compatibleReservationHandling)}`,
    `  Specify Initiator Ports Capable(SIP_C): ${b(r.specifyInitiatorPortsCapable)}`,
    `  All Target Ports Capable(ATP_C): ${b(r.allTargetPortsCapable)}`,
    `  Persist Through Power Loss Capable(PTPL_C): ${b(r.persistThroughPowerLossCapable)}`,
    `  Type Mask Valid(TMV): ${b(r.typeMaskValid)}`,
    `  Allow Commands: ${r.allowCommands}`,
    `  Persist Through Power Loss Active(PTPL_A): ${b(r.persistThroughPowerLossActivated)}`,
  ];
  if (r.typeMaskValid) {
    const bit = (mask: number): string => b((r.typeMask & mask) !== 0);
    lines.push(
      '    Support indicated in Type mask:',
      `      ${sgTypeName(7)}: ${bit(0x8000)}`,
      `      ${sgTypeName(6)}: ${bit(0x4000)}`,
      `      ${sgTypeName(5)}: ${bit(0x2000)}`,
      `      ${sgTypeName(3)}: ${bit(0x0800)}`,
      `      ${sgTypeName(1)}: ${bit(0x0200)}`,
      `      ${sgTypeName(8)}: ${bit(0x0001)}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Bytes as sg3_utils' hex2str format 1 writes them: lead-in, `xx` separated by spaces, an extra space after 8 bytes. */
function hexBytes(lead: string, bytes: Buffer): string {
  let out = '';
  for (let off = 0; off < bytes.length; off += 16) {
    const row = [...bytes.subarray(off, off + 16)].map((v) => v.toString(16).padStart(2, '0'));
    const text = row.length > 8 ? `${row.slice(0, 8).join(' ')}  ${row.slice(8).join(' ')}` : row.join(' ');
    out += `${lead}${text}\n`;
  }
  return out;
}

function u64Bytes(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

const UNKNOWN_PROTOCOL_NAMES: Readonly<Record<number, string>> = { 2: 'SSA (transport id not defined)', 7: 'ADT', 8: 'ATAPI', 9: 'UAS', 0xb: 'PCIE' };

/** A TransportID the way sg_persist's `-s` output describes the initiator (sg_decode_transportid_str). */
export function formatTransportIdLines(id: TransportId, lead: string): string {
  let out = `${lead}Transport Id of initiator:\n`;
  const l2 = `${lead}  `;
  switch (id.protocol) {
    case 'fcp':
      return out + `${l2}FCP-2 World Wide Name:\n` + hexBytes(lead, u64Bytes(id.nPortName));
    case 'spi':
      return out + `${l2}Parallel SCSI initiator SCSI address: ${hex(id.scsiAddress)}\n${l2}relative port number (of corresponding target): ${hex(id.relativePortId)}\n`;
    case 'sbp':
      return out + `${l2}IEEE 1394 EUI-64 name:\n` + hexBytes(lead, u64Bytes(id.eui64));
    case 'srp':
      return out + `${l2}RDMA initiator port identifier:\n` + hexBytes(lead, id.initiatorPortId);
    case 'iscsi':
      return out + (id.isid === undefined ? `${l2}iSCSI name: ${id.name}\n` : `${l2}iSCSI world wide unique port id: ${id.name},i,0x${id.isid}\n`);
    case 'sas':
      return out + `${l2}SAS address: 0x${id.sasAddress.toString(16)}\n`;
    case 'sop':
      return out + `${l2}SOP Routing ID: ${hex(id.routingId)}\n`;
    case 'nvme':
      return `${lead}NVMe host (not a SCSI TransportID):\n${l2}Host Identifier: ${id.hostId}\n${l2}Controller ID: ${hex(id.controllerId)}\n`;
    case 'unknown': {
      if (id.protocolId === 0xf) return out + `${l2}No specified protocol\n`;
      const name = UNKNOWN_PROTOCOL_NAMES[id.protocolId];
      out += name ? `${l2}${name}:\n${l2}TPID format: ${id.format}\n` : `${l2}unknown protocol id=${hex(id.protocolId)}  TPID format: ${id.format}\n`;
      return out + hexBytes(lead, id.raw.subarray(0, 24));
    }
  }
}

/** READ FULL STATUS, as `sg_persist -n -s` prints it. */
export function formatReadFullStatus(r: ReadFullStatusResult): string {
  let out = `  PR generation=${hex(r.generation)}\n`;
  if (r.registrations.length === 0) return out + '  No full status descriptors\n';
  for (const g of r.registrations) {
    out += `    Key=${formatKey(g.key)}\n`;
    out += g.allTargetPorts ? '      All target ports bit set\n' : `      All target ports bit clear\n      Relative port address: ${hex(g.relativeTargetPortId)}\n`;
    out += g.reservationHolder ? `      << Reservation holder >>\n      ${scopeType(g.scope, g.type)}\n` : '      not reservation holder\n';
    out += formatTransportIdLines(g.transportId, '      ');
  }
  if (r.truncated) out += '  (list truncated: more descriptors than fit in 65535 bytes)\n';
  return out;
}

/** One line per UNIT ATTENTION absorbed (verbose mode). */
export function formatUnitAttentions(path: string, uas: readonly DecodedSense[]): string {
  return uas.map((s) => `${path}: retried after ${formatSense(s)}\n`).join('');
}

// ---------------------------------------------------------------------------
// JSON

/** A JSON-friendly description of an error (Error's own message/name are not enumerable). */
export function errorToJSON(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const e = error as Error & Record<string, unknown>;
  const out: Record<string, unknown> = { name: e.name, message: e.message };
  for (const k of ['code', 'path', 'errno', 'syscall', 'hostStatusName', 'status', 'statusName', 'timeoutMs']) {
    if (e[k] !== undefined) out[k] = e[k];
  }
  if (Buffer.isBuffer(e.cdb)) out.cdb = e.cdb.toString('hex');
  const sense = e.sense as DecodedSense | undefined;
  if (sense) out.sense = { key: sense.senseKey, keyName: sense.senseKeyName, asc: sense.asc, ascq: sense.ascq, ascName: sense.ascName, text: formatSense(sense) };
  const uas = e.unitAttentions as DecodedSense[] | undefined;
  if (Array.isArray(uas) && uas.length > 0) out.unitAttentions = uas.map(senseToJSON);
  return out;
}

function senseToJSON(s: DecodedSense): Record<string, unknown> {
  return { key: s.senseKey, keyName: s.senseKeyName, asc: s.asc, ascq: s.ascq, ascName: s.ascName };
}

/** Replace Errors and decoded sense objects by their JSON descriptions, recursively. */
function prepare(value: unknown, depth = 0): unknown {
  if (depth > 32) return value;
  if (value instanceof Error) return errorToJSON(value);
  if (Array.isArray(value)) return value.map((v) => prepare(v, depth + 1));
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const o = value as Record<string, unknown>;
    if (typeof o.senseKey === 'number' && typeof o.ascName === 'string' && Buffer.isBuffer(o.raw)) return senseToJSON(o as unknown as DecodedSense);
    const copy: Record<string, unknown> = {};
    for (const k of Object.keys(o)) copy[k] = prepare(o[k], depth + 1);
    return copy;
  }
  return value;
}

/** The `--json` text of any result or report: keys as `0x…` strings, errors as `{name, code, message, …}`. */
export function toJSONText(value: unknown): string {
  return JSON.stringify(toJSONSafe(prepare(value)), null, 2) + '\n';
}

// ---------------------------------------------------------------------------
// multi-device reports

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function holderText(res: { key: bigint; type: number } | null | undefined): string {
  if (!res) return 'no reservation';
  return `reservation ${formatKey(res.key)} ${sgTypeName(res.type)}`;
}

function firstLine(e: Error | undefined): string {
  return e ? e.message.split('\n')[0]! : '';
}

/** Human summary of {@link fence}'s report. */
export function formatFenceReport(r: FenceReport, victimKey: bigint): string {
  const width = Math.max(8, ...r.devices.map((d) => d.device.length));
  let out = '';
  for (const d of r.devices) {
    let detail: string;
    if (d.ok) {
      const gen = d.generationBefore !== undefined && d.generationAfter !== undefined ? `generation ${hex(d.generationBefore)} -> ${hex(d.generationAfter)}, ` : '';
      detail = `${gen}${holderText(d.reservation)}`;
    } else {
      detail = firstLine(d.error) || 'not verified';
    }
    out += `${pad(d.device, width)}  ${pad(d.outcome, 14)}  ${detail}\n`;
  }
  const n = r.devices.length;
  const ok = r.fenced.length;
  if (r.lost) out += `fence: LOST: our own key is gone (another node fenced this one); ${formatKey(victimKey)} fenced on ${ok} of ${n} logical unit(s)\n`;
  else if (r.ok) out += `fence: ${formatKey(victimKey)} fenced on all ${n} logical unit(s) in ${r.durationMs.toFixed(1)} ms\n`;
  else out += `fence: ${formatKey(victimKey)} fenced on ${ok} of ${n} logical unit(s); NOT fenced: ${r.notFenced.join(', ')}\n`;
  if (r.withoutAbort.length > 0) {
    out += `fence: the target refused PREEMPT AND ABORT on ${r.withoutAbort.length} logical unit(s), fenced with PREEMPT: the victim's commands already queued there were not aborted: ${r.withoutAbort.join(', ')} (--require-abort refuses this)\n`;
  }
  return out;
}

/** Human summary of {@link unfence}'s report. */
export function formatUnfenceReport(r: UnfenceReport, key: bigint): string {
  const width = Math.max(8, ...r.devices.map((d) => d.device.length));
  let out = '';
  for (const d of r.devices) {
    const res = d.reservation === 'reserved' ? 'reserved' : d.reservation === 'existing' ? `reservation held by ${d.holder !== undefined ? formatKey(d.holder) : '?'}` : 'no reservation';
    const err = d.errors.length > 0 ? `; ${firstLine(d.errors[0])}` : '';
    out += `${pad(d.device, width)}  ${pad(d.ok ? 'ok' : 'failed', 6)}  registered on ${d.pathsRegistered}/${d.paths} path(s), ${res}${err}\n`;
  }
  const ok = r.devices.filter((d) => d.ok).length;
  out += r.ok
    ? `unfence: ${formatKey(key)} registered on all ${r.devices.length} logical unit(s)\n`
    : `unfence: ${formatKey(key)} registered on ${ok} of ${r.devices.length} logical unit(s); failed: ${r.devices.filter((d) => !d.ok).map((d) => d.device).join(', ')}\n`;
  return out;
}

/** Human summary of {@link status}'s report. */
export function formatStatusReport(r: StatusReport, key: bigint, vgsOf?: (device: string) => readonly string[]): string {
  const width = Math.max(8, ...r.devices.map((d) => d.device.length));
  let out = '';
  for (const d of r.devices) {
    const vgs = vgsOf ? vgsOf(d.device) : [];
    const vgText = vgs.length > 0 ? `  [${vgs.join(',')}]` : '';
    if (!d.reachable) {
      out += `${pad(d.device, width)}  ${pad('unreachable', 14)}  ${firstLine(d.error)}${vgText}\n`;
      continue;
    }
    const state = d.registered ? (d.reservationHolder ? 'holder' : 'registered') : 'not registered';
    const keys = d.keys.length > 0 ? d.keys.map(formatKey).join(' ') : 'none';
    out += `${pad(d.device, width)}  ${pad(state, 14)}  ${d.registrations} path(s) with our key, ${holderText(d.reservation)}, keys: ${keys}${vgText}\n`;
  }
  const reg = r.devices.filter((d) => d.registered).length;
  out += `status: ${formatKey(key)} registered on ${reg} of ${r.devices.length} logical unit(s)\n`;
  return out;
}

/** The live progress line of a multi-device operation (for a terminal). */
export function progressLine(e: ProgressEvent): string {
  // The service's operations have one phase, named like them: not repeated.
  const phase = e.operation.startsWith('service-') ? '' : `${e.phase} `;
  return `${e.operation}: ${phase}${e.done}/${e.total} ${e.ok ? '' : 'FAILED '}${e.device}`;
}

// ---------------------------------------------------------------------------
// service

/** Minimal shapes of the service reports (see lib/service.ts). */
interface KeyedReport {
  key: bigint;
  keySource: 'option' | 'ipv4';
}

function keyText(r: KeyedReport): string {
  return `${formatKey(r.key)}${r.keySource === 'ipv4' ? ' (from the IPv4 address)' : ''}`;
}

function vgText(vgs: readonly string[]): string {
  return vgs.length > 0 ? ` [${vgs.join(',')}]` : '';
}

/** `scsi-pr service start` messages (for stderr). */
export function formatServiceStart(r: KeyedReport & { ok: boolean; devices: Array<UnfenceReport['devices'][number] & { volumeGroups: string[] }> }): string {
  let out = '';
  for (const d of r.devices) {
    const res = d.reservation === 'reserved' ? 'reservation taken' : d.reservation === 'existing' ? `reservation held by ${d.holder !== undefined ? formatKey(d.holder) : '?'}` : 'no reservation';
    const err = d.errors.length > 0 ? `: ${firstLine(d.errors[0])}` : '';
    out += `scsi-pr service: ${d.device}${vgText(d.volumeGroups)}: ${d.ok ? 'registered' : 'FAILED'} on ${d.pathsRegistered}/${d.paths} path(s), ${res}${err}\n`;
  }
  const ok = r.devices.filter((d) => d.ok).length;
  out += r.ok
    ? `scsi-pr service: started: key ${keyText(r)} registered on all ${r.devices.length} device(s)\n`
    : `scsi-pr service: start FAILED: key ${keyText(r)} registered on ${ok} of ${r.devices.length} device(s)\n`;
  return out;
}

/** `scsi-pr service stop` messages (for stderr). */
export function formatServiceStop(r: KeyedReport & {
  ok: boolean;
  devices: Array<{ device: string; volumeGroups: string[]; ok: boolean; released: boolean; pathsUnregistered: number; paths: number; registrationsBefore?: number; errors: Error[]; source?: 'read-full-status' | 'read-keys' }>;
}): string {
  let out = '';
  for (const d of r.devices) {
    const what = d.registrationsBefore === 0 ? 'was not registered' : `${d.released ? 'reservation released, ' : ''}unregistered on ${d.pathsUnregistered}/${d.paths} path(s)`;
    // Said only where it differs from the default: READ KEYS lists every registration too, without naming the nexus.
    const how = d.source === 'read-keys' ? ' (checked with READ KEYS: no READ FULL STATUS on this target)' : '';
    const err = !d.ok && d.errors.length > 0 ? `: ${firstLine(d.errors[0])}` : '';
    out += `scsi-pr service: ${d.device}${vgText(d.volumeGroups)}: ${d.ok ? what : `FAILED (${what})`}${how}${err}\n`;
  }
  const left = r.devices.filter((d) => !d.ok).map((d) => d.device);
  out += r.ok
    ? `scsi-pr service: stopped: key ${keyText(r)} registered on none of ${r.devices.length} device(s)\n`
    : `scsi-pr service: stop FAILED: key ${keyText(r)} may still be registered on ${left.join(', ')}\n`;
  return out;
}

/** `scsi-pr service status` listing (stdout) and its summary line. */
export function formatServiceStatus(r: KeyedReport & { registeredEverywhere: boolean; registeredNowhere: boolean; unknown: boolean; devices: Array<StatusReport['devices'][number] & { volumeGroups: string[] }> }): string {
  const width = Math.max(8, ...r.devices.map((d) => d.device.length));
  const vgw = Math.max(2, ...r.devices.map((d) => d.volumeGroups.join(',').length));
  let out = '';
  for (const d of r.devices) {
    const state = !d.reachable ? `unreachable: ${firstLine(d.error)}` : d.registered ? `registered on ${d.registrations} path(s)${d.reservationHolder ? ', reservation holder' : ''}` : 'not registered';
    out += `${pad(d.device, width)}  ${pad(d.volumeGroups.join(',') || '-', vgw)}  ${state}\n`;
  }
  const reg = r.devices.filter((d) => d.registered).length;
  const summary = r.devices.length === 0
    ? 'not running: no device of a shared volume group found'
    : r.registeredEverywhere
      ? `running: key ${keyText(r)} registered on all ${r.devices.length} device(s)`
      : r.unknown
        ? `unknown: no device could be read (key ${keyText(r)})`
        : r.registeredNowhere
          ? `not running: key ${keyText(r)} registered on none of ${r.devices.length} device(s)`
          : `partial: key ${keyText(r)} registered on ${reg} of ${r.devices.length} device(s)`;
  return out + `scsi-pr service: ${summary}\n`;
}
