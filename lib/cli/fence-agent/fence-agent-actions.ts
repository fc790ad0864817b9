/**
 * The fence agent's actions — on (unfence), off (fence), status, monitor,
 * list, validate-all — on top of the library's unfence(), fence() and
 * status(): what each reports to Pacemaker (stdout, one line), logs, and
 * exits with.
 */
import { formatKey } from '../../scsi/keys';
import { statePath, writeState } from './fence-agent-state';
import type { ResolvedKey } from './fence-agent-keys';
import { EXIT, devicesOf, errorText, fail, hostNames, keyOfTarget, loadState, ownKey, tryKeyOfTarget, type ActionContext } from './fence-agent-context';

/** Progress events of the library calls, as debug lines. */
function progress(ctx: ActionContext) {
  return (e: { phase: string; device: string; done: number; total: number; ok: boolean }) =>
    ctx.log.debug(`${e.phase} ${e.device}: ${e.ok ? 'ok' : 'FAILED'} (${e.done}/${e.total})`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `on`: unfence — register this node's key (or the target's) on every device, record it in the state file. */
export async function actionOn(ctx: ActionContext): Promise<number> {
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

/** `off`: fence the target — preempt its key on every device as this node, verified. */
export async function actionOff(ctx: ActionContext): Promise<number> {
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
  const report = await ctx.deps.fence({ devices, key: own.key, victimKey: victim.key, timeoutMs: s.timeoutMs, onProgress: progress(ctx), ...(s.requireAbort ? { requireAbort: true } : {}) });
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
  if (report.withoutAbort.length > 0) {
    log.warn(`the target refused PREEMPT AND ABORT on ${plural(report.withoutAbort.length, 'device')}, fenced with PREEMPT: ${victim.node}'s commands already queued there were not aborted: ${report.withoutAbort.join(', ')} (require_abort=1 refuses this)`);
  }
  if (report.devices.every((d) => d.outcome === 'already-fenced')) {
    ctx.out(`Success: Already OFF: ${victim.node} (key ${formatKey(victim.key)}) is registered on none of ${plural(report.devices.length, 'device')}`);
  } else {
    ctx.out(`Success: Fenced ${victim.node}: key ${formatKey(victim.key)} removed from ${plural(report.devices.length, 'device')} (verified)`);
  }
  return EXIT.OK;
}

/** `status`: ON when the key (the target's, else this node's) is registered on a device, OFF (exit 2) when on none. */
export async function actionStatus(ctx: ActionContext): Promise<number> {
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

/** `monitor`: every device answers and holds this node's key. */
export async function actionMonitor(ctx: ActionContext): Promise<number> {
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

/** `list`: every node with a known key, as `node,key` lines. */
export function actionList(ctx: ActionContext): number {
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

/** `validate-all`: every parameter problem, device problem (found without I/O) and key clash, reported at once. */
export async function validateAll(ctx: ActionContext, problems: string[]): Promise<number> {
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
