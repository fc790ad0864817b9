/**
 * fence_scsi_pr's state: this node's key and the devices it registered on,
 * written by `on` and read by `off`, `status`, `monitor` and `list` when the
 * parameters are omitted (fence_scsi keeps the same two facts in
 * /var/run/cluster/fence_scsi.key and fence_scsi.dev).
 *
 * One file: `$SCSI_PR_STATE_DIR/fence_scsi_pr.state`, default directory
 * `/var/lib/scsi-pr` (kept across reboots; `on` rewrites it at every
 * unfencing). JSON:
 *
 * ```json
 * { "version": 1, "node": "node1", "key": "0x6c9d1645",
 *   "devices": ["/dev/sdb", "/dev/sdc"], "aptpl": false,
 *   "updated": "2026-01-02T03:04:05.678Z" }
 * ```
 *
 * Written atomically (temporary file in the same directory, fsync, rename),
 * mode 0644 in a 0755 directory.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { formatKey, parseKey } from '../../scsi/keys';

/** Default state directory. */
export const DEFAULT_STATE_DIR = '/var/lib/scsi-pr';
/** State file name inside the directory. */
export const STATE_FILE_NAME = 'fence_scsi_pr.state';

/** The state as the agent uses it. */
export interface AgentState {
  /** The node name `on` ran for (plug/nodename, or this host's name). */
  node?: string;
  key: bigint;
  devices: string[];
  aptpl: boolean;
  /** ISO time of the last write. */
  updated?: string;
}

/** The state directory: `SCSI_PR_STATE_DIR` or /var/lib/scsi-pr. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const d = env.SCSI_PR_STATE_DIR;
  return d && d.length > 0 ? d : DEFAULT_STATE_DIR;
}

/** Full path of the state file. */
export function statePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), STATE_FILE_NAME);
}

/** A state file that exists but cannot be used. */
export class StateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateFileError';
  }
}

/** Parse state file text. Throws StateFileError naming `file` and the problem. */
export function parseState(text: string, file: string): AgentState {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new StateFileError(`state file ${file} is not valid JSON (${(e as Error).message}); remove it and run "on" again`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new StateFileError(`state file ${file} does not hold a JSON object`);
  const o = j as Record<string, unknown>;
  if (o.version !== 1) throw new StateFileError(`state file ${file} has version ${JSON.stringify(o.version)}; this agent reads version 1`);
  let key: bigint;
  try {
    if (typeof o.key !== 'string') throw new Error('missing');
    key = parseKey(o.key);
  } catch {
    throw new StateFileError(`state file ${file} has no valid "key" (hex string)`);
  }
  if (key === 0n) throw new StateFileError(`state file ${file} has key 0`);
  if (!Array.isArray(o.devices) || !o.devices.every((d) => typeof d === 'string' && d.length > 0)) {
    throw new StateFileError(`state file ${file} has no valid "devices" (array of paths)`);
  }
  if (o.node !== undefined && typeof o.node !== 'string') throw new StateFileError(`state file ${file}: "node" must be a string`);
  return {
    ...(typeof o.node === 'string' ? { node: o.node } : {}),
    key,
    devices: o.devices as string[],
    aptpl: o.aptpl === true,
    ...(typeof o.updated === 'string' ? { updated: o.updated } : {}),
  };
}

/** The JSON text written for `state`. */
export function serialiseState(state: AgentState, now = new Date()): string {
  const out = {
    version: 1,
    ...(state.node !== undefined ? { node: state.node } : {}),
    key: formatKey(state.key),
    devices: state.devices,
    aptpl: state.aptpl,
    updated: now.toISOString(),
  };
  return JSON.stringify(out, null, 2) + '\n';
}

/** Read the state file; `null` when there is none. Throws StateFileError when it is unreadable or invalid. */
export function readState(env: NodeJS.ProcessEnv = process.env): AgentState | null {
  const file = statePath(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StateFileError(`cannot read state file ${file}: ${(e as Error).message}`);
  }
  return parseState(text, file);
}

/** Write the state file atomically. Throws StateFileError when it cannot. */
export function writeState(state: AgentState, env: NodeJS.ProcessEnv = process.env): string {
  const dir = stateDir(env);
  const file = statePath(env);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, serialiseState(state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* not created */
    }
    throw new StateFileError(`cannot write state file ${file}: ${(e as Error).message}`);
  }
  return file;
}
