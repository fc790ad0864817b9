/**
 * The two facts fence_scsi asks `corosync-cmapctl` for — the cluster name
 * (`totem.cluster_name`) and the nodelist (`nodelist.node.N.name`,
 * `.nodeid`, `.ringX_addr`) — read from corosync.conf instead, as a file: no
 * child process. corosync loads `nodelist { node { … } }` blocks in file order
 * into `nodelist.node.0`, `.1`, …, so a node's position N here is the index
 * fence_scsi's `id` key mode uses.
 *
 * Syntax handled: `section {` … `}` (nested), `key: value` (also `key = value`),
 * comment lines starting with `#`, values optionally quoted.
 */
import { readFileSync } from 'node:fs';

/** One `nodelist { node { … } }` entry. */
export interface CorosyncNode {
  /** Position in the nodelist (0-based): `nodelist.node.<index>`. */
  index: number;
  name?: string;
  nodeid?: number;
  /** `ring0_addr`, `ring1_addr`, … in order. */
  addrs: string[];
}

/** What fence_scsi_pr uses from corosync.conf. */
export interface CorosyncConfig {
  file: string;
  clusterName?: string;
  nodes: CorosyncNode[];
}

/** A corosync.conf that cannot be parsed. */
export class CorosyncConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorosyncConfigError';
  }
}

/** Parse corosync.conf text. Throws CorosyncConfigError on unbalanced braces. */
export function parseCorosyncConf(text: string, file = 'corosync.conf'): CorosyncConfig {
  const path: string[] = [];
  const out: CorosyncConfig = { file, nodes: [] };
  let node: CorosyncNode | undefined;
  let lineNo = 0;
  for (const raw of text.split(/\r?\n/)) {
    lineNo++;
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // A line may hold "name {" or "}" with a key/value before it on rare hand-edited files; handle the usual forms.
    while (line.length > 0) {
      const open = /^([A-Za-z0-9_.-]+)\s*\{\s*/.exec(line);
      if (open) {
        path.push(open[1]);
        if (path.length === 2 && path[0] === 'nodelist' && path[1] === 'node') {
          node = { index: out.nodes.length, addrs: [] };
          out.nodes.push(node);
        }
        line = line.slice(open[0].length);
        continue;
      }
      if (line.startsWith('}')) {
        if (path.length === 0) throw new CorosyncConfigError(`${file}:${lineNo}: unexpected "}"`);
        if (path.length === 2 && path[0] === 'nodelist' && path[1] === 'node') node = undefined;
        path.pop();
        line = line.slice(1).trim();
        continue;
      }
      const kv = /^([A-Za-z0-9_.-]+)\s*[:=]\s*(.*?)\s*$/.exec(line);
      if (!kv) throw new CorosyncConfigError(`${file}:${lineNo}: cannot parse ${JSON.stringify(line)}`);
      let value = kv[2];
      let rest = '';
      const close = value.startsWith('"') ? value.indexOf('"', 1) : -1;
      if (close > 0) {
        rest = value.slice(close + 1).trim();
        value = value.slice(1, close);
      } else {
        const brace = value.indexOf('}');
        if (brace >= 0) {
          rest = value.slice(brace);
          value = value.slice(0, brace).trim();
        }
      }
      const key = kv[1];
      if (path.length === 1 && path[0] === 'totem' && key === 'cluster_name') out.clusterName = value;
      if (node && path.length === 2) {
        if (key === 'name') node.name = value;
        else if (key === 'nodeid' && /^\d+$/.test(value)) node.nodeid = Number(value);
        else if (/^ring\d+_addr$/.test(key)) node.addrs[Number(key.slice(4, -5))] = value;
      }
      line = rest;
    }
  }
  if (path.length !== 0) throw new CorosyncConfigError(`${file}: unclosed section ${path.join('.')}`);
  for (const n of out.nodes) n.addrs = n.addrs.filter((a) => a !== undefined);
  return out;
}

/** Read and parse corosync.conf; `null` when the file does not exist. */
export function readCorosyncConf(file: string): CorosyncConfig | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CorosyncConfigError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return parseCorosyncConf(text, file);
}

/**
 * The nodelist entry for `name`, matched the way fence_scsi does: by `name`
 * first, then by any `ringX_addr`.
 */
export function findCorosyncNode(conf: CorosyncConfig, name: string): CorosyncNode | undefined {
  return conf.nodes.find((n) => n.name === name) ?? conf.nodes.find((n) => n.addrs.includes(name));
}
