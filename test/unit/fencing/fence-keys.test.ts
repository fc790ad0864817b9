import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkInterfaceInfo } from 'node:os';
import {
  CLUSTER_NODE_KEY_MAGIC,
  clusterNodeKey,
  parseClusterNodeKey,
  ipv4Key,
  localIpv4Key,
  fenceScsiKey,
  fenceScsiKeyString,
  cmapClusterName,
  cmapNodeIndex,
  type FenceScsiKeyOptions,
} from '../../../lib/fencing/fence-keys';
import { parseKey, formatKey } from '../../../lib/scsi/keys';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { ScsiPrError } from '../../../lib/errors';
import { thrown } from '../support/thrown';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'corosync');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

// ---------------------------------------------------------------------------
// Independent model of fence_scsi.py's generate_key() + main()'s lstrip('0'):
//   id:   "%.4s%.4d" % (md5(cluster_name).hexdigest(), int(node_index))
//   hash: "%.4s%.4s" % (md5(cluster_name).hexdigest(), md5(plug).hexdigest())
// Python's "%.4s" truncates to 4 characters; "%.4d" pads an int with zeros to
// at least 4 digits and never truncates.
// ---------------------------------------------------------------------------
const md5 = (s: string): string => createHash('md5').update(Buffer.from(s, 'ascii')).digest('hex');
const pyS4 = (s: string): string => s.substring(0, 4);
const pyD4 = (n: number): string => (n < 0 ? '-' : '') + Math.abs(n).toString().padStart(4, '0');
const lstrip0 = (s: string): string => s.replace(/^0+/, '');
const modelId = (cluster: string, index: number): string => lstrip0(pyS4(md5(cluster)) + pyD4(index));
const modelHash = (cluster: string, node: string): string => lstrip0(pyS4(md5(cluster)) + pyS4(md5(node)));

describe('clusterNodeKey', () => {
  it('lays out magic "sp", clusterId and nodeId', () => {
    expect(CLUSTER_NODE_KEY_MAGIC).toBe(0x7370);
    expect(Buffer.from('sp', 'ascii').readUInt16BE(0)).toBe(CLUSTER_NODE_KEY_MAGIC);
    expect(clusterNodeKey({ clusterId: 1, nodeId: 2 })).toBe(0x7370_0001_0000_0002n);
    expect(clusterNodeKey({ clusterId: 0xbeef, nodeId: 7 })).toBe(0x7370_beef_0000_0007n);
    expect(clusterNodeKey({ clusterId: 0, nodeId: 1 })).toBe(0x7370_0000_0000_0001n);
    expect(clusterNodeKey({ clusterId: 0xffff, nodeId: 0xffff_ffff })).toBe(0x7370_ffff_ffff_ffffn);
  });

  it('is big-endian "sp" on the wire and a valid key', () => {
    const k = clusterNodeKey({ clusterId: 0x0102, nodeId: 0x03040506 });
    const buf = Buffer.alloc(8);
    buf.writeBigUInt64BE(k);
    expect([...buf]).toEqual([0x73, 0x70, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]);
    expect(buf.subarray(0, 2).toString('ascii')).toBe('sp');
    expect(parseKey(formatKey(k))).toBe(k);
  });

  it('round-trips through parseClusterNodeKey', () => {
    for (const f of [
      { clusterId: 0, nodeId: 1 },
      { clusterId: 1, nodeId: 2 },
      { clusterId: 4242, nodeId: 123456 },
      { clusterId: 0xffff, nodeId: 0xffff_ffff },
    ]) {
      expect(parseClusterNodeKey(clusterNodeKey(f))).toEqual(f);
    }
  });

  it('parseClusterNodeKey accepts any KeyInput', () => {
    expect(parseClusterNodeKey('0x7370000100000002')).toEqual({ clusterId: 1, nodeId: 2 });
    expect(parseClusterNodeKey(Buffer.from('73700001000000ff', 'hex'))).toEqual({ clusterId: 1, nodeId: 255 });
  });

  it('parseClusterNodeKey returns null for keys of other layouts', () => {
    expect(parseClusterNodeKey(0x0a000001n)).toBeNull(); // IPv4 key
    expect(parseClusterNodeKey(0x6c9d1645n)).toBeNull(); // fence_scsi key
    expect(parseClusterNodeKey(0x7370_0001_0000_0000n)).toBeNull(); // node id 0
    expect(parseClusterNodeKey(0x7371_0001_0000_0001n)).toBeNull(); // wrong magic
    expect(parseClusterNodeKey(0n)).toBeNull();
  });

  it('parseClusterNodeKey rejects invalid key input', () => {
    expect(thrown(() => parseClusterNodeKey('abc xyz'))).toBeInstanceOf(ArgumentRangeError);
    expect(thrown(() => parseClusterNodeKey('abc xyz')).code).toBe('ERR_INVALID_KEY');
    expect(thrown(() => parseClusterNodeKey({} as never)).code).toBe('ERR_INVALID_KEY');
  });

  it('never produces key 0 and validates ranges', () => {
    const bad: Array<[unknown, string]> = [
      [{ clusterId: 1, nodeId: 0 }, 'nodeId'],
      [{ clusterId: -1, nodeId: 1 }, 'clusterId'],
      [{ clusterId: 0x10000, nodeId: 1 }, 'clusterId'],
      [{ clusterId: 1, nodeId: 2 ** 32 }, 'nodeId'],
      [{ clusterId: 1.5, nodeId: 1 }, 'clusterId'],
      [{ clusterId: 1, nodeId: Number.NaN }, 'nodeId'],
    ];
    for (const [input, field] of bad) {
      const e = thrown(() => clusterNodeKey(input as never));
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e.code).toBe('ERR_INVALID_OPTION');
      expect(e.message).toContain(field);
    }
  });

  it('rejects wrong types with ArgumentTypeError', () => {
    for (const input of [undefined, null, 5, 'x', { clusterId: '1', nodeId: 1 }, { clusterId: 1 }, { clusterId: 1n, nodeId: 1 }]) {
      const e = thrown(() => clusterNodeKey(input as never));
      expect(e).toBeInstanceOf(ArgumentTypeError);
      expect(e.code).toBe('ERR_INVALID_OPTION');
    }
  });
});

describe('ipv4Key', () => {
  const gethostipX = (k: bigint): string => k.toString(16).padStart(8, '0').toUpperCase();

  it('gives the address as a 32-bit key, as gethostip -x prints it', () => {
    expect(ipv4Key('10.0.0.1')).toBe(0x0a000001n);
    expect(gethostipX(ipv4Key('10.0.0.1'))).toBe('0A000001');
    expect(ipv4Key('192.168.122.11')).toBe(0xc0a87a0bn);
    expect(gethostipX(ipv4Key('192.168.122.11'))).toBe('C0A87A0B');
    expect(ipv4Key('255.255.255.255')).toBe(0xffffffffn);
    expect(ipv4Key('0.0.0.1')).toBe(1n);
    expect(ipv4Key('127.0.0.1')).toBe(0x7f000001n);
    expect(ipv4Key('1.2.3.4')).toBe(0x01020304n);
  });

  it('rejects anything that is not a strict dotted quad', () => {
    const bad = ['256.0.0.1', '10.0.0.256', '1.2.3', '1.2.3.4.5', ' 10.0.0.1', '10.0.0.1 ', '10.0.0.1\n', 'x10.0.0.1', '10.0.0.1x', '1..2.3', '', '10.0.0.-1', '+1.2.3.4', '1.2.3.4/24', '0x0a.0.0.1', '1e1.0.0.1', '１.2.3.4', '٣.2.3.4', '1000.0.0.1'];
    for (const a of bad) {
      const e = thrown(() => ipv4Key(a));
      expect(e, a).toBeInstanceOf(ArgumentRangeError);
      expect(e.code).toBe('ERR_INVALID_OPTION');
    }
  });

  it('rejects leading zeros (inet_aton reads them as octal)', () => {
    const e = thrown(() => ipv4Key('010.0.0.1'));
    expect(e.code).toBe('ERR_INVALID_OPTION');
    expect(e.message).toMatch(/leading zero/);
    expect(() => ipv4Key('10.00.0.1')).toThrow(/leading zero/);
  });

  it('says so for IPv6 addresses', () => {
    for (const a of ['::1', 'fe80::1', '::ffff:10.0.0.1', '2001:db8::42']) {
      const e = thrown(() => ipv4Key(a));
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e.message).toMatch(/IPv6/);
    }
  });

  it('refuses 0.0.0.0 (key 0) and non-strings', () => {
    const e = thrown(() => ipv4Key('0.0.0.0'));
    expect(e).toBeInstanceOf(ArgumentRangeError);
    expect(e.code).toBe('ERR_INVALID_KEY');
    for (const v of [undefined, null, 0x0a000001, 10n, ['10.0.0.1']]) {
      const t = thrown(() => ipv4Key(v as never));
      expect(t).toBeInstanceOf(ArgumentTypeError);
      expect(t.code).toBe('ERR_INVALID_OPTION');
    }
  });
});

describe('localIpv4Key', () => {
  const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({ address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/24` });
  const v6 = (address: string, internal = false): NetworkInterfaceInfo => ({ address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal, cidr: `${address}/64`, scopeid: 0 });
  const table = { lo: [v4('127.0.0.1', true), v6('::1', true)], eth0: [v6('fe80::1')], eth1: [v6('fe80::2'), v4('10.1.2.3'), v4('10.9.9.9')], eth2: [v4('192.168.0.5')] };

  it('picks the first non-internal IPv4 address', () => {
    expect(localIpv4Key({ interfaces: table })).toBe(0x0a010203n);
  });

  it('uses the named interface, internal ones included', () => {
    expect(localIpv4Key({ interfaces: table, interface: 'eth2' })).toBe(0xc0a80005n);
    expect(localIpv4Key({ interfaces: table, interface: 'lo' })).toBe(0x7f000001n);
  });

  it('accepts the numeric family of Node 18.0–18.3', () => {
    const old = { eth0: [{ ...v4('10.0.0.7'), family: 4 as unknown as 'IPv4' }] };
    expect(localIpv4Key({ interfaces: old })).toBe(0x0a000007n);
  });

  it('fails clearly when there is no usable address', () => {
    const e = thrown(() => localIpv4Key({ interfaces: { lo: table.lo, eth0: table.eth0 } }));
    expect(e).toBeInstanceOf(ScsiPrError);
    expect(e.code).toBe('ERR_NO_IPV4_ADDRESS');
    expect(thrown(() => localIpv4Key({ interfaces: {} })).code).toBe('ERR_NO_IPV4_ADDRESS');
    const noIf = thrown(() => localIpv4Key({ interfaces: table, interface: 'bond0' }));
    expect(noIf).toBeInstanceOf(ArgumentRangeError);
    expect(noIf.message).toMatch(/bond0.*does not exist.*lo, eth0, eth1, eth2/);
    const no4 = thrown(() => localIpv4Key({ interfaces: table, interface: 'eth0' }));
    expect(no4.code).toBe('ERR_INVALID_OPTION');
    expect(no4.message).toMatch(/no IPv4/);
  });

  it('validates its options', () => {
    expect(thrown(() => localIpv4Key({ interface: 3 as never })).code).toBe('ERR_INVALID_OPTION');
    expect(thrown(() => localIpv4Key({ interface: '' })).code).toBe('ERR_INVALID_OPTION');
    expect(thrown(() => localIpv4Key(null as never))).toBeInstanceOf(ArgumentTypeError);
  });

  it('works on this host (a key, or ERR_NO_IPV4_ADDRESS)', () => {
    try {
      const k = localIpv4Key();
      expect(k > 0n && k <= 0xffffffffn).toBe(true);
    } catch (e) {
      expect((e as ScsiPrError).code).toBe('ERR_NO_IPV4_ADDRESS');
    }
  });
});

describe('fenceScsiKey — worked examples (values checked with md5sum)', () => {
  const cases: Array<[string, FenceScsiKeyOptions, string, bigint]> = [
    ['id, mycluster, index 0', { mode: 'id', clusterName: 'mycluster', nodeIndex: 0 }, '6c9d0000', 0x6c9d0000n],
    ['id, mycluster, index 1', { mode: 'id', clusterName: 'mycluster', nodeIndex: 1 }, '6c9d0001', 0x6c9d0001n],
    ['id, mycluster, index 12 (decimal digits read as hex)', { mode: 'id', clusterName: 'mycluster', nodeIndex: 12 }, '6c9d0012', 0x6c9d0012n],
    ['id, mycluster, index 12345 (not truncated)', { mode: 'id', clusterName: 'mycluster', nodeIndex: 12345 }, '6c9d12345', 0x6c9d12345n],
    ['hash, mycluster, node1', { mode: 'hash', clusterName: 'mycluster', nodeName: 'node1' }, '6c9d1645', 0x6c9d1645n],
    ['hash, mycluster, node2', { mode: 'hash', clusterName: 'mycluster', nodeName: 'node2' }, '6c9d7888', 0x6c9d7888n],
    ['hash, hacluster, node1', { mode: 'hash', clusterName: 'hacluster', nodeName: 'node1' }, 'fb0c1645', 0xfb0c1645n],
    ['hash, rhel9-cluster, node-a.example.com', { mode: 'hash', clusterName: 'rhel9-cluster', nodeName: 'node-a.example.com' }, 'a8f55506', 0xa8f55506n],
    ['id, cluster28 (md5 0085…), index 1: leading zeros stripped', { mode: 'id', clusterName: 'cluster28', nodeIndex: 1 }, '850001', 0x850001n],
    ['id, cluster21 (md5 07ff…), index 3', { mode: 'id', clusterName: 'cluster21', nodeIndex: 3 }, '7ff0003', 0x7ff0003n],
    ['cman, clusterId 0x1234, nodeId 2', { mode: 'cman', clusterId: 0x1234, nodeId: 2 }, '12340002', 0x12340002n],
    ['cman, clusterId 0x0042, nodeId 0x1a', { mode: 'cman', clusterId: 0x42, nodeId: 0x1a }, '42001a', 0x42001an],
    ['cman, clusterId 0, nodeId 3', { mode: 'cman', clusterId: 0, nodeId: 3 }, '3', 3n],
    ['cman, nodeId beyond 16 bits is not truncated', { mode: 'cman', clusterId: 1, nodeId: 0x12345 }, '112345', 0x112345n],
  ];
  for (const [label, options, text, key] of cases) {
    it(label, () => {
      expect(fenceScsiKeyString(options)).toBe(text);
      expect(fenceScsiKey(options)).toBe(key);
    });
  }

  it('md5 prefixes used above', () => {
    expect(md5('mycluster')).toBe('6c9d58deeaac0e67f612d1ce6477116e');
    expect(md5('node1')).toBe('164546f60261c7e4be0c5f5f9aaeec86');
    expect(md5('node2')).toBe('78882aaeb08e9a4c81687b5de2add74f');
    expect(md5('cluster28').startsWith('0085')).toBe(true);
  });
});

describe('fenceScsiKey — against an independent model of fence_scsi.py', () => {
  const clusters = ['mycluster', 'hacluster', 'rhel9-cluster', 'cluster28', 'cluster21', 'cluster44', 'prod', 'A', 'x'.repeat(100)];
  const indexes = [0, 1, 2, 9, 10, 12, 99, 100, 999, 1000, 1234, 9999, 10000, 12345, 999999];
  const nodes = ['node1', 'node2', 'n1', 'node-a.example.com', 'NODE1', 'db01.prod.example.org', 'x'];

  it('id mode', () => {
    for (const clusterName of clusters) {
      for (const nodeIndex of indexes) {
        const expected = modelId(clusterName, nodeIndex);
        expect(fenceScsiKeyString({ mode: 'id', clusterName, nodeIndex }), `${clusterName}/${nodeIndex}`).toBe(expected);
        expect(fenceScsiKey({ mode: 'id', clusterName, nodeIndex })).toBe(BigInt('0x' + expected));
      }
    }
  });

  it('hash mode', () => {
    for (const clusterName of clusters) {
      for (const nodeName of nodes) {
        const expected = modelHash(clusterName, nodeName);
        expect(fenceScsiKeyString({ mode: 'hash', clusterName, nodeName })).toBe(expected);
        expect(fenceScsiKey({ mode: 'hash', clusterName, nodeName })).toBe(BigInt('0x' + expected));
        expect(fenceScsiKey({ mode: 'hash', clusterName, nodeName }) <= 0xffffffffn).toBe(true);
      }
    }
  });

  it('the string is what sg_persist prints (lowercase, no 0x, no leading zeros)', () => {
    for (const clusterName of clusters) {
      const s = fenceScsiKeyString({ mode: 'id', clusterName, nodeIndex: 1 });
      expect(s).toMatch(/^[1-9a-f][0-9a-f]*$/);
      // sg_persist: printf("    0x%" PRIx64 "\n", key) — fence_scsi matches "0x(\S+)".
      const printed = `    0x${fenceScsiKey({ mode: 'id', clusterName, nodeIndex: 1 }).toString(16)}`;
      expect(/\s+0x(\S+)\s*/.exec(printed)![1]).toBe(s);
      expect(parseKey(s)).toBe(fenceScsiKey({ mode: 'id', clusterName, nodeIndex: 1 }));
    }
  });

  it('id-mode index digits are decimal read as hex', () => {
    const k = fenceScsiKey({ mode: 'id', clusterName: 'mycluster', nodeIndex: 12 });
    expect(k & 0xffffn).toBe(0x12n);
    expect(k & 0xffffn).not.toBe(12n);
  });

  it('refuses inputs that give key 0 (fence_scsi: "key cannot be 0")', () => {
    let zeroCluster = '';
    for (let i = 0; !zeroCluster; i++) if (md5(`c${i}`).startsWith('0000')) zeroCluster = `c${i}`;
    const e = thrown(() => fenceScsiKey({ mode: 'id', clusterName: zeroCluster, nodeIndex: 0 }));
    expect(e).toBeInstanceOf(ArgumentRangeError);
    expect(e.code).toBe('ERR_INVALID_KEY');
    expect(fenceScsiKeyString({ mode: 'id', clusterName: zeroCluster, nodeIndex: 1 })).toBe('1');
    expect(fenceScsiKey({ mode: 'id', clusterName: zeroCluster, nodeIndex: 1 })).toBe(1n);
  });
});

describe('fenceScsiKey — validation', () => {
  const bad: Array<[string, unknown, 'type' | 'range', RegExp]> = [
    ['no options', undefined, 'type', /object/],
    ['unknown mode', { mode: 'uuid', clusterName: 'c', nodeIndex: 1 }, 'range', /'id', 'hash' or 'cman'/],
    ['missing mode', { clusterName: 'c', nodeIndex: 1 }, 'range', /mode/],
    ['id with nodeId instead of nodeIndex', { mode: 'id', clusterName: 'c', nodeId: 1 }, 'type', /position in corosync's nodelist.*nodeIndex/],
    ['id without nodeIndex', { mode: 'id', clusterName: 'c' }, 'type', /nodeIndex/],
    ['id negative index', { mode: 'id', clusterName: 'c', nodeIndex: -1 }, 'range', /nodeIndex/],
    ['id fractional index', { mode: 'id', clusterName: 'c', nodeIndex: 1.5 }, 'range', /nodeIndex/],
    ['id string index', { mode: 'id', clusterName: 'c', nodeIndex: '1' }, 'type', /nodeIndex/],
    ['id huge index (> 16 hex digits)', { mode: 'id', clusterName: 'c', nodeIndex: 1e12 }, 'range', /nodeIndex/],
    ['missing clusterName', { mode: 'hash', nodeName: 'n' }, 'type', /clusterName/],
    ['empty clusterName', { mode: 'id', clusterName: '', nodeIndex: 1 }, 'range', /clusterName/],
    ['non-ASCII clusterName', { mode: 'id', clusterName: 'clüster', nodeIndex: 1 }, 'range', /ASCII/],
    ['clusterName with a blank', { mode: 'id', clusterName: 'my cluster', nodeIndex: 1 }, 'range', /whitespace/],
    ['hash without nodeName', { mode: 'hash', clusterName: 'c' }, 'type', /nodeName/],
    ['non-ASCII nodeName', { mode: 'hash', clusterName: 'c', nodeName: 'nöde' }, 'range', /nodeName/],
    ['cman clusterId > 16 bit', { mode: 'cman', clusterId: 0x10000, nodeId: 1 }, 'range', /clusterId/],
    ['cman nodeId 0', { mode: 'cman', clusterId: 1, nodeId: 0 }, 'range', /nodeId/],
  ];
  for (const [label, input, kind, message] of bad) {
    it(label, () => {
      const e = thrown(() => fenceScsiKey(input as never));
      expect(e).toBeInstanceOf(kind === 'type' ? ArgumentTypeError : ArgumentRangeError);
      expect(e.code).toBe('ERR_INVALID_OPTION');
      expect(e.message).toMatch(message);
      expect(thrown(() => fenceScsiKeyString(input as never)).message).toBe(e.message);
    });
  }
});

describe('corosync-cmapctl helpers', () => {
  it('cmapClusterName reads totem.cluster_name', () => {
    expect(cmapClusterName(fixture('cmapctl-cluster-name.txt'))).toBe('hacluster');
    expect(cmapClusterName('totem.cluster_name (str) = prod\r\n')).toBe('prod');
    expect(thrown(() => cmapClusterName('Failed to get key totem.cluster_name. Error CS_ERR_NOT_EXIST\n')).code).toBe('ERR_INVALID_OPTION');
    expect(thrown(() => cmapClusterName(undefined as never))).toBeInstanceOf(ArgumentTypeError);
  });

  it('cmapNodeIndex gives the nodelist position, not the nodeid', () => {
    const text = fixture('cmapctl-nodelist.txt');
    expect(cmapNodeIndex(text, 'node1.example.com')).toBe(0);
    expect(cmapNodeIndex(text, 'node2.example.com')).toBe(1);
    expect(cmapNodeIndex(text, 'node4.example.com')).toBe(2); // nodeid 4
    expect(cmapNodeIndex(text, 'node12.example.com')).toBe(3); // nodeid 12
  });

  it('falls back to ringX_addr like fence_scsi (old format)', () => {
    expect(cmapNodeIndex(fixture('cmapctl-nodelist-old-format.txt'), 'rhel7-b')).toBe(1);
    expect(cmapNodeIndex(fixture('cmapctl-nodelist.txt'), '192.168.122.12')).toBe(1);
    expect(cmapNodeIndex(fixture('cmapctl-nodelist.txt'), '10.10.0.14')).toBe(2);
  });

  it('handles positions ≥ 10 and CRLF', () => {
    const text = Array.from({ length: 13 }, (_, i) => `nodelist.node.${i}.name (str) = n${i}\r\nnodelist.node.${i}.nodeid (u32) = ${i + 1}`).join('\r\n');
    expect(cmapNodeIndex(text, 'n12')).toBe(12);
    expect(cmapNodeIndex(text, 'n1')).toBe(1);
  });

  it('matches the name literally and wholly', () => {
    const text = fixture('cmapctl-nodelist.txt');
    for (const name of ['node1xexample.com', 'node1', 'node1.example.co', 'ode1.example.com', '.*']) {
      const e = thrown(() => cmapNodeIndex(text, name));
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e.message).toMatch(/not in the corosync nodelist/);
    }
    expect(thrown(() => cmapNodeIndex(text, '')).code).toBe('ERR_INVALID_OPTION');
  });

  it('end to end: cmapctl output → fence_scsi id/hash key', () => {
    const clusterName = cmapClusterName(fixture('cmapctl-cluster-name.txt'));
    const nodeIndex = cmapNodeIndex(fixture('cmapctl-nodelist.txt'), 'node4.example.com');
    expect(fenceScsiKeyString({ mode: 'id', clusterName, nodeIndex })).toBe(modelId('hacluster', 2));
    expect(fenceScsiKeyString({ mode: 'id', clusterName, nodeIndex })).toBe('fb0c0002');
    expect(fenceScsiKeyString({ mode: 'hash', clusterName, nodeName: 'node4.example.com' })).toBe(modelHash('hacluster', 'node4.example.com'));
  });
});
