/**
 * The fence agent's parameters, parsed and checked into the {@link Settings}
 * one action needs. Every problem is collected (validate-all reports them
 * all) instead of stopping at the first.
 */
import { findParameter, numberValue, splitDevices, type AgentAction, type ParsedInput } from './fence-agent-options';
import { KeyResolver, parseClusterId, parseKeyMode, parseKeyParam, parseNodeMap } from './fence-agent-keys';
import type { AgentDeps } from './fence-agent-deps';
import { errorText } from './fence-agent-context';

/** The parsed, checked settings one action needs. Built by {@link settingsFrom}. */
export interface Settings {
  action: AgentAction;
  target?: string;
  /** Names to look the target up by: nodename first, then plug. */
  targetNames: string[];
  nodeid?: number;
  key?: bigint;
  devices?: string[];
  aptpl: boolean;
  /** off: no PREEMPT fallback where PREEMPT AND ABORT is refused. */
  requireAbort: boolean;
  timeoutMs: number;
  delayMs: number;
  resolver: KeyResolver;
}

/**
 * Parse every parameter, collecting problems instead of stopping at the first
 * (validate-all reports them all).
 */
export function settingsFrom(input: ParsedInput, action: AgentAction, deps: AgentDeps, problems: string[]): Settings {
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
    requireAbort: v.get('require_abort') === '1',
    timeoutMs: Math.round((timeoutS && timeoutS > 0 ? timeoutS : 30) * 1000),
    delayMs: Math.round((delayS ?? 0) * 1000),
    resolver,
  };
}
