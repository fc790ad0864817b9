/**
 * Reservation keys for fencing: which 64-bit key a cluster node registers.
 *
 * Three families, all returning a `bigint` that {@link parseKey} accepts:
 *
 * - {@link clusterNodeKey} — scsi-pr's own layout (magic, cluster id, node id),
 *   reversible with {@link parseClusterNodeKey}.
 * - {@link ipv4Key} / {@link localIpv4Key} — the node's IPv4 address, the key of
 *   the original design (`gethostip -x`).
 * - {@link fenceScsiKey} / {@link fenceScsiKeyString} — bit-for-bit the keys
 *   ClusterLabs fence_scsi generates, so scsi-pr can fence (and be fenced by)
 *   nodes that run fence_scsi, plus {@link cmapClusterName} /
 *   {@link cmapNodeIndex} to read fence_scsi's inputs from `corosync-cmapctl`.
 *
 * Key 0 is never returned: in PR OUT it means "no key" (REGISTER with service
 * action key 0 unregisters).
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { ScsiPrError } from '../errors';
import { ArgumentRangeError, ArgumentTypeError, describeValue } from '../invalid-argument';
import { parseKey, type KeyInput } from '../scsi/keys';
import { md5Hex } from './md5';

// ---------------------------------------------------------------------------
// scsi-pr's cluster/node layout
// ---------------------------------------------------------------------------

/** Bits 63..48 of a {@link clusterNodeKey}: ASCII `'sp'` (0x73 0x70). */
export const CLUSTER_NODE_KEY_MAGIC = 0x7370;

/** The fields of a {@link clusterNodeKey}. */
export interface ClusterNodeKeyFields {
  /** Cluster identifier, an integer 0–65535 (bits 47..32). */
  clusterId: number;
  /** Node identifier, an integer 1–4294967295 (bits 31..0), e.g. corosync's `nodeid`. */
  nodeId: number;
}

/**
 * scsi-pr's documented key layout for a node of a cluster:
 *
 * ```
 *  bits 63..48  0x7370  ASCII "sp" (magic: marks the key as scsi-pr's)
 *  bits 47..32  clusterId   0 … 0xffff
 *  bits 31..0   nodeId      1 … 0xffffffff  (0 is refused)
 * ```
 *
 * Bytes on the wire (big-endian): `73 70 CC CC NN NN NN NN`. The magic makes
 * the key non-zero and distinct from fence_scsi's 32-bit keys and from IPv4
 * keys (both have the upper 32 bits clear), so keys of the three schemes never
 * collide on a shared LU.
 *
 * @example
 * clusterNodeKey({ clusterId: 1, nodeId: 2 })      // 0x7370000100000002n
 * clusterNodeKey({ clusterId: 0xbeef, nodeId: 7 }) // 0x7370beef00000007n
 * @throws ArgumentTypeError (`ERR_INVALID_OPTION`) when the argument is not an object or a field is not a number.
 * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) when a field is not an integer in its range.
 */
export function clusterNodeKey(fields: ClusterNodeKeyFields): bigint {
  if (typeof fields !== 'object' || fields === null) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `clusterNodeKey expects an object { clusterId, nodeId }; received ${describeValue(fields)}`);
  }
  const clusterId = integerIn(fields.clusterId, 'clusterId', 0, 0xffff);
  const nodeId = integerIn(fields.nodeId, 'nodeId', 1, 0xffff_ffff);
  return (BigInt(CLUSTER_NODE_KEY_MAGIC) << 48n) | (BigInt(clusterId) << 32n) | BigInt(nodeId);
}

/**
 * Decodes a key made by {@link clusterNodeKey}.
 *
 * @param key Any {@link KeyInput} (e.g. a key from `readKeys()`).
 * @returns `{ clusterId, nodeId }`, or `null` when the key is not in scsi-pr's
 *   layout (wrong magic, or node id 0).
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_KEY`) when `key` is not a valid key at all.
 * @example parseClusterNodeKey(0x7370000100000002n) // { clusterId: 1, nodeId: 2 }
 */
export function parseClusterNodeKey(key: KeyInput): ClusterNodeKeyFields | null {
  const k = parseKey(key);
  if (k >> 48n !== BigInt(CLUSTER_NODE_KEY_MAGIC)) return null;
  const nodeId = Number(k & 0xffff_ffffn);
  if (nodeId === 0) return null;
  return { clusterId: Number((k >> 32n) & 0xffffn), nodeId };
}

// ---------------------------------------------------------------------------
// IPv4 keys (the original design)
// ---------------------------------------------------------------------------

/**
 * The node's IPv4 address as a key: the 32-bit address in the low 32 bits,
 * i.e. the 8 hex digits `gethostip -x` prints (`10.0.0.1` → `0A000001` →
 * `0x0a000001n`).
 *
 * Parsing is strict dotted-quad: exactly four decimal parts 0–255, no leading
 * zeros (inet_aton would read `010` as octal 8), no whitespace, no IPv6 (an IPv6
 * address has no 32-bit form; use {@link clusterNodeKey}). `0.0.0.0` is refused
 * because key 0 means "no key".
 *
 * @example ipv4Key('10.0.0.1')      // 0x0a000001n
 * @example ipv4Key('192.168.122.11') // 0xc0a87a0bn
 * @throws ArgumentTypeError (`ERR_INVALID_OPTION`) when `address` is not a string.
 * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) when it is not a dotted-quad IPv4 address;
 *   (`ERR_INVALID_KEY`) for `0.0.0.0`.
 */
export function ipv4Key(address: string): bigint {
  if (typeof address !== 'string') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `IPv4 address must be a string; received ${describeValue(address)}`);
  }
  const shown = JSON.stringify(address.length > 60 ? address.slice(0, 60) + '…' : address);
  if (address.includes(':')) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${shown} looks like an IPv6 address; an IPv4 key needs a dotted-quad IPv4 address (use clusterNodeKey on IPv6-only hosts)`);
  }
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (!m) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${shown} is not a dotted-quad IPv4 address such as "10.0.0.1"`);
  }
  let value = 0n;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    if (part.length > 1 && part.startsWith('0')) {
      throw new ArgumentRangeError('ERR_INVALID_OPTION', `${shown}: part ${JSON.stringify(part)} has a leading zero (ambiguous: inet_aton reads it as octal)`);
    }
    const n = Number(part);
    if (n > 255) {
      throw new ArgumentRangeError('ERR_INVALID_OPTION', `${shown}: part ${part} is greater than 255`);
    }
    value = (value << 8n) | BigInt(n);
  }
  if (value === 0n) {
    throw new ArgumentRangeError('ERR_INVALID_KEY', `${shown} gives key 0, which means "no key"`);
  }
  return value;
}

/** Options of {@link localIpv4Key}. */
export interface LocalIpv4KeyOptions {
  /** Use this interface's first IPv4 address (an internal one such as `lo` is allowed when named). */
  interface?: string;
  /** The interface table to search instead of `os.networkInterfaces()` (for tests, or a snapshot taken earlier). */
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/**
 * {@link ipv4Key} of this host: the first non-internal IPv4 address in
 * `os.networkInterfaces()` order (the kernel's interface order), or the first
 * IPv4 address of `options.interface`.
 *
 * Unlike `gethostip -x $(hostname)`, this does not resolve the host name (which
 * on Debian often maps to 127.0.1.1 in /etc/hosts); name the cluster
 * interface explicitly when the host has several.
 *
 * @throws ArgumentTypeError (`ERR_INVALID_OPTION`) for a non-string `interface`.
 * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) when the named interface does not exist or has no IPv4 address.
 * @throws ScsiPrError (`ERR_NO_IPV4_ADDRESS`) when no interface has a non-internal IPv4 address.
 */
export function localIpv4Key(options: LocalIpv4KeyOptions = {}): bigint {
  if (typeof options !== 'object' || options === null) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `localIpv4Key options must be an object; received ${describeValue(options)}`);
  }
  const table = options.interfaces ?? networkInterfaces();
  const isV4 = (a: NetworkInterfaceInfo): boolean => a.family === 'IPv4' || (a.family as unknown) === 4; // Node 18.0–18.3 used 4
  if (options.interface !== undefined) {
    if (typeof options.interface !== 'string' || options.interface === '') {
      throw new ArgumentTypeError('ERR_INVALID_OPTION', `interface must be a non-empty string; received ${describeValue(options.interface)}`);
    }
    const addrs = table[options.interface];
    if (!addrs) {
      const known = Object.keys(table).join(', ') || 'none';
      throw new ArgumentRangeError('ERR_INVALID_OPTION', `network interface ${JSON.stringify(options.interface)} does not exist (interfaces: ${known})`);
    }
    const a = addrs.find(isV4);
    if (!a) throw new ArgumentRangeError('ERR_INVALID_OPTION', `network interface ${JSON.stringify(options.interface)} has no IPv4 address`);
    return ipv4Key(a.address);
  }
  for (const [, addrs] of Object.entries(table)) {
    const a = addrs?.find((x) => isV4(x) && !x.internal);
    if (a) return ipv4Key(a.address);
  }
  throw new ScsiPrError('ERR_NO_IPV4_ADDRESS', 'this host has no non-internal IPv4 address; pass { interface } or use clusterNodeKey');
}

// ---------------------------------------------------------------------------
// fence_scsi-compatible keys
// ---------------------------------------------------------------------------

/**
 * Inputs of fence_scsi's key generation (`--key-value=id|hash`), plus the
 * RHEL 6 (cman) agent's scheme.
 *
 * - `id` (fence_scsi's default): `clusterName` is corosync's
 *   `totem.cluster_name`; `nodeIndex` is the node's **position** N in
 *   corosync's nodelist (`nodelist.node.N.name`, 0-based) — not its `nodeid`.
 *   Read both from corosync-cmapctl output with {@link cmapClusterName} and
 *   {@link cmapNodeIndex}.
 * - `hash`: `clusterName` as above and `nodeName`, the node's name as
 *   pacemaker passes it to the agent (`--plug` / `--nodename`).
 * - `cman`: the RHEL 6 perl agent: cman's numeric `clusterId` (`cman_tool
 *   status`, 16 bit) and cman `nodeId` (`cman_tool nodes -F id`).
 */
export type FenceScsiKeyOptions =
  | { mode: 'id'; clusterName: string; nodeIndex: number }
  | { mode: 'hash'; clusterName: string; nodeName: string }
  | { mode: 'cman'; clusterId: number; nodeId: number };

/**
 * fence_scsi's textual key — exactly the string the agent passes to
 * `sg_persist -K/-S`, writes to `/var/run/cluster/fence_scsi.key` and compares
 * with the keys sg_persist lists: lowercase hex, no `0x`, **leading zeros
 * stripped**.
 *
 * Derivation (fence-agents `agents/scsi/fence_scsi.py`, `generate_key()` and
 * `main()`):
 *
 * - cluster part: `md5(clusterName as ASCII)` as 32 lowercase hex digits
 *   (`get_cluster_id`), of which `"%.4s"` keeps the first 4 digits;
 * - `id` mode: `"%.4s%.4d" % (clusterHash, nodeIndex)` — the node index in
 *   **decimal**, zero-padded to at least 4 digits (never truncated), which
 *   sg_persist then reads as **hex**: index 12 gives `…0012` = 0x12, not 0xc;
 * - `hash` mode: `"%.4s%.4s" % (clusterHash, md5(nodeName))` — first 4 hex
 *   digits of each md5;
 * - finally `key.lstrip('0')`: sg_persist prints keys as `0x%<PRIx64>` without
 *   leading zeros and fence_scsi compares keys as strings, so it strips them.
 * - `cman` mode (RHEL 6 fence_scsi.pl): `sprintf("%.4x%.4x", clusterId,
 *   nodeId)` with leading zeros stripped likewise.
 *
 * Worked examples (md5("mycluster") = 6c9d58de…, md5("node1") = 164546f6…,
 * md5("node2") = 78882aae…, md5("cluster28") = 0085710d…):
 *
 * | inputs                                   | string      | key        |
 * |------------------------------------------|-------------|------------|
 * | id, "mycluster", nodeIndex 0             | `6c9d0000`  | 0x6c9d0000 |
 * | id, "mycluster", nodeIndex 12            | `6c9d0012`  | 0x6c9d0012 |
 * | id, "mycluster", nodeIndex 12345         | `6c9d12345` | 0x6c9d12345 |
 * | hash, "mycluster", "node1"               | `6c9d1645`  | 0x6c9d1645 |
 * | hash, "mycluster", "node2"               | `6c9d7888`  | 0x6c9d7888 |
 * | id, "cluster28", nodeIndex 1             | `850001`    | 0x00850001 |
 * | cman, clusterId 0x1234, nodeId 2         | `12340002`  | 0x12340002 |
 *
 * fence_scsi compares these strings, so `"00850001"` ≠ `"850001"` to it;
 * scsi-pr compares keys numerically, so leading zeros never matter here.
 *
 * MD5 is computed with node:crypto and, where the OpenSSL build refuses MD5
 * (FIPS mode), with a built-in implementation — MD5 is only a name hash here,
 * as in fence_scsi (which passes `usedforsecurity=False` for the same reason).
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_OPTION`) for a
 *   missing or invalid input (non-ASCII or whitespace-containing names, which
 *   fence_scsi cannot handle; a negative or non-integer index; …).
 * @throws ArgumentRangeError (`ERR_INVALID_KEY`) when the inputs give key 0
 *   (fence_scsi refuses it too; e.g. a cluster hash beginning `0000` with node index 0).
 */
export function fenceScsiKeyString(options: FenceScsiKeyOptions): string {
  if (typeof options !== 'object' || options === null) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `fence_scsi key options must be an object; received ${describeValue(options)}`);
  }
  const o = options as Partial<Record<'mode' | 'clusterName' | 'nodeIndex' | 'nodeName' | 'clusterId' | 'nodeId', unknown>>;
  let text: string;
  switch (o.mode) {
    case 'id': {
      if (o.nodeIndex === undefined && o.nodeId !== undefined) {
        throw new ArgumentTypeError(
          'ERR_INVALID_OPTION',
          "fence_scsi's 'id' mode uses the node's position in corosync's nodelist (nodelist.node.<N>), not its nodeid: pass nodeIndex (see cmapNodeIndex)",
        );
      }
      const cluster = md5Hex(checkName(o.clusterName, 'clusterName')).slice(0, 4);
      const index = integerIn(o.nodeIndex, 'nodeIndex', 0, 999_999_999_999);
      text = cluster + String(index).padStart(4, '0');
      break;
    }
    case 'hash': {
      const cluster = md5Hex(checkName(o.clusterName, 'clusterName')).slice(0, 4);
      text = cluster + md5Hex(checkName(o.nodeName, 'nodeName')).slice(0, 4);
      break;
    }
    case 'cman': {
      const clusterId = integerIn(o.clusterId, 'clusterId', 0, 0xffff);
      const nodeId = integerIn(o.nodeId, 'nodeId', 1, 0xffff_ffff);
      text = clusterId.toString(16).padStart(4, '0') + nodeId.toString(16).padStart(4, '0');
      break;
    }
    default:
      throw new ArgumentRangeError('ERR_INVALID_OPTION', `fence_scsi key mode must be 'id', 'hash' or 'cman'; received ${describeValue(o.mode)}`);
  }
  const stripped = text.replace(/^0+/, '');
  if (stripped === '') {
    throw new ArgumentRangeError('ERR_INVALID_KEY', `fence_scsi key ${text} is 0, which means "no key" (fence_scsi refuses it too)`);
  }
  return stripped;
}

/**
 * fence_scsi's key as a number: `BigInt('0x' + fenceScsiKeyString(options))`.
 * See {@link fenceScsiKeyString} for the derivation and worked examples.
 *
 * @example fenceScsiKey({ mode: 'hash', clusterName: 'mycluster', nodeName: 'node1' }) // 0x6c9d1645n
 * @example fenceScsiKey({ mode: 'id', clusterName: 'mycluster', nodeIndex: 1 })        // 0x6c9d0001n
 */
export function fenceScsiKey(options: FenceScsiKeyOptions): bigint {
  return BigInt('0x' + fenceScsiKeyString(options));
}

/**
 * The cluster name in `corosync-cmapctl totem.cluster_name` output
 * (`totem.cluster_name (str) = mycluster`), found the way fence_scsi finds it:
 * the first `(str) = <non-blank>` value.
 *
 * @throws ArgumentTypeError (`ERR_INVALID_OPTION`) when `text` is not a string.
 * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) when no cluster name is present.
 */
export function cmapClusterName(text: string): string {
  if (typeof text !== 'string') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `corosync-cmapctl output must be a string; received ${describeValue(text)}`);
  }
  for (const line of text.split(/\r?\n/)) {
    const m = /\(str\) = (\S+)\s*$/.exec(line);
    if (m) return m[1]!;
  }
  throw new ArgumentRangeError('ERR_INVALID_OPTION', 'no "(str) = <name>" line in corosync-cmapctl output: cannot get the cluster name');
}

/**
 * The position N of `nodeName` in `corosync-cmapctl nodelist` output — the
 * value fence_scsi's `id` mode uses. Like fence_scsi it looks for
 * `nodelist.node.N.name (str) = <nodeName>` first and falls back to the old
 * format `nodelist.node.N.ringX_addr (str) = <nodeName>`. The name is matched
 * literally (fence_scsi interpolates it into a regular expression unescaped,
 * so there a `.` in a node name matches any character).
 *
 * @example
 * cmapNodeIndex('nodelist.node.0.name (str) = node1\nnodelist.node.1.name (str) = node2\n', 'node2') // 1
 * @throws ArgumentTypeError (`ERR_INVALID_OPTION`) for non-string arguments.
 * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) when the node is not in the nodelist.
 */
export function cmapNodeIndex(text: string, nodeName: string): number {
  if (typeof text !== 'string') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `corosync-cmapctl output must be a string; received ${describeValue(text)}`);
  }
  if (typeof nodeName !== 'string' || nodeName === '') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `nodeName must be a non-empty string; received ${describeValue(nodeName)}`);
  }
  const lines = text.split(/\r?\n/);
  for (const field of [/^(?:\S*\.)?(\d+)\.name \(str\) = (.*)$/, /^(?:\S*\.)?(\d+)\.ring\d_addr \(str\) = (.*)$/]) {
    for (const line of lines) {
      const m = field.exec(line.trim());
      if (m && m[2] === nodeName) return Number(m[1]);
    }
  }
  throw new ArgumentRangeError('ERR_INVALID_OPTION', `node ${JSON.stringify(nodeName)} is not in the corosync nodelist (no nodelist.node.N.name or .ringX_addr equal to it)`);
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

function integerIn(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${name} must be a number; received ${describeValue(v)}`);
  }
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${name} ${String(v)} is not an integer in ${min}–${max}`);
  }
  return v;
}

/** A name fence_scsi can hash: non-empty printable ASCII without whitespace. */
function checkName(v: unknown, name: string): string {
  if (typeof v !== 'string') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${name} must be a string; received ${describeValue(v)}`);
  }
  if (v === '') throw new ArgumentRangeError('ERR_INVALID_OPTION', `${name} must not be empty`);
  if (!/^[\x21-\x7e]+$/.test(v)) {
    throw new ArgumentRangeError(
      'ERR_INVALID_OPTION',
      `${name} ${JSON.stringify(v)} must be printable ASCII without whitespace (fence_scsi encodes names as ASCII and reads them with \\S+)`,
    );
  }
  return v;
}
