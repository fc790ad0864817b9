/**
 * `scsi-pr`'s command line → a validated request. Pure: nothing here touches a
 * device, so every invalid combination is refused (UsageError, exit 2) before
 * any I/O. PR OUT options are additionally run through the library's pure
 * request builders, so what passes here is exactly what the library will send.
 */
import { ArgumentRangeError, ArgumentTypeError } from '../../invalid-argument';
import { parseKey, type KeyInput } from '../../scsi/keys';
import { parseReservationType, type ReservationTypeCode } from '../../scsi/reservation-types';
import type { TransportId } from '../../scsi/transport-id';
import { parseTransportId } from '../../scsi/transport-id-text';
import type { PrInActionName } from '../../scsi/pr-in-requests';
import { prOutRequest } from '../../scsi/pr-out-requests';
import type { PrOutOptionName } from '../../scsi/pr-out-builders';
import { PR_IN_ACTIONS, PR_IN_METHODS, PR_OUT_ACTIONS, PR_OUT_METHODS, type PrInMethod, type PrOutMethod, type PrOutServiceAction } from '../../scsi/pr-service-actions';
import type { HelpTopic } from './cli-help';
import { RESET_LEVELS, type ResetLevel } from '../../transport/scsi-transport';
import { parseArgs, UsageError, valueOf, type OptionSpec, type ParsedArgs } from './cli-args';

/** PR OUT actions by CLI name (the long option): `'register'`, `'preempt-abort'`, … */
export type PrOutActionName = (typeof PR_OUT_ACTIONS)[PrOutMethod]['cli']['long'];

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
  /** The `Device` method that runs it. */
  method: PrInMethod;
}

/** `scsi-pr --out --ACTION [params] DEVICE`: `options` is what the Device method takes. */
export interface PrOutCliRequest extends CommonRequest {
  kind: 'prout';
  device: string;
  action: PrOutActionName;
  /** The `Device` method that runs it. */
  method: PrOutMethod;
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
  /** fence only (`--require-abort`): no PREEMPT fallback where PREEMPT AND ABORT is refused. */
  requireAbort: boolean;
  /** Show a live progress line (a terminal only); false with --no-progress. */
  progress: boolean;
  /**
   * status only: `'matrix'` (`--matrix`) the LUN × key matrix, `'list'`
   * (`--list`) one line per LU; absent: the matrix on a terminal, the list
   * otherwise. Never with `--json`.
   */
  layout?: 'matrix' | 'list';
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
  topic: HelpTopic;
}

export interface VersionRequest {
  kind: 'version';
}

/** `scsi-pr --reserve6|--release6|--reset LEVEL DEVICE`: SCSI-2 reservations and resets. */
export interface Scsi2CliRequest extends CommonRequest {
  kind: 'scsi2';
  device: string;
  action: 'reserve6' | 'release6' | 'reset';
  /** For `reset`. */
  level?: ResetLevel;
}

export type CliRequest = PrInCliRequest | PrOutCliRequest | Scsi2CliRequest | MultiCliRequest | ServiceCliRequest | HelpRequest | VersionRequest;

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
  ...PR_IN_METHODS.map((m): OptionSpec => ({ name: PR_IN_ACTIONS[m].id, long: [...PR_IN_ACTIONS[m].cli.long], short: PR_IN_ACTIONS[m].cli.short })),
  { name: 'out', long: ['out'], short: 'o' },
  ...PR_OUT_METHODS.map((m): OptionSpec => ({ name: PR_OUT_ACTIONS[m].cli.long, long: [PR_OUT_ACTIONS[m].cli.long], short: PR_OUT_ACTIONS[m].cli.short })),
  { name: 'param-rk', long: ['param-rk'], short: 'K', takesValue: true },
  { name: 'param-sark', long: ['param-sark'], short: 'S', takesValue: true },
  { name: 'prout-type', long: ['prout-type'], short: 'T', takesValue: true },
  { name: 'param-aptpl', long: ['param-aptpl'], short: 'Z' },
  { name: 'param-alltgpt', long: ['param-alltgpt'], short: 'Y' },
  { name: 'transport-id', long: ['transport-id'], short: 'X', takesValue: true, repeatable: true },
  { name: 'relative-target-port', long: ['relative-target-port'], short: 'Q', takesValue: true },
  { name: 'unreg', long: ['unreg'], short: 'U' },
  { name: 'reserve6', long: ['reserve6'] },
  { name: 'release6', long: ['release6'] },
  { name: 'reset', long: ['reset'], takesValue: true },
  { name: 'device', long: ['device'], short: 'd', takesValue: true },
  { name: 'no-inquiry', long: ['no-inquiry'], short: 'n' },
];

type Param = 'param-rk' | 'param-sark' | 'prout-type' | 'param-aptpl' | 'param-alltgpt' | 'transport-id' | 'relative-target-port' | 'unreg';
const PARAMS: readonly Param[] = ['param-rk', 'param-sark', 'prout-type', 'param-aptpl', 'param-alltgpt', 'transport-id', 'relative-target-port', 'unreg'];

/** The sg_persist parameter that carries each PR OUT option. */
const PARAM_OF: Readonly<Record<PrOutOptionName, Param>> = {
  key: 'param-rk',
  newKey: 'param-sark',
  preemptKey: 'param-sark',
  type: 'prout-type',
  aptpl: 'param-aptpl',
  allTargetPorts: 'param-alltgpt',
  transportIds: 'transport-id',
  transportId: 'transport-id',
  relativeTargetPortId: 'relative-target-port',
  unregister: 'unreg',
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

const MULTI_OPTIONS: readonly OptionSpec[] = [
  ...COMMON,
  { name: 'key', long: ['key'], takesValue: true },
  { name: 'victim-key', long: ['victim-key'], takesValue: true },
  { name: 'type', long: ['type'], takesValue: true },
  { name: 'aptpl', long: ['aptpl'] },
  { name: 'require-abort', long: ['require-abort'] },
  { name: 'lvm', long: ['lvm'] },
  { name: 'no-progress', long: ['no-progress'] },
  { name: 'matrix', long: ['matrix'] },
  { name: 'list', long: ['list'] },
];

const MULTI_ALLOWED: Readonly<Record<'fence' | 'unfence' | 'status', readonly string[]>> = {
  fence: ['key', 'victim-key', 'type', 'require-abort', 'lvm', 'no-progress'],
  unfence: ['key', 'type', 'aptpl', 'lvm', 'no-progress'],
  status: ['key', 'lvm', 'no-progress', 'matrix', 'list'],
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

  const ins = PR_IN_METHODS.filter((m) => a.flags.has(PR_IN_ACTIONS[m].id));
  const outs = PR_OUT_METHODS.filter((m) => a.flags.has(PR_OUT_ACTIONS[m].cli.long));
  const wantIn = a.flags.has('in');
  const wantOut = a.flags.has('out');
  const scsi2 = SCSI2_ACTIONS.filter((n) => a.flags.has(n) || a.values.has(n));
  if (scsi2.length > 0) return parseScsi2(a, scsi2, device, wantIn || wantOut || ins.length > 0 || outs.length > 0, c);
  if (wantIn && wantOut) throw new UsageError(`choose ${written(a, 'in')} or ${written(a, 'out')}, not both`);

  if (!wantOut) {
    if (outs.length > 0) {
      throw new UsageError(`${written(a, PR_OUT_ACTIONS[outs[0]!].cli.long)} is a PR OUT action: give --out (-o) too (a safeguard, as with sg_persist)`);
    }
    if (ins.length > 1) throw new UsageError(`choose one PR IN action, not ${ins.map((m) => written(a, PR_IN_ACTIONS[m].id)).join(' and ')}`);
    const params = PARAMS.filter((p) => a.flags.has(p) || a.values.has(p));
    if (params.length > 0) throw new UsageError(`${written(a, params[0]!)} is a PR OUT parameter; it does not apply to PR IN`);
    const method = ins[0] ?? 'readKeys';
    return { kind: 'prin', device, action: PR_IN_ACTIONS[method].id, method, ...c };
  }

  if (ins.length > 0) throw new UsageError(`${written(a, PR_IN_ACTIONS[ins[0]!].id)} is a PR IN action; it cannot be combined with ${written(a, 'out')}`);
  if (outs.length === 0) throw new UsageError(`${written(a, 'out')} needs one PR OUT action (e.g. --register, --reserve, --preempt-abort)`);
  if (outs.length > 1) throw new UsageError(`choose one PR OUT action, not ${outs.map((m) => written(a, PR_OUT_ACTIONS[m].cli.long)).join(' and ')}`);
  const method = outs[0]!;
  const row: PrOutServiceAction = PR_OUT_ACTIONS[method];
  const action = PR_OUT_ACTIONS[method].cli.long;
  const allowed = new Set(row.accepts.map((o) => PARAM_OF[o]));
  const required = new Map(Object.entries(row.requires).map(([o, why]) => [PARAM_OF[o as PrOutOptionName], why]));
  for (const p of PARAMS) {
    const given = a.flags.has(p) || a.values.has(p);
    if (given && !allowed.has(p)) {
      throw new UsageError(`${written(a, p)} does not apply to ${written(a, action)} (${row.name})`);
    }
    if (!given && required.has(p)) {
      throw new UsageError(`${written(a, action)} (${row.name}) needs ${PARAM_HINT[p]}: ${required.get(p)}`);
    }
  }
  const options = proutOptions(row, a);
  if (options.newKey === 0n && row.cli.nonZeroServiceActionKey) {
    throw new UsageError(`${written(a, 'param-sark')} must not be 0 for ${written(a, action)} (${row.name})`);
  }
  if (method === 'register' && options.newKey === 0n && options.transportIds !== undefined) {
    throw new UsageError(`${written(a, 'transport-id')} cannot be used when ${written(a, 'param-sark')} is 0 (that unregisters)`);
  }
  // Validate exactly as the library will (keys, type, TransportIDs, combinations), before any I/O.
  arg(written(a, action), () => prOutRequest(method, options, row.name));
  return { kind: 'prout', device, action, method, options, ...c };
}

const SCSI2_ACTIONS = ['reserve6', 'release6', 'reset'] as const;

/** `--reserve6`, `--release6`, `--reset LEVEL`: alone, without any PR action or parameter. */
function parseScsi2(a: ParsedArgs, given: ReadonlyArray<(typeof SCSI2_ACTIONS)[number]>, device: string, withPr: boolean, c: CommonRequest): Scsi2CliRequest {
  const action = given[0]!;
  if (given.length > 1) throw new UsageError(`choose one of ${given.map((n) => written(a, n)).join(' and ')}`);
  const params = PARAMS.filter((p) => a.flags.has(p) || a.values.has(p));
  if (withPr || params.length > 0) throw new UsageError(`${written(a, action)} is not a persistent reservation command: it takes no PR IN/OUT action or parameter`);
  if (action !== 'reset') return { kind: 'scsi2', device, action, ...c };
  const level = valueOf(a, 'reset')!;
  if (!(RESET_LEVELS as readonly string[]).includes(level)) throw new UsageError(`${written(a, 'reset')} ${JSON.stringify(level)}: expected ${RESET_LEVELS.join(', ')}`);
  return { kind: 'scsi2', device, action, level: level as ResetLevel, ...c };
}

/** The Device method's options for PR OUT action `row`, from its sg_persist parameters (each parsed in one fixed order). */
function proutOptions(row: PrOutServiceAction, a: ParsedArgs): Record<string, unknown> {
  const rk = valueOf(a, 'param-rk');
  const sark = valueOf(a, 'param-sark');
  const t = valueOf(a, 'prout-type');
  const key = rk !== undefined ? keyArg(rk, written(a, 'param-rk')) : undefined;
  const sa = sark !== undefined ? keyArg(sark, written(a, 'param-sark')) : undefined;
  const type = t !== undefined ? typeArg(t, written(a, 'prout-type')) : undefined;
  const tids: TransportId[] = (a.values.get('transport-id') ?? []).map((x) => arg(written(a, 'transport-id'), () => parseTransportId(x)));
  const options: Record<string, unknown> = {};
  for (const name of row.accepts) {
    switch (name) {
      case 'key':
        if (key !== undefined) options.key = key;
        break;
      case 'newKey':
      case 'preemptKey':
        if (sa !== undefined) options[name] = sa;
        break;
      case 'type':
        if (type !== undefined) options.type = type;
        break;
      case 'aptpl':
      case 'allTargetPorts':
      case 'unregister':
        if (a.flags.has(PARAM_OF[name])) options[name] = true;
        break;
      case 'transportIds':
        if (tids.length > 0) options.transportIds = tids;
        break;
      case 'transportId':
        if (tids.length !== 1) throw new UsageError(`${written(a, row.cli.long)} takes exactly one ${PARAM_HINT['transport-id']}, got ${tids.length}`);
        options.transportId = tids[0];
        break;
      case 'relativeTargetPortId':
        options.relativeTargetPortId = parseIntArg(valueOf(a, 'relative-target-port')!, written(a, 'relative-target-port'), 0, 0xffff);
        break;
    }
  }
  return options;
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
  const layouts = (['matrix', 'list', 'json'] as const).filter((f) => a.flags.has(f));
  if (layouts.length > 1) throw new UsageError(`${layouts.map((f) => written(a, f)).join(' and ')}: choose one output form (--json is the machine form)`);
  const layout = layouts[0] === 'matrix' || layouts[0] === 'list' ? layouts[0] : undefined;
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
  return { kind, source, key, ...(victimKey !== undefined ? { victimKey } : {}), type, aptpl: a.flags.has('aptpl'), requireAbort: a.flags.has('require-abort'), progress: !a.flags.has('no-progress'), ...(layout ? { layout } : {}), ...c };
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
