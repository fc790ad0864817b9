/**
 * fence_scsi_pr's actions on top of the library's fence(), unfence() and
 * status(), behind the fence-agents calling convention. Everything the agent
 * touches outside itself (the library calls, the clock, the host name,
 * corosync.conf, the state directory) comes in through {@link AgentDeps}, so
 * the whole agent runs in unit tests without devices.
 *
 * Exit codes (fence-agents): 0 success; 1 failure (bad input, a device
 * problem, fencing not verified, we were fenced ourselves); 2 `status`: the
 * node is "off" (its key is registered on no device).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fence as libFence, type FenceOptions, type FenceReport } from '../../fencing/fence';
import { unfence as libUnfence, type UnfenceOptions, type UnfenceReport } from '../../fencing/unfence';
import { status as libStatus, type StatusOptions, type StatusReport } from '../../fencing/fence-status';
import { expandDevices } from '../../fencing/device-discovery';
import { resolveDevicePath } from '../../transport/device-path';
import { formatKey } from '../../scsi/keys';
import {
  findParameter,
  normaliseAction,
  numberValue,
  parseInput,
  splitDevices,
  usage,
  type AgentAction,
  type ParsedInput,
} from './fence-agent-options';
import { AgentLog } from './fence-agent-log';
import { metadataXml } from './fence-agent-metadata';
import { readState, statePath, writeState, type AgentState } from './fence-agent-state';
import { readCorosyncConf, type CorosyncConfig } from './fence-agent-corosync';
import { KeyResolver, parseClusterId, parseKeyMode, parseKeyParam, parseNodeMap, type ResolvedKey } from './fence-agent-keys';

/** Exit codes. */
export const EXIT = { OK: 0, ERROR: 1, STATUS_OFF: 2 } as const;

/** The agent's outside world. */
export interface AgentDeps {
  fence: (o: FenceOptions) => Promise<FenceReport>;
  unfence: (o: UnfenceOptions) => Promise<UnfenceReport>;
  status: (o: StatusOptions) => Promise<StatusReport>;
  /** validate-all: problems with the devices, found without opening them (sysfs and stat only). */
  checkDevices: (devices: string[]) => Promise<string[]>;
  readCorosync: (path: string) => CorosyncConfig | null;
  hostname: () => string;
  sleep: (ms: number) => Promise<void>;
  version: () => string;
}

/** Input and output of one agent run. */
export interface AgentIo {
  argv: readonly string[];
  readStdin: () => string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Program name for usage text. */
  program?: string;
}

/** Find device problems without opening a device: multipath maps expand, every path is stat()ed and checked in sysfs. */
export async function checkDevicesWithoutIo(devices: string[]): Promise<string[]> {
  const problems: string[] = [];
  let expanded: Array<{ device: string; paths: string[] }>;
  try {
    expanded = await expandDevices(devices);
  } catch (e) {
    return [(e as Error).message];
  }
  for (const d of expanded) {
    for (const p of d.paths) {
      try {
        resolveDevicePath(p);
      } catch (e) {
        problems.push(p === d.device ? (e as Error).message : `${d.device}: path ${(e as Error).message}`);
      }
    }
  }
  return problems;
}

function packageVersion(): string {
  for (const dir of [join(__dirname, '..', '..'), join(__dirname, '..', '..', '..')]) {
    try {
      const v = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string });
      if (v.name === 'scsi-pr' && v.version) return v.version;
    } catch {
      /* next */
    }
  }
  return 'unknown';
}

/** The real dependencies. */
export function defaultDeps(): AgentDeps {
  return {
    fence: libFence,
    unfence: libUnfence,
    status: libStatus,
    checkDevices: checkDevicesWithoutIo,
    readCorosync: readCorosyncConf,
    hostname,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    version: packageVersion,
  };
}

/** The parsed, checked settings one action needs. Built by {@link settingsFrom}. */
interface Settings {
  action: AgentAction;
  target?: string;
  /** Names to look the target up by: nodename first, then plug. */
  targetNames: string[];
  nodeid?: number;
  key?: bigint;
  devices?: string[];
  aptpl: boolean;
  timeoutMs: number;
  delayMs: number;
  resolver: KeyResolver;
}

class Failure extends Error {}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Parse every parameter, collecting problems instead of stopping at the first
 * (validate-all reports them all).
 */
function settingsFrom(input: ParsedInput, action: AgentAction, deps: AgentDeps, problems: string[]): Settings {
  const v = input.values;
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      problems.push(errorText(e));
      return undefined;
    }
  };
  const str = (name: string): string | undefined => {
    const s = v.get(name)?.trim();
    return s ? s : undefined;
  };
  const nodename = str('nodename');
  const plug = str('plug');
  const targetNames = [...new Set([nodename, plug].filter((x): x is string => x !== undefined))];
  const nodeid = str('nodeid') !== undefined ? attempt(() => numberValue(v, 'nodeid')) : undefined;
  const key = str('key') !== undefined ? attempt(() => parseKeyParam(str('key')!)) : undefined;
  const devices = str('devices') !== undefined ? splitDevices(str('devices')!) : undefined;
  const timeoutS = attempt(() => numberValue(v, 'command_timeout'));
  if (timeoutS !== undefined && timeoutS <= 0) problems.push('command_timeout must be greater than 0');
  const delayS = attempt(() => numberValue(v, 'delay'));
  const mode = attempt(() => parseKeyMode(str('key_value'))) ?? 'hash';
  const nodes = str('nodes') !== undefined ? attempt(() => parseNodeMap(str('nodes')!)) : undefined;
  const clusterId = str('cluster_id') !== undefined ? attempt(() => parseClusterId(str('cluster_id')!)) : undefined;
  const resolver = new KeyResolver(
    {
      mode,
      ...(nodes ? { nodes } : {}),
      ...(str('cluster_name') ? { clusterName: str('cluster_name')! } : {}),
      ...(clusterId !== undefined ? { clusterId } : {}),
      corosyncConfPath: str('corosync_conf') ?? findParameter('corosync_conf')!.default!,
    },
    deps.readCorosync,
  );
  return {
    action,
    ...(targetNames.length > 0 ? { target: targetNames[0] } : {}),
    targetNames,
    ...(nodeid !== undefined && !Number.isNaN(nodeid) ? { nodeid } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(devices !== undefined ? { devices } : {}),
    aptpl: v.get('aptpl') === '1',
    timeoutMs: Math.round((timeoutS && timeoutS > 0 ? timeoutS : 30) * 1000),
    delayMs: Math.round((delayS ?? 0) * 1000),
    resolver,
  };
}

/** Run the agent once. Resolves with the exit code; never rejects. */
export async function runAgent(io: AgentIo, deps: AgentDeps = defaultDeps()): Promise<number> {
  const program = io.program ?? 'fence_scsi_pr';
  let input: ParsedInput;
  try {
    input = parseInput(io.argv, io.readStdin);
  } catch (e) {
    const log = new AgentLog({ verbose: false, quiet: false, stderr: io.stderr });
    log.error(`Parse error: ${errorText(e)}`);
    log.error("Please use '-h' for usage");
    return EXIT.ERROR;
  }
  const v = input.values;
  if (v.get('help') === '1') {
    io.stdout(usage(program));
    return EXIT.OK;
  }
  if (v.get('version') === '1') {
    io.stdout(deps.version() + '\n');
    return EXIT.OK;
  }
  const rawAction = v.get('action')?.trim() || 'off';
  const action = normaliseAction(rawAction);
  if (action === 'metadata') {
    io.stdout(metadataXml(program));
    return EXIT.OK;
  }
  const log = new AgentLog({
    verbose: input.verboseCount > 0 || v.get('verbose') === '1',
    quiet: v.get('quiet') === '1',
    ...(v.get('logfile')?.trim() ? { logfile: v.get('logfile')!.trim() } : {}),
    ...(v.get('debug_file')?.trim() ? { debugFile: v.get('debug_file')!.trim() } : {}),
    action: action ?? rawAction,
    stderr: io.stderr,
  });
  for (const w of input.warnings) log.warn(w);
  if (!action) {
    log.error(`Failed: Unrecognised action '${rawAction}' (expected on, off, status, monitor, list, metadata or validate-all)`);
    return EXIT.ERROR;
  }
  log.debug(`${action}: options from ${input.source}: ${[...v.entries()].map(([k, x]) => `${k}=${x}`).join(' ')}`);

  const problems: string[] = [];
  const s = settingsFrom(input, action, deps, problems);
  const out = (line: string) => {
    io.stdout(line + '\n');
    log.result(line);
  };
  const ctx: ActionContext = { s, deps, log, out, env: io.env };
  try {
    if (action === 'validate-all') return await validateAll(ctx, problems);
    if (problems.length > 0) {
      for (const p of problems) log.error(`Failed: ${p}`);
      return EXIT.ERROR;
    }
    switch (action) {
      case 'on':
        return await actionOn(ctx);
      case 'off':
        return await actionOff(ctx);
      case 'status':
        return await actionStatus(ctx);
      case 'monitor':
        return await actionMonitor(ctx);
      case 'list':
        return actionList(ctx);
    }
  } catch (e) {
    if (!(e instanceof Failure)) log.error(`Failed: ${errorText(e)}`);
    return EXIT.ERROR;
  }
}

interface ActionContext {
  s: Settings;
  deps: AgentDeps;
  log: AgentLog;
  out: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

function fail(ctx: ActionContext, message: string): never {
  ctx.log.error(`Failed: ${message}`);
  throw new Failure(message);
}

/** The state file, or null; a broken state file is a failure only when we need it. */
function loadState(ctx: ActionContext): { state: AgentState | null; error?: string } {
  try {
    return { state: readState(ctx.env) };
  } catch (e) {
    return { state: null, error: errorText(e) };
  }
}

/** The target's key, or the reason there is none. */
function tryKeyOfTarget(ctx: ActionContext): ResolvedKey | { error: string } {
  const { s } = ctx;
  // The nodes map may know the node under either name (pcmk_host_map can make plug differ from nodename).
  for (const name of s.targetNames) {
    const mapped = s.resolver.settings.nodes?.get(name);
    if (mapped !== undefined) return { node: name, key: mapped, how: 'from the nodes map' };
  }
  try {
    return s.resolver.keyOf(s.targetNames[0], s.nodeid);
  } catch (e) {
    return { error: errorText(e) };
  }
}

function keyOfTarget(ctx: ActionContext): ResolvedKey {
  const r = tryKeyOfTarget(ctx);
  if ('error' in r) fail(ctx, r.error);
  return r;
}

/** This host's node name candidates: the full host name, then its first label. */
function hostNames(ctx: ActionContext): string[] {
  const h = ctx.deps.hostname();
  const short = h.split('.')[0];
  return [...new Set([h, short].filter((x) => x.length > 0))];
}

/**
 * This node's key: `key` parameter, else the state file (what `on` registered),
 * else derived from this host's name. `on` with a target uses the target's key
 * before the state file (Pacemaker runs `on` on the target itself).
 */
function ownKey(ctx: ActionContext, state: AgentState | null, stateError: string | undefined): ResolvedKey {
  const { s } = ctx;
  if (s.key !== undefined) return { node: state?.node ?? hostNames(ctx)[0], key: s.key, how: 'from the key parameter' };
  if (state) return { node: state.node ?? hostNames(ctx)[0], key: state.key, how: `from the state file ${statePath(ctx.env)}` };
  if (stateError) fail(ctx, stateError);
  const errors: string[] = [];
  for (const name of hostNames(ctx)) {
    try {
      const r = s.resolver.keyOf(name);
      return { ...r, how: `${r.how}, this host's name` };
    } catch (e) {
      errors.push(errorText(e));
    }
  }
  fail(ctx, `this node's key is unknown: give key, run "on" first (it records the key in ${statePath(ctx.env)}), or make this host's name (${hostNames(ctx).join(' / ')}) resolvable: ${errors[0] ?? ''}`);
}

function devicesOf(ctx: ActionContext, state: AgentState | null, stateError: string | undefined): string[] {
  if (ctx.s.devices && ctx.s.devices.length > 0) return ctx.s.devices;
  if (ctx.s.devices) fail(ctx, 'devices is empty');
  if (state && state.devices.length > 0) {
    ctx.log.debug(`devices from the state file ${statePath(ctx.env)}: ${state.devices.join(', ')}`);
    return state.devices;
  }
  if (stateError) fail(ctx, stateError);
  fail(ctx, `No devices found: give devices (e.g. devices=/dev/sdb,/dev/sdc), or run "on" with them first (it records them in ${statePath(ctx.env)})`);
}

function progress(ctx: ActionContext) {
  return (e: { phase: string; device: string; done: number; total: number; ok: boolean }) =>
    ctx.log.debug(`${e.phase} ${e.device}: ${e.ok ? 'ok' : 'FAILED'} (${e.done}/${e.total})`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

async function actionOn(ctx: ActionContext): Promise<number> {
  const { s, log } = ctx;
  const { state, error: stateError } = loadState(ctx);
  let own: ResolvedKey;
  if (s.key !== undefined) {
    own = { node: s.target ?? state?.node ?? hostNames(ctx)[0], key: s.key, how: 'from the key parameter' };
    if (s.target) {
      const t = tryKeyOfTarget(ctx);
      if (!('error' in t) && t.key !== s.key) log.warn(`key ${formatKey(s.key)} differs from the key of ${t.node} (${formatKey(t.key)}, ${t.how}); using key`);
    }
  } else if (s.target) {
    own = keyOfTarget(ctx);
  } else {
    own = ownKey(ctx, state, stateError);
  }
  if (s.target && !hostNames(ctx).includes(s.target) && !(state?.node === s.target)) {
    log.warn(`"on" registers THIS host's paths with the key of '${s.target}' (${formatKey(own.key)}); Pacemaker runs it on the node itself (this host is '${ctx.deps.hostname()}')`);
  }
  const devices = devicesOf(ctx, state, stateError);
  log.info(`unfencing ${own.node} with key ${formatKey(own.key)} (${own.how})${s.aptpl ? ', APTPL' : ''} on ${devices.join(', ')}`);
  try {
    const file = writeState({ node: own.node, key: own.key, devices, aptpl: s.aptpl }, ctx.env);
    log.debug(`state written to ${file}`);
  } catch (e) {
    fail(ctx, errorText(e));
  }
  const report = await ctx.deps.unfence({ devices, key: own.key, aptpl: s.aptpl, timeoutMs: s.timeoutMs, onProgress: progress(ctx) });
  for (const d of report.devices) {
    const res = d.reservation === 'none' ? 'no reservation' : `reservation ${d.reservation}${d.holder !== undefined ? ` (holder ${formatKey(d.holder)})` : ''}`;
    log.debug(`${d.device} (${d.wwn}): ${d.pathsRegistered}/${d.paths} paths registered, ${res}${d.unitAttentions.length ? `, ${d.unitAttentions.length} unit attention(s) absorbed` : ''}`);
    for (const e of d.errors) log.error(`${d.device}: ${errorText(e)}`);
  }
  if (!report.ok) {
    const bad = report.devices.filter((d) => !d.ok).map((d) => d.device);
    fail(ctx, `Unfencing ${own.node} (key ${formatKey(own.key)}) failed on ${bad.length} of ${plural(report.devices.length, 'device')}: ${bad.join(', ')}`);
  }
  ctx.out(`Success: Unfenced ${own.node}: key ${formatKey(own.key)} registered on ${plural(report.devices.length, 'device')}`);
  return EXIT.OK;
}

async function actionOff(ctx: ActionContext): Promise<number> {
  const { s, log } = ctx;
  if (!s.target) fail(ctx, 'off needs the node to fence: plug (-n), port or nodename');
  const { state, error: stateError } = loadState(ctx);
  const victim = keyOfTarget(ctx);
  const own = ownKey(ctx, state, stateError);
  if (victim.key === own.key) fail(ctx, `keys cannot be same (${formatKey(own.key)}). You can not fence yourself.`);
  const devices = devicesOf(ctx, state, stateError);
  if (s.delayMs > 0) {
    log.info(`Delay ${s.delayMs / 1000} second(s) before fencing`);
    await ctx.deps.sleep(s.delayMs);
  }
  log.info(`fencing ${victim.node} (key ${formatKey(victim.key)}, ${victim.how}) as key ${formatKey(own.key)} (${own.how}) on ${devices.join(', ')}`);
  const report = await ctx.deps.fence({ devices, key: own.key, victimKey: victim.key, timeoutMs: s.timeoutMs, onProgress: progress(ctx) });
  for (const d of report.devices) {
    const gen = d.generationBefore !== undefined ? `, generation ${d.generationBefore}${d.generationAfter !== undefined ? ` -> ${d.generationAfter}` : ''}` : '';
    const res = d.reservation ? `, reservation ${formatKey(d.reservation.key)} type ${d.reservation.type}` : '';
    log.debug(`${d.device} (${d.wwn}): ${d.outcome}${d.ok ? ', verified' : ''}${gen}${res}, ${d.durationMs.toFixed(1)} ms`);
    if (d.error) log.error(`${d.device}: ${d.outcome}: ${errorText(d.error)}`);
  }
  if (report.lost) {
    const where = report.devices.filter((d) => d.outcome === 'lost').map((d) => d.device);
    fail(ctx, `this node's key ${formatKey(own.key)} is no longer registered${where.length ? ` on ${where.join(', ')}` : ''}: another node fenced this node (or it was never unfenced); ${victim.node} was NOT fenced`);
  }
  if (!report.ok) {
    fail(ctx, `${victim.node} (key ${formatKey(victim.key)}) is fenced on ${report.fenced.length} of ${plural(report.devices.length, 'device')}; not on: ${report.notFenced.join(', ')}`);
  }
  if (report.devices.every((d) => d.outcome === 'already-fenced')) {
    ctx.out(`Success: Already OFF: ${victim.node} (key ${formatKey(victim.key)}) is registered on none of ${plural(report.devices.length, 'device')}`);
  } else {
    ctx.out(`Success: Fenced ${victim.node}: key ${formatKey(victim.key)} removed from ${plural(report.devices.length, 'device')} (verified)`);
  }
  return EXIT.OK;
}

async function actionStatus(ctx: ActionContext): Promise<number> {
  const { s, log } = ctx;
  const { state, error: stateError } = loadState(ctx);
  const who = s.target ? keyOfTarget(ctx) : ownKey(ctx, state, stateError);
  const devices = devicesOf(ctx, state, stateError);
  const report = await ctx.deps.status({ devices, key: who.key, timeoutMs: s.timeoutMs, onProgress: progress(ctx) });
  for (const d of report.devices) {
    if (d.reachable) log.debug(`${d.device} (${d.wwn}): key ${formatKey(who.key)} ${d.registered ? `registered (${d.registrations} I_T nexus${d.registrations === 1 ? '' : 'es'})` : 'not registered'}; keys ${d.keys.map(formatKey).join(' ') || 'none'}`);
    else log.error(`${d.device}: unreachable: ${errorText(d.error)}`);
  }
  const registered = report.devices.filter((d) => d.reachable && d.registered);
  const unreachable = report.devices.filter((d) => !d.reachable);
  if (registered.length > 0) {
    log.info(`${who.node} (key ${formatKey(who.key)}) is registered on ${registered.length} of ${plural(report.devices.length, 'device')}`);
    ctx.out('Status: ON');
    return EXIT.OK;
  }
  if (unreachable.length > 0) {
    fail(ctx, `Unable to obtain correct plug status: ${who.node}'s key ${formatKey(who.key)} is on none of the reachable devices, and ${unreachable.map((d) => d.device).join(', ')} did not answer`);
  }
  log.info(`${who.node} (key ${formatKey(who.key)}) is registered on none of ${plural(report.devices.length, 'device')}`);
  ctx.out('Status: OFF');
  return EXIT.STATUS_OFF;
}

async function actionMonitor(ctx: ActionContext): Promise<number> {
  const { log } = ctx;
  const { state, error: stateError } = loadState(ctx);
  const own = ownKey(ctx, state, stateError);
  const devices = devicesOf(ctx, state, stateError);
  const report = await ctx.deps.status({ devices, key: own.key, timeoutMs: ctx.s.timeoutMs, onProgress: progress(ctx) });
  const problems: string[] = [];
  for (const d of report.devices) {
    if (!d.reachable) problems.push(`Unable to access ${d.device}: ${errorText(d.error)}`);
    else if (!d.registered) problems.push(`${d.device}: this node's key ${formatKey(own.key)} is not registered (fenced, or not unfenced yet)`);
    else log.debug(`${d.device} (${d.wwn}): answers; key ${formatKey(own.key)} registered on ${d.registrations} I_T nexus${d.registrations === 1 ? '' : 'es'}; reservation ${d.reservation ? `${formatKey(d.reservation.key)} type ${d.reservation.type}` : 'none'}`);
  }
  if (problems.length > 0) {
    for (const p of problems.slice(0, -1)) log.error(`Failed: ${p}`);
    fail(ctx, problems[problems.length - 1]);
  }
  log.debug(`monitor: ${plural(report.devices.length, 'device')} answer and hold key ${formatKey(own.key)} (${own.how})`);
  return EXIT.OK;
}

function actionList(ctx: ActionContext): number {
  const { log } = ctx;
  const { state } = loadState(ctx);
  const listed = new Set<string>();
  for (const n of ctx.s.resolver.knownNodes()) {
    if ('error' in n) {
      log.warn(`not listing ${n.node}: ${n.error}`);
      continue;
    }
    listed.add(n.node);
    ctx.out(`${n.node},${formatKey(n.key)}`);
  }
  if (state?.node && !listed.has(state.node)) ctx.out(`${state.node},${formatKey(state.key)}`);
  return EXIT.OK;
}

async function validateAll(ctx: ActionContext, problems: string[]): Promise<number> {
  const { s, log, deps } = ctx;
  const { state, error: stateError } = loadState(ctx);
  if (stateError) problems.push(stateError);
  const devices = s.devices ?? state?.devices;
  if (!devices || devices.length === 0) {
    problems.push(`No devices found: give devices, or run "on" with them first (state file ${statePath(ctx.env)})`);
  } else {
    problems.push(...(await deps.checkDevices(devices)));
  }
  // Every node we can name must have a key, and no two the same key.
  const byKey = new Map<bigint, string>();
  const nodes = s.resolver.knownNodes();
  for (const n of nodes) {
    if ('error' in n) {
      problems.push(n.error);
      continue;
    }
    const other = byKey.get(n.key);
    if (other !== undefined) problems.push(`nodes ${other} and ${n.node} get the same key ${formatKey(n.key)}; use the nodes map or another key_value`);
    byKey.set(n.key, n.node);
    log.debug(`node ${n.node}: key ${formatKey(n.key)} (${n.how})`);
  }
  if (s.targetNames.length > 0) {
    const t = tryKeyOfTarget(ctx);
    if ('error' in t) problems.push(t.error);
  }
  if (s.key === undefined && !state && nodes.length === 0 && s.targetNames.length === 0) {
    problems.push('no way to know any key: set nodes (node:key,...), or key_value with cluster_name / cluster_id / a corosync.conf nodelist, or key');
  }
  if (problems.length > 0) {
    for (const p of problems) log.error(`Failed: ${p}`);
    return EXIT.ERROR;
  }
  ctx.out(`Valid: ${plural(devices!.length, 'device')}, ${plural(nodes.length, 'node')} with distinct keys${state ? `, this node's key ${formatKey(state.key)} (state file)` : ''}`);
  return EXIT.OK;
}
