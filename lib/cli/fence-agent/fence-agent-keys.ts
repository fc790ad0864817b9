/**
 * Which reservation key belongs to which node, for fence_scsi_pr.
 *
 * In order:
 * 1. `nodes` — an explicit map, `node1:0x1a01,node2:0x1a02`.
 * 2. derivation by `key_value` (default `hash`), with the library's key helpers:
 *    - `hash`: fence_scsi's hash keys — md5 of the cluster name and of the node
 *      name (`fenceScsiKey({ mode: 'hash' })`); stable when nodes come and go.
 *    - `id`: fence_scsi's default — cluster name and the node's position in the
 *      corosync nodelist (`fenceScsiKey({ mode: 'id' })`).
 *    - `cluster-id`: scsi-pr's layout `0x7370 CCCC NNNNNNNN` from `cluster_id`
 *      and the corosync node id (`clusterNodeKey`); the node id is the `nodeid`
 *      Pacemaker passes for the target, or the nodelist's `nodeid`.
 *    The cluster name is `cluster_name`, else `totem.cluster_name` of
 *    `corosync_conf`; a name must be in that nodelist when the file exists, so a
 *    misspelt node is an error rather than a key nobody holds.
 */
import { parseKey, formatKey } from '../../scsi/keys';
import { clusterNodeKey, fenceScsiKey } from '../../fencing/fence-keys';
import { AgentInputError } from './fence-agent-options';
import { findCorosyncNode, type CorosyncConfig } from './fence-agent-corosync';

/** Key derivation modes (`key_value`). */
export const KEY_MODES = ['hash', 'id', 'cluster-id'] as const;
export type KeyMode = (typeof KEY_MODES)[number];

/** Parse `key_value`. */
export function parseKeyMode(value: string | undefined): KeyMode {
  const v = (value ?? 'hash').trim().toLowerCase().replace(/_/g, '-');
  if ((KEY_MODES as readonly string[]).includes(v)) return v as KeyMode;
  throw new AgentInputError(`key_value has to be 'hash', 'id' or 'cluster-id'; got '${value}'`);
}

/** Parse a `key` value (this node's key). */
export function parseKeyParam(value: string, name = 'key'): bigint {
  let k: bigint;
  try {
    k = parseKey(value.trim(), name);
  } catch (e) {
    throw new AgentInputError((e as Error).message);
  }
  if (k === 0n) throw new AgentInputError(`${name} cannot be 0`);
  return k;
}

/**
 * Parse `nodes`: `name:key` pairs separated by commas, semicolons or
 * whitespace; `name=key` also accepted. Duplicate names and duplicate keys are
 * errors (two nodes sharing a key cannot be told apart).
 */
export function parseNodeMap(value: string): Map<string, bigint> {
  const map = new Map<string, bigint>();
  const owner = new Map<bigint, string>();
  for (const item of value.split(/[\s,;]+/).filter((s) => s.length > 0)) {
    const sep = Math.max(item.lastIndexOf(':'), item.lastIndexOf('='));
    if (sep <= 0 || sep === item.length - 1) throw new AgentInputError(`nodes: '${item}' is not node:key (e.g. node1:0x1a01)`);
    const name = item.slice(0, sep);
    const key = parseKeyParam(item.slice(sep + 1), `nodes: key of ${name}`);
    if (map.has(name)) throw new AgentInputError(`nodes: node '${name}' appears twice`);
    const other = owner.get(key);
    if (other !== undefined) throw new AgentInputError(`nodes: '${other}' and '${name}' have the same key ${formatKey(key)}`);
    map.set(name, key);
    owner.set(key, name);
  }
  if (map.size === 0) throw new AgentInputError('nodes is empty; expected node:key pairs such as node1:0x1a01,node2:0x1a02');
  return map;
}

/** Parse `cluster_id`: 0–65535, decimal or 0x-prefixed hex. */
export function parseClusterId(value: string): number {
  const v = value.trim();
  const n = /^0x[0-9a-f]{1,4}$/i.test(v) ? parseInt(v.slice(2), 16) : /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new AgentInputError(`cluster_id '${value}' is not an integer 0-65535 (decimal or 0x hex)`);
  return n;
}

/** How keys are found. */
export interface KeySettings {
  nodes?: Map<string, bigint>;
  mode: KeyMode;
  clusterName?: string;
  clusterId?: number;
  corosyncConfPath: string;
}

/** A node's key and how it was found (for logs). */
export interface ResolvedKey {
  node: string;
  key: bigint;
  how: string;
}

/** A node whose key cannot be found or derived. */
export class KeyResolutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyResolutionError';
  }
}

/** Resolves node names to keys. corosync.conf is read lazily, at most once. */
export class KeyResolver {
  private conf: CorosyncConfig | null | undefined;

  constructor(
    readonly settings: KeySettings,
    private readonly loadCorosync: (path: string) => CorosyncConfig | null,
  ) {}

  /** corosync.conf, or null when absent. Throws when present but unreadable. */
  corosync(): CorosyncConfig | null {
    if (this.conf === undefined) this.conf = this.loadCorosync(this.settings.corosyncConfPath);
    return this.conf;
  }

  private clusterName(): string {
    if (this.settings.clusterName) return this.settings.clusterName;
    const conf = this.corosync();
    if (conf?.clusterName) return conf.clusterName;
    throw new KeyResolutionError(
      `key_value=${this.settings.mode} needs the cluster name: set cluster_name, or have totem.cluster_name in ${this.settings.corosyncConfPath}` +
        (conf ? '' : ' (which does not exist)') +
        ', or name every node in "nodes"',
    );
  }

  /** The key of `name`. `nodeid` is the corosync node id Pacemaker passed for this node, if any. */
  keyOf(name: string, nodeid?: number): ResolvedKey {
    const mapped = this.settings.nodes?.get(name);
    if (mapped !== undefined) return { node: name, key: mapped, how: 'from the nodes map' };
    const mode = this.settings.mode;
    if (this.settings.nodes && !this.settings.clusterName && this.settings.clusterId === undefined && !this.corosync()) {
      throw new KeyResolutionError(`node '${name}' is not in the nodes map (${[...this.settings.nodes.keys()].join(', ')})`);
    }
    const conf = this.corosync();
    const entry = conf && conf.nodes.length > 0 ? findCorosyncNode(conf, name) : undefined;
    if (conf && conf.nodes.length > 0 && !entry) {
      throw new KeyResolutionError(`node '${name}' is not in the nodes map nor in the corosync nodelist of ${conf.file} (${conf.nodes.map((n) => n.name ?? n.addrs[0]).join(', ')})`);
    }
    try {
      switch (mode) {
        case 'hash': {
          const cluster = this.clusterName();
          return { node: name, key: fenceScsiKey({ mode: 'hash', clusterName: cluster, nodeName: name }), how: `derived (key_value=hash, cluster '${cluster}')` };
        }
        case 'id': {
          const cluster = this.clusterName();
          if (!entry) throw new KeyResolutionError(`key_value=id needs node '${name}' in the corosync nodelist of ${this.settings.corosyncConfPath}${conf ? '' : ' (which does not exist)'}`);
          return { node: name, key: fenceScsiKey({ mode: 'id', clusterName: cluster, nodeIndex: entry.index }), how: `derived (key_value=id, cluster '${cluster}', nodelist position ${entry.index})` };
        }
        case 'cluster-id': {
          if (this.settings.clusterId === undefined) throw new KeyResolutionError('key_value=cluster-id needs cluster_id');
          const id = nodeid ?? entry?.nodeid;
          if (id === undefined) throw new KeyResolutionError(`key_value=cluster-id needs the corosync node id of '${name}': Pacemaker passes nodeid, or list the node with a nodeid in ${this.settings.corosyncConfPath}`);
          return { node: name, key: clusterNodeKey({ clusterId: this.settings.clusterId, nodeId: id }), how: `derived (key_value=cluster-id, cluster_id ${this.settings.clusterId}, nodeid ${id})` };
        }
      }
    } catch (e) {
      if (e instanceof KeyResolutionError) throw e;
      throw new KeyResolutionError(`cannot derive the key of node '${name}': ${(e as Error).message}`);
    }
  }

  /** Every node with a name this resolver knows (nodes map, then corosync nodelist), with its key when derivable. */
  knownNodes(): Array<ResolvedKey | { node: string; error: string }> {
    const names: string[] = [...(this.settings.nodes?.keys() ?? [])];
    let conf: CorosyncConfig | null = null;
    try {
      conf = this.corosync();
    } catch {
      conf = null;
    }
    for (const n of conf?.nodes ?? []) {
      const name = n.name ?? n.addrs[0];
      if (name && !names.includes(name)) names.push(name);
    }
    return names.map((name) => {
      try {
        return this.keyOf(name);
      } catch (e) {
        return { node: name, error: (e as Error).message };
      }
    });
  }
}
