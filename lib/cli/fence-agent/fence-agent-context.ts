/**
 * What every fence agent action shares: its context, exit codes, how it
 * fails, and how it finds the keys (the target's, this node's) and the
 * devices it works on — from the parameters, the state file that "on" wrote,
 * or this host's name.
 */
import type { AgentLog } from './fence-agent-log';
import { readState, statePath, type AgentState } from './fence-agent-state';
import type { ResolvedKey } from './fence-agent-keys';
import type { AgentDeps } from './fence-agent-deps';
import type { Settings } from './fence-agent-settings';

/**
 * Exit codes (fence-agents): 0 success; 1 failure (bad input, a device
 * problem, fencing not verified, we were fenced ourselves); 2 `status`: the
 * node is "off" (its key is registered on no device).
 */
export const EXIT = { OK: 0, ERROR: 1, STATUS_OFF: 2 } as const;

/** A failure already logged by {@link fail}: the run ends with {@link EXIT}.ERROR and logs nothing more. */
export class Failure extends Error {}

/** An error's message (or anything thrown, as a string). */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What an action gets: its settings, the outside world, the log, and the stdout line writer. */
export interface ActionContext {
  s: Settings;
  deps: AgentDeps;
  log: AgentLog;
  out: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Log `Failed: message` and end the action with a {@link Failure}. */
export function fail(ctx: ActionContext, message: string): never {
  ctx.log.error(`Failed: ${message}`);
  throw new Failure(message);
}

/** The state file, or null; a broken state file is a failure only when we need it. */
export function loadState(ctx: ActionContext): { state: AgentState | null; error?: string } {
  try {
    return { state: readState(ctx.env) };
  } catch (e) {
    return { state: null, error: errorText(e) };
  }
}

/** The target's key, or the reason there is none. */
export function tryKeyOfTarget(ctx: ActionContext): ResolvedKey | { error: string } {
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

/** The target's key; fails the action when there is none. */
export function keyOfTarget(ctx: ActionContext): ResolvedKey {
  const r = tryKeyOfTarget(ctx);
  if ('error' in r) fail(ctx, r.error);
  return r;
}

/** This host's node name candidates: the full host name, then its first label. */
export function hostNames(ctx: ActionContext): string[] {
  const h = ctx.deps.hostname();
  const short = h.split('.')[0];
  return [...new Set([h, short].filter((x) => x.length > 0))];
}

/**
 * This node's key: `key` parameter, else the state file (what `on` registered),
 * else derived from this host's name. `on` with a target uses the target's key
 * before the state file (Pacemaker runs `on` on the target itself).
 */
export function ownKey(ctx: ActionContext, state: AgentState | null, stateError: string | undefined): ResolvedKey {
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

/**
 * The devices to work on: the `devices` parameter, else those in the state
 * file (what `on` registered); fails the action when there are none.
 */
export function devicesOf(ctx: ActionContext, state: AgentState | null, stateError: string | undefined): string[] {
  if (ctx.s.devices && ctx.s.devices.length > 0) return ctx.s.devices;
  if (ctx.s.devices) fail(ctx, 'devices is empty');
  if (state && state.devices.length > 0) {
    ctx.log.debug(`devices from the state file ${statePath(ctx.env)}: ${state.devices.join(', ')}`);
    return state.devices;
  }
  if (stateError) fail(ctx, stateError);
  fail(ctx, `No devices found: give devices (e.g. devices=/dev/sdb,/dev/sdc), or run "on" with them first (it records them in ${statePath(ctx.env)})`);
}
