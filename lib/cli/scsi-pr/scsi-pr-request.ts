/**
 * `scsi-pr`'s command line → a validated request. Pure: nothing here touches a
 * device, so every invalid combination is refused (UsageError, exit 2) before
 * any I/O. PR OUT options are additionally run through the library's pure
 * request builders, so what passes here is exactly what the library will send.
 */
import { ArgumentRangeError, ArgumentTypeError } from '../../invalid-argument';
import { parseKey, type KeyInput } from '../../scsi/keys';
import { parseReservationType, type ReservationTypeCode } from '../../scsi/reservation-types';
import { parseTransportId, type TransportId } from '../../scsi/transport-id';
import type { PrInActionName } from '../../scsi/pr-in-requests';
import {
  clearRequest,
  preemptAndAbortRequest,
  preemptRequest,
  registerAndIgnoreExistingKeyRequest,
  registerAndMoveRequest,
  registerRequest,
  releaseRequest,
  replaceLostReservationRequest,
  reserveRequest,
} from '../../scsi/pr-out-requests';
import { parseArgs, UsageError, valueOf, type OptionSpec, type ParsedArgs } from './cli-args';

/** PR OUT actions by CLI name. */
export type PrOutActionName =
  | 'register'
  | 'register-ignore'
  | 'reserve'
  | 'release'
  | 'clear'
  | 'preempt'
  | 'preempt-abort'
  | 'register-move'
  | 'replace-lost';

/** Options shared by every request. */
export interface CommonRequest {
  json: boolean;
  /** Per-command timeout (ms), when given. */
  timeoutMs?: number;
  verbose: boolean;
}

/** `scsi-pr [PR IN options] DEVICE`. */
export interface PrInCliRequest extends CommonRequest {
  kind: 'prin';
  device: string;
  action: PrInActionName;
}

/** `scsi-pr --out --ACTION [params] DEVICE`: `options` is what the Device method takes. */
export interface PrOutCliRequest extends CommonRequest {
  kind: 'prout';
  device: string;
  action: PrOutActionName;
  options: Record<string, unknown>;
}

/** Where a multi-device command gets its devices. */
export type DeviceSource = { kind: 'devices'; devices: string[] } | { kind: 'lvm'; volumeGroups: string[] };

/** `scsi-pr fence|unfence|status …`. */
export interface MultiCliRequest extends CommonRequest {
  kind: 'fence' | 'unfence' | 'status';
  source: DeviceSource;
  key: bigint;
  /** fence only. */
  victimKey?: bigint;
  /** fence/unfence: reservation type (default 5). */
  type: ReservationTypeCode;
  /** unfence only. */
  aptpl: boolean;
  /** Show a live progress line (a terminal only); false with --no-progress. */
  progress: boolean;
}

/** `scsi-pr service start|stop|status …`. */
export interface ServiceCliRequest extends CommonRequest {
  kind: 'service';
  action: 'start' | 'stop' | 'status';
  /** Our key; undefined = derived from this host's IPv4 address. */
  key?: bigint;
  /** Network interface whose IPv4 address gives the key (when no key is given). */
  interface?: string;
  volumeGroups: string[];
  devices: string[];
  aptpl: boolean;
}

export interface HelpRequest {
  kind: 'help';
  topic: 'main' | 'fence' | 'unfence' | 'status' | 'service';
}

export interface VersionRequest {
  kind: 'version';
}

export type CliRequest = PrInCliRequest | PrOutCliRequest | MultiCliRequest | ServiceCliRequest | HelpRequest | VersionRequest;

// ---------------------------------------------------------------------------
// option tables

const COMMON: OptionSpec[] = [
  { name: 'timeout', long: ['timeout'], takesValue: true },
  { name: 'json', long: ['json'] },
  { name: 'verbose', long: ['verbose'], short: 'v' },
  { name: 'help', long: ['help'], short: 'h' },
  { name: 'version', long: ['version'], short: 'V' },
];

/** sg_persist-style options of the single-device form. */
export const SINGLE_OPTIONS: readonly OptionSpec[] = [
  ...COMMON,
  { name: 'in', long: ['in'], short: 'i' },
  { name: 'read-keys', long: ['read-keys'], short: 'k' },
  { name: 'read-reservation', long: ['read-reservation'], short: 'r' },
  { name: 'report-capabilities', long: ['report-capabilities'], short: 'c' },
  { name: 'read-full-status', long: ['read-full-status', 'read-status'], short: 's' },
  { name: 'out', long: ['out'], short: 'o' },
  { name: 'register', long: ['register'], short: 'G' },
  { name: 'register-ignore', long: ['register-ignore'], short: 'I' },
  { name: 'reserve', long: ['reserve'], short: 'R' },
  { name: 'release', long: ['release'], short: 'L' },
  { name: 'clear', long: ['clear'], short: 'C' },
  { name: 'preempt', long: ['preempt'], short: 'P' },
  { name: 'preempt-abort', long: ['preempt-abort'], short: 'A' },
  { name: 'register-move', long: ['register-move'], short: 'M' },
  { name: 'replace-lost', long: ['replace-lost'], short: 'x' },
  { name: 'param-rk', long: ['param-rk'], short: 'K', takesValue: true },
  { name: 'param-sark', long: ['param-sark'], short: 'S', takesValue: true },
  { name: 'prout-type', long: ['prout-type'], short: 'T', takesValue: true },
  { name: 'param-aptpl', long: ['param-aptpl'], short: 'Z' },
  { name: 'param-alltgpt', long: ['param-alltgpt'], short: 'Y' },
  { name: 'transport-id', long: ['transport-id'], short: 'X', takesValue: true, repeatable: true },
  { name: 'relative-target-port', long: ['relative-target-port'], short: 'Q', takesValue: true },
  { name: 'unreg', long: ['unreg'], short: 'U' },
  { name: 'device', long: ['device'], short: 'd', takesValue: true },
  { name: 'no-inquiry', long: ['no-inquiry'], short: 'n' },
];

const PRIN_ACTIONS: ReadonlyArray<[string, PrInActionName]> = [
  ['read-keys', 'read-keys'],
  ['read-reservation', 'read-reservation'],
  ['report-capabilities', 'report-capabilities'],
  ['read-full-status', 'read-full-status'],
];

type Param = 'param-rk' | 'param-sark' | 'prout-type' | 'param-aptpl' | 'param-alltgpt' | 'transport-id' | 'relative-target-port' | 'unreg';
const PARAMS: readonly Param[] = ['param-rk', 'param-sark', 'prout-type', 'param-aptpl', 'param-alltgpt', 'transport-id', 'relative-target-port', 'unreg'];

/** For each PR OUT action: the parameters it needs, and those it may take. Anything else is refused. */
const PROUT_RULES: Readonly<Record<PrOutActionName, { required: readonly Param[]; optional: readonly Param[]; what: string }>> = {
  register: { required: ['param-sark'], optional: ['param-rk', 'param-aptpl', 'param-alltgpt', 'transport-id'], what: 'REGISTER' },
  'register-ignore': { required: ['param-sark'], optional: ['param-aptpl', 'param-alltgpt'], what: 'REGISTER AND IGNORE EXISTING KEY' },
  reserve: { required: ['param-rk', 'prout-type'], optional: [], what: 'RESERVE' },
  release: { required: ['param-rk', 'prout-type'], optional: [], what: 'RELEASE' },
  clear: { required: ['param-rk'], optional: [], what: 'CLEAR' },
  preempt: { required: ['param-rk', 'param-sark', 'prout-type'], optional: [], what: 'PREEMPT' },
  'preempt-abort': { required: ['param-rk', 'param-sark', 'prout-type'], optional: [], what: 'PREEMPT AND ABORT' },
  'register-move': { required: ['param-rk', 'param-sark', 'transport-id', 'relative-target-port'], optional: ['prout-type', 'unreg', 'param-aptpl'], what: 'REGISTER AND MOVE' },
  'replace-lost': { required: ['param-sark', 'prout-type'], optional: [], what: 'REPLACE LOST RESERVATION' },
};

const PARAM_HINT: Readonly<Record<Param, string>> = {
  'param-rk': '--param-rk (-K)',
  'param-sark': '--param-sark (-S)',
  'prout-type': '--prout-type (-T)',
  'param-aptpl': '--param-aptpl (-Z)',
  'param-alltgpt': '--param-alltgpt (-Y)',
  'transport-id': '--transport-id (-X)',
  'relative-target-port': '--relative-target-port (-Q)',
  unreg: '--unreg (-U)',
};

const PARAM_WHY: Partial<Record<PrOutActionName, Partial<Record<Param, string>>>> = {
  register: { 'param-sark': 'the new key (0 unregisters)' },
  'register-ignore': { 'param-sark': 'the new key (0 unregisters)' },
  reserve: { 'param-rk': 'the key this initiator registered', 'prout-type': 'the reservation type' },
  release: { 'param-rk': 'the key this initiator registered', 'prout-type': 'the type of the held reservation' },
  clear: { 'param-rk': 'the key this initiator registered' },
  preempt: { 'param-rk': 'our registered key', 'param-sark': 'the key to preempt', 'prout-type': 'the reservation type to take' },
  'preempt-abort': { 'param-rk': 'our registered key', 'param-sark': 'the key to preempt', 'prout-type': 'the reservation type to take' },
  'register-move': { 'param-rk': 'the holder key', 'param-sark': 'the key for the destination', 'transport-id': 'the destination initiator', 'relative-target-port': 'the destination target port' },
  'replace-lost': { 'param-sark': 'the new key', 'prout-type': 'the reservation type' },
};

const MULTI_OPTIONS: readonly OptionSpec[] = [
  ...COMMON,
  { name: 'key', long: ['key'], takesValue: true },
  { name: 'victim-key', long: ['victim-key'], takesValue: true },
  { name: 'type', long: ['type'], takesValue: true },
  { name: 'aptpl', long: ['aptpl'] },
  { name: 'lvm', long: ['lvm'] },
  { name: 'no-progress', long: ['no-progress'] },
];

const MULTI_ALLOWED: Readonly<Record<'fence' | 'unfence' | 'status', readonly string[]>> = {
  fence: ['key', 'victim-key', 'type', 'lvm', 'no-progress'],
  unfence: ['key', 'type', 'aptpl', 'lvm', 'no-progress'],
  status: ['key', 'lvm', 'no-progress'],
};

const SERVICE_OPTIONS: readonly OptionSpec[] = [
  ...COMMON,
  { name: 'key', long: ['key'], takesValue: true },
  { name: 'vg', long: ['vg'], takesValue: true, repeatable: true },
  { name: 'interface', long: ['interface'], takesValue: true },
  { name: 'device', long: ['device'], takesValue: true, repeatable: true },
  { name: 'aptpl', long: ['aptpl'] },
];

/** Sub-command names (the first argument). */
export const SUBCOMMANDS = ['fence', 'unfence', 'status', 'service'] as const;

// ---------------------------------------------------------------------------
// helpers

/** Re-throw library argument errors as usage errors with the option's name. */
function arg<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ArgumentRangeError || e instanceof ArgumentTypeError) throw new UsageError(`${what}: ${e.message}`);
    throw e;
  }
}

function keyArg(text: string, option: string): bigint {
  return arg(option, () => parseKey(text as KeyInput, 'key'));
}

function typeArg(text: string, option: string): ReservationTypeCode {
  return arg(option, () => parseReservationType(text, 'type'));
}

/** A non-negative integer written in decimal or 0x hex, within [lo, hi]. */
export function parseIntArg(text: string, option: string, lo: number, hi: number): number {
  const m = /^(?:0x([0-9a-f]+)|([0-9]+))$/i.exec(text.trim());
  const n = m ? (m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10)) : NaN;
  if (!Number.isSafeInteger(n) || n < lo || n > hi) {
    throw new UsageError(`${option} ${JSON.stringify(text)} is not an integer from ${lo} to ${hi}`);
  }
  return n;
}

function common(a: ParsedArgs): CommonRequest {
  const t = valueOf(a, 'timeout');
  return {
    json: a.flags.has('json'),
    verbose: a.flags.has('verbose'),
    ...(t !== undefined ? { timeoutMs: parseIntArg(t, '--timeout', 1, 3_600_000) } : {}),
  };
}

function written(a: ParsedArgs, name: string): string {
  return a.spelling.get(name) ?? `--${name}`;
}

// ---------------------------------------------------------------------------
// the parsers

/**
 * Parse `scsi-pr`'s arguments (without the program name).
 * @throws UsageError for every malformed or contradictory command line.
 */
export function parseCommandLine(argv: readonly string[]): CliRequest {
  const first = argv[0];
  if (first !== undefined && (SUBCOMMANDS as readonly string[]).includes(first)) {
    const rest = argv.slice(1);
    if (first === 'service') return parseService(rest);
    return parseMulti(first as 'fence' | 'unfence' | 'status', rest);
  }
  return parseSingle(argv);
}

function parseSingle(argv: readonly string[]): CliRequest {
  const a = parseArgs(argv, SINGLE_OPTIONS);
  if (a.flags.has('help')) return { kind: 'help', topic: 'main' };
  if (a.flags.has('version')) return { kind: 'version' };
  const c = common(a);

  const devOpt = valueOf(a, 'device');
  const devices = [...(devOpt !== undefined ? [devOpt] : []), ...a.positionals];
  if (devices.length === 0) throw new UsageError('no DEVICE given');
  if (devices.length > 1) {
    const hint = SUBCOMMANDS.some((s) => devices.includes(s)) ? ` (a sub-command must be the first argument: scsi-pr ${devices.find((d) => (SUBCOMMANDS as readonly string[]).includes(d))} …)` : ' (use scsi-pr status|fence|unfence for several devices)';
    throw new UsageError(`one DEVICE expected, got ${devices.length}: ${devices.join(' ')}${hint}`);
  }
  const device = devices[0]!;
  if (device.length === 0) throw new UsageError('DEVICE is empty');

  const ins = PRIN_ACTIONS.filter(([flag]) => a.flags.has(flag));
  const outs = (Object.keys(PROUT_RULES) as PrOutActionName[]).filter((name) => a.flags.has(name));
  const wantIn = a.flags.has('in');
  const wantOut = a.flags.has('out');
  if (wantIn && wantOut) throw new UsageError(`choose ${written(a, 'in')} or ${written(a, 'out')}, not both`);

  if (!wantOut) {
    if (outs.length > 0) {
      throw new UsageError(`${written(a, outs[0]!)} is a PR OUT action: give --out (-o) too (a safeguard, as with sg_persist)`);
    }
    if (ins.length > 1) throw new UsageError(`choose one PR IN action, not ${ins.map(([f]) => written(a, f)).join(' and ')}`);
    const params = PARAMS.filter((p) => a.flags.has(p) || a.values.has(p));
    if (params.length > 0) throw new UsageError(`${written(a, params[0]!)} is a PR OUT parameter; it does not apply to PR IN`);
    return { kind: 'prin', device, action: ins[0]?.[1] ?? 'read-keys', ...c };
  }

  if (ins.length > 0) throw new UsageError(`${written(a, ins[0]![0])} is a PR IN action; it cannot be combined with ${written(a, 'out')}`);
  if (outs.length === 0) throw new UsageError(`${written(a, 'out')} needs one PR OUT action (e.g. --register, --reserve, --preempt-abort)`);
  if (outs.length > 1) throw new UsageError(`choose one PR OUT action, not ${outs.map((o) => written(a, o)).join(' and ')}`);
  const action = outs[0]!;
  const rule = PROUT_RULES[action];
  for (const p of PARAMS) {
    const given = a.flags.has(p) || a.values.has(p);
    if (given && !rule.required.includes(p) && !rule.optional.includes(p)) {
      throw new UsageError(`${written(a, p)} does not apply to ${written(a, action)} (${rule.what})`);
    }
    if (!given && rule.required.includes(p)) {
      const why = PARAM_WHY[action]?.[p];
      throw new UsageError(`${written(a, action)} (${rule.what}) needs ${PARAM_HINT[p]}${why ? `: ${why}` : ''}`);
    }
  }
  const options = proutOptions(action, a);
  if (options.newKey === 0n && (action === 'register-move' || action === 'replace-lost')) {
    throw new UsageError(`${written(a, 'param-sark')} must not be 0 for ${written(a, action)} (${rule.what})`);
  }
  if (action === 'register' && options.newKey === 0n && options.transportIds !== undefined) {
    throw new UsageError(`${written(a, 'transport-id')} cannot be used when ${written(a, 'param-sark')} is 0 (that unregisters)`);
  }
  // Validate exactly as the library will (keys, type, TransportIDs, combinations), before any I/O.
  arg(written(a, action), () => BUILDERS[action](options));
  return { kind: 'prout', device, action, options, ...c };
}

const BUILDERS: Readonly<Record<PrOutActionName, (o: Record<string, unknown>) => unknown>> = {
  register: (o) => registerRequest(o as never),
  'register-ignore': (o) => registerAndIgnoreExistingKeyRequest(o as never),
  reserve: (o) => reserveRequest(o as never),
  release: (o) => releaseRequest(o as never),
  clear: (o) => clearRequest(o as never),
  preempt: (o) => preemptRequest(o as never),
  'preempt-abort': (o) => preemptAndAbortRequest(o as never),
  'register-move': (o) => registerAndMoveRequest(o as never),
  'replace-lost': (o) => replaceLostReservationRequest(o as never),
};

function proutOptions(action: PrOutActionName, a: ParsedArgs): Record<string, unknown> {
  const rk = valueOf(a, 'param-rk');
  const sark = valueOf(a, 'param-sark');
  const t = valueOf(a, 'prout-type');
  const key = rk !== undefined ? keyArg(rk, written(a, 'param-rk')) : undefined;
  const sa = sark !== undefined ? keyArg(sark, written(a, 'param-sark')) : undefined;
  const type = t !== undefined ? typeArg(t, written(a, 'prout-type')) : undefined;
  const tids: TransportId[] = (a.values.get('transport-id') ?? []).map((x) => arg(written(a, 'transport-id'), () => parseTransportId(x)));
  const flag = (p: Param, as: string): Record<string, boolean> => (a.flags.has(p) ? { [as]: true } : {});
  switch (action) {
    case 'register':
      return { ...(key !== undefined ? { key } : {}), newKey: sa, ...flag('param-aptpl', 'aptpl'), ...flag('param-alltgpt', 'allTargetPorts'), ...(tids.length > 0 ? { transportIds: tids } : {}) };
    case 'register-ignore':
      return { newKey: sa, ...flag('param-aptpl', 'aptpl'), ...flag('param-alltgpt', 'allTargetPorts') };
    case 'reserve':
    case 'release':
      return { key, type };
    case 'clear':
      return { key };
    case 'preempt':
    case 'preempt-abort':
      return { key, preemptKey: sa, type };
    case 'register-move': {
      if (tids.length !== 1) throw new UsageError(`${written(a, 'register-move')} takes exactly one ${PARAM_HINT['transport-id']}, got ${tids.length}`);
      const rtp = parseIntArg(valueOf(a, 'relative-target-port')!, written(a, 'relative-target-port'), 0, 0xffff);
      return { key, newKey: sa, transportId: tids[0], relativeTargetPortId: rtp, ...flag('unreg', 'unregister'), ...flag('param-aptpl', 'aptpl'), ...(type !== undefined ? { type } : {}) };
    }
    case 'replace-lost':
      return { newKey: sa, type };
  }
}

function parseMulti(kind: 'fence' | 'unfence' | 'status', argv: readonly string[]): CliRequest {
  const a = parseArgs(argv, MULTI_OPTIONS);
  if (a.flags.has('help')) return { kind: 'help', topic: kind };
  if (a.flags.has('version')) return { kind: 'version' };
  const c = common(a);
  const allowed = MULTI_ALLOWED[kind];
  for (const name of [...a.flags, ...a.values.keys()]) {
    if (MULTI_OPTIONS.some((s) => s.name === name) && !COMMON.some((s) => s.name === name) && !allowed.includes(name)) {
      throw new UsageError(`${written(a, name)} does not apply to scsi-pr ${kind}`);
    }
  }
  const keyText = valueOf(a, 'key');
  if (keyText === undefined) throw new UsageError(`scsi-pr ${kind} needs --key K (this node's registered key, hex)`);
  const key = keyArg(keyText, '--key');
  if (key === 0n) throw new UsageError('--key must not be 0');
  let victimKey: bigint | undefined;
  if (kind === 'fence') {
    const v = valueOf(a, 'victim-key');
    if (v === undefined) throw new UsageError('scsi-pr fence needs --victim-key V (the key of the node to fence, hex)');
    victimKey = keyArg(v, '--victim-key');
    if (victimKey === 0n) throw new UsageError('--victim-key must not be 0');
    if (victimKey === key) throw new UsageError(`--key and --victim-key are both ${keyText}: a node cannot fence itself`);
  }
  const t = valueOf(a, 'type');
  const type = t !== undefined ? typeArg(t, '--type') : 5;
  let source: DeviceSource;
  if (a.flags.has('lvm')) {
    for (const vg of a.positionals) {
      if (vg.startsWith('/')) throw new UsageError(`with --lvm the arguments are volume group names, not devices (got ${vg})`);
      if (!/^[A-Za-z0-9+_.-]+$/.test(vg)) throw new UsageError(`${JSON.stringify(vg)} is not a volume group name`);
    }
    source = { kind: 'lvm', volumeGroups: [...a.positionals] };
  } else {
    if (a.positionals.length === 0) throw new UsageError(`scsi-pr ${kind} needs at least one DEVICE (or --lvm [VG...])`);
    if (a.positionals.some((d) => d.length === 0)) throw new UsageError('a DEVICE is empty');
    source = { kind: 'devices', devices: [...a.positionals] };
  }
  return { kind, source, key, ...(victimKey !== undefined ? { victimKey } : {}), type, aptpl: a.flags.has('aptpl'), progress: !a.flags.has('no-progress'), ...c };
}

function parseService(argv: readonly string[]): CliRequest {
  const a = parseArgs(argv, SERVICE_OPTIONS);
  if (a.flags.has('help')) return { kind: 'help', topic: 'service' };
  if (a.flags.has('version')) return { kind: 'version' };
  const c = common(a);
  if (a.positionals.length === 0) throw new UsageError('scsi-pr service needs an action: start, stop or status');
  const [action, ...extra] = a.positionals;
  if (action !== 'start' && action !== 'stop' && action !== 'status') throw new UsageError(`unknown service action ${JSON.stringify(action)}: use start, stop or status`);
  if (extra.length > 0) throw new UsageError(`unexpected argument(s) after ${action}: ${extra.join(' ')} (devices go in --device, volume groups in --vg)`);
  const keyText = valueOf(a, 'key');
  const key = keyText !== undefined ? keyArg(keyText, '--key') : undefined;
  if (key === 0n) throw new UsageError('--key must not be 0');
  const volumeGroups = [...(a.values.get('vg') ?? [])];
  const devices = [...(a.values.get('device') ?? [])];
  for (const vg of volumeGroups) if (!/^[A-Za-z0-9+_.-]+$/.test(vg)) throw new UsageError(`--vg ${JSON.stringify(vg)} is not a volume group name`);
  if (volumeGroups.length > 0 && devices.length > 0) throw new UsageError('give --vg or --device, not both (devices come either from LVM or from the command line)');
  if (a.flags.has('aptpl') && action !== 'start') throw new UsageError(`--aptpl applies to service start only`);
  const iface = valueOf(a, 'interface');
  if (iface !== undefined && key !== undefined) throw new UsageError('give --key or --interface, not both (--interface chooses the address the key is derived from)');
  if (iface !== undefined && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(iface)) throw new UsageError(`--interface ${JSON.stringify(iface)} is not a network interface name`);
  return { kind: 'service', action, ...(key !== undefined ? { key } : {}), ...(iface !== undefined ? { interface: iface } : {}), volumeGroups, devices, aptpl: a.flags.has('aptpl'), ...c };
}

// ---------------------------------------------------------------------------
// help

/** Exit codes, as documented in every help text. */
export const EXIT_CODES_HELP = `Exit status (sg3_utils values where they exist):
   0  success
   1  other error; fence/unfence/status: some devices failed (partial)
   2  bad command line or argument (nothing was sent to any device)
   3  device not found or not usable (missing, partition, not SCSI, open
      failed)
   5  ILLEGAL REQUEST            6  UNIT ATTENTION (after 5 retries)
   7  DATA PROTECT               9  PR commands not supported (invalid opcode)
  11  ABORTED COMMAND           24  RESERVATION CONFLICT
  26  BUSY (after retries)      27  TASK SET FULL      28  ACA ACTIVE
  29  TASK ABORTED              33  command timed out
  97  malformed response
  98  other sense key (NOT READY, MEDIUM ERROR, HARDWARE ERROR, ...)
  99  transport/driver error or other SCSI status`;

export const MAIN_HELP = `Usage: scsi-pr [OPTIONS] DEVICE              (one device, like sg_persist)
       scsi-pr fence   --key K --victim-key V [OPTIONS] DEVICE...
       scsi-pr unfence --key K [--aptpl] [OPTIONS] DEVICE...
       scsi-pr status  --key K [OPTIONS] DEVICE...
       scsi-pr fence|unfence|status ... --lvm [VG...]    (shared LVM VGs)
       scsi-pr service start|stop|status [--key K] [--vg VG]...

DEVICE is /dev/sgN, /dev/sdX or a symlink (/dev/disk/by-id/...); a disk is
used through its sg node. Keys are hex (1-16 digits, 0x optional).

PR IN (the default is --read-keys):
  -i, --in                    PR IN
  -k, --read-keys             READ KEYS
  -r, --read-reservation      READ RESERVATION
  -c, --report-capabilities   REPORT CAPABILITIES
  -s, --read-full-status      READ FULL STATUS (also --read-status)

PR OUT (needs --out as a safeguard, and exactly one action; after the colon
the parameters it needs, [those it may take]; any other is refused):
  -o, --out                   PR OUT
  -G, --register              REGISTER: -S (0 unregisters) [-K -Z -Y -X...]
  -I, --register-ignore       REGISTER AND IGNORE EXISTING KEY: -S [-Z -Y]
  -R, --reserve               RESERVE: -K -T
  -L, --release               RELEASE: -K -T
  -C, --clear                 CLEAR: -K
  -P, --preempt               PREEMPT: -K -S -T
  -A, --preempt-abort         PREEMPT AND ABORT: -K -S -T
  -M, --register-move         REGISTER AND MOVE: -K -S -X -Q [-T -U -Z]
  -x, --replace-lost          REPLACE LOST RESERVATION: -S -T

PR OUT parameters:
  -K, --param-rk=RK           reservation key
  -S, --param-sark=SARK       service action reservation key
  -T, --prout-type=TYPE       1 3 5 6 7 8, or we ea we-ro ea-ro we-ar ea-ar,
                              or a name such as write-exclusive-registrants-only
  -Z, --param-aptpl           APTPL: persist through power loss
  -Y, --param-alltgpt         ALL_TG_PT: register through all target ports
  -X, --transport-id=TID      a TransportID (repeatable, one per option):
                              iqn.NAME[,i,0xISID], iscsi,NAME, sas,HEX16,
                              naa.HEX16, fcp,HEX16, sbp,HEX16, srp,HEX32,
                              spi,ADDR,PORT, sop,HEX, or hex bytes
  -Q, --relative-target-port=N  relative target port (--register-move)
  -U, --unreg                 unregister this nexus after --register-move

Other options:
  -d, --device=DEVICE         the device, instead of the argument
  -n, --no-inquiry            accepted for sg_persist compatibility
      --timeout=MS            per-command timeout in ms (default 30000)
      --json                  JSON on stdout (keys as "0x..." strings)
  -v, --verbose               report retried UNIT ATTENTIONs on stderr
  -h, --help                  this help (scsi-pr COMMAND --help: fence,
                              unfence, status, service)
  -V, --version               print the version

PR IN output reads like sg_persist -n's; PR OUT prints nothing on success.
UNIT ATTENTION is retried (5 times), BUSY with backoff.

${EXIT_CODES_HELP}
`;

const MULTI_COMMON_HELP = `  --lvm                       the arguments are volume group names: use the
                              devices of those shared/clustered VGs (of all
                              of them when none is named)
  --timeout=MS                per-command timeout in ms (default 30000)
  --json                      the full report as JSON on stdout
  --no-progress               no live progress line (shown on a terminal only)
  -h, --help                  this help`;

export const FENCE_HELP = `Usage: scsi-pr fence --key K --victim-key V [--type T] [OPTIONS] DEVICE...
       scsi-pr fence --key K --victim-key V [--type T] [OPTIONS] --lvm [VG...]

Remove the victim's key from every logical unit with PREEMPT AND ABORT. Our
key must be registered everywhere (else another node fenced us and nothing is
done); the first LU in WWN order is preempted alone (two nodes fencing each
other are serialised there), then all others at once; then every LU is read
back (READ FULL STATUS) to verify that the victim's key is gone. Paths of one
LU are grouped by WWN; a failing path falls back to another.

  --key K                     our registered key (hex)
  --victim-key V              the key of the node to fence (hex)
  --type T                    reservation type to take if the victim held it
                              (default 5, we-ro)
${MULTI_COMMON_HELP}

Exit status:
   0  the victim is verified fenced on every logical unit
   1  partial: some logical units are not verified fenced (listed)
   2  bad command line (nothing was sent)
   3  no device could be opened (or --lvm found none)
  24  LOST: our own key is not registered (another node fenced us)
`;

export const UNFENCE_HELP = `Usage: scsi-pr unfence --key K [--aptpl] [--type T] [OPTIONS] DEVICE...
       scsi-pr unfence --key K [--aptpl] [--type T] [OPTIONS] --lvm [VG...]

Register our key on every path of every logical unit (REGISTER AND IGNORE
EXISTING KEY, so stale registrations of this host are replaced) and take a
reservation (default type 5, Write Exclusive, Registrants Only) where none
exists.

  --key K                     our key (hex, not 0)
  --aptpl                     persist through power loss
  --type T                    reservation type to take where none exists
                              (default 5)
${MULTI_COMMON_HELP}

Exit status:
   0  registered on every path of every LU, and each LU has a reservation
   1  partial: some logical units failed (listed)
   2  bad command line (nothing was sent)
   3  no device could be opened (or --lvm found none)
`;

export const STATUS_HELP = `Usage: scsi-pr status --key K [OPTIONS] DEVICE...
       scsi-pr status --key K [OPTIONS] --lvm [VG...]

Read (READ FULL STATUS) which logical units have our key registered and who
holds the reservation.

  --key K                     our key (hex)
${MULTI_COMMON_HELP}

Exit status:
   0  our key is registered on every logical unit
   1  registered on some logical units only
   2  bad command line
   3  registered on none (or --lvm found no device)
   4  no logical unit could be read
`;

export const SERVICE_HELP = `Usage: scsi-pr service start|stop|status [OPTIONS]

The boot-time service of the original fence_scsi design, for an init system
(no prompts, no terminal assumed; start and stop report on stderr, status
lists the devices on stdout):

  start   find the devices of the shared/clustered LVM volume groups (vg_attr
          's' or 'c'), register our key on every path, and take a Write
          Exclusive, Registrants Only reservation where none exists
  stop    release the reservation where we hold it and unregister our key
          from every path
  status  list the devices (and their VGs) registered with our key

  --key K                     our key (hex); default: this host's IPv4
                              address, like gethostip -x (10.0.0.1 is
                              0x0a000001)
  --interface IF              derive the key from this interface's IPv4
                              address (default: the first non-loopback one)
  --vg VG                     only this volume group (repeatable)
  --device DEV                use these devices instead of LVM (repeatable)
  --aptpl                     start: persist through power loss
  --timeout=MS                per-command timeout in ms (default 30000)
  --json                      the report as JSON on stdout
  -h, --help                  this help

Exit status (LSB init-script values):
  start, stop:  0  done on every device (stop: also when nothing was
                   registered)
                1  failed on some devices
                2  bad command line
                4  insufficient privilege
                5  the LVM tools (vgs) are not installed
                6  start: no shared volume group, no device
  status:       0  running: registered on every device
                1  registered on some devices only
                2  bad command line
                3  not running: registered nowhere
                4  unknown: no device could be read, or discovery failed
`;

/** The help text of a topic. */
export function helpText(topic: HelpRequest['topic']): string {
  switch (topic) {
    case 'main':
      return MAIN_HELP;
    case 'fence':
      return FENCE_HELP;
    case 'unfence':
      return UNFENCE_HELP;
    case 'status':
      return STATUS_HELP;
    case 'service':
      return SERVICE_HELP;
  }
}
