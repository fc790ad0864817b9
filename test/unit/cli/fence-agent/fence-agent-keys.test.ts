/**
 * fence_scsi_pr key scheme: the nodes map, derivation (hash / id /
 * cluster-id) with corosync.conf read as a file, and the state file.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNodeMap, parseKeyMode, parseKeyParam, parseClusterId, KeyResolver, type KeySettings } from '../../../../lib/cli/fence-agent/fence-agent-keys';
import { parseCorosyncConf, findCorosyncNode, readCorosyncConf, CorosyncConfigError, type CorosyncConfig } from '../../../../lib/cli/fence-agent/fence-agent-corosync';
import { parseState, serialiseState, readState, writeState, statePath, stateDir, StateFileError } from '../../../../lib/cli/fence-agent/fence-agent-state';
import { fenceScsiKey, clusterNodeKey } from '../../../../lib/fencing/fence-keys';

const COROSYNC = `# corosync.conf as pcs writes it
totem {
    version: 2
    cluster_name: mycluster
    transport: knet
    crypto_cipher: aes256
}

nodelist {
    node {
        ring0_addr: 10.0.0.11
        name: node1
        nodeid: 1
    }

    node {
        ring0_addr: 10.0.0.12
        ring1_addr: 10.1.0.12
        name: node2
        nodeid: 2
    }

    node {
        ring0_addr: 10.0.0.13
        name: node3
        nodeid: 7
    }
}

quorum {
    provider: corosync_votequorum
}

logging {
    to_logfile: yes
    logfile: /var/log/cluster/corosync.log
}
`;

describe('corosync.conf', () => {
  it('yields the cluster name and the nodelist in file order (nodelist.node.N)', () => {
    const c = parseCorosyncConf(COROSYNC, '/etc/corosync/corosync.conf');
    expect(c.clusterName).toBe('mycluster');
    expect(c.nodes).toEqual([
      { index: 0, name: 'node1', nodeid: 1, addrs: ['10.0.0.11'] },
      { index: 1, name: 'node2', nodeid: 2, addrs: ['10.0.0.12', '10.1.0.12'] },
      { index: 2, name: 'node3', nodeid: 7, addrs: ['10.0.0.13'] },
    ]);
  });
  it('finds a node by name first, then by ring address (like fence_scsi)', () => {
    const c = parseCorosyncConf(COROSYNC);
    expect(findCorosyncNode(c, 'node2')?.index).toBe(1);
    expect(findCorosyncNode(c, '10.1.0.12')?.index).toBe(1);
    expect(findCorosyncNode(c, 'node9')).toBeUndefined();
  });
  it('accepts "=" separators, quoted values and a one-line section', () => {
    const c = parseCorosyncConf('totem { cluster_name = "c 1" }\nnodelist {\n node { name: a\n nodeid: 4 }\n}\n');
    expect(c.clusterName).toBe('c 1');
    expect(c.nodes).toEqual([{ index: 0, name: 'a', nodeid: 4, addrs: [] }]);
  });
  it('old-style nodelist without names', () => {
    const c = parseCorosyncConf('nodelist {\n node {\n ring0_addr: n1.example\n }\n}\n');
    expect(findCorosyncNode(c, 'n1.example')?.index).toBe(0);
  });
  it('rejects unbalanced braces and junk', () => {
    expect(() => parseCorosyncConf('totem {\n')).toThrow(CorosyncConfigError);
    expect(() => parseCorosyncConf('}\n')).toThrow(/unexpected/);
    expect(() => parseCorosyncConf('totem {\n what is this\n}\n')).toThrow(/cannot parse/);
  });
  it('a missing file is null, not an error', () => {
    expect(readCorosyncConf('/nonexistent/corosync.conf')).toBeNull();
  });
});

describe('parameters of the key scheme', () => {
  it('nodes map: separators, = form, and key syntax', () => {
    expect(parseNodeMap('node1:0x1a01,node2:0x1a02')).toEqual(new Map([['node1', 0x1a01n], ['node2', 0x1a02n]]));
    expect(parseNodeMap(' node1=1a01 ; node2:0X1A02\nnode3:3 ')).toEqual(new Map([['node1', 0x1a01n], ['node2', 0x1a02n], ['node3', 3n]]));
    expect(parseNodeMap('n1.example.com:0x1')).toEqual(new Map([['n1.example.com', 1n]]));
  });
  const badMaps: Array<[string, RegExp]> = [
    ['node1', /not node:key/],
    [':0x1', /not node:key/],
    ['node1:', /not node:key/],
    ['node1:xyz', /not a hex string/],
    ['node1:0', /cannot be 0/],
    ['node1:0x12345678901234567', /not a hex string/],
    ['a:1,a:2', /appears twice/],
    ['a:1,b:0x01', /same key 0x1/],
    [' , ', /empty/],
  ];
  for (const [text, re] of badMaps) {
    it(`nodes ${JSON.stringify(text)} is refused`, () => {
      expect(() => parseNodeMap(text)).toThrow(re);
    });
  }
  it('key, key_value, cluster_id', () => {
    expect(parseKeyParam(' 0x1A2b ')).toBe(0x1a2bn);
    expect(() => parseKeyParam('abc xyz')).toThrow(/hex string/);
    expect(() => parseKeyParam('0')).toThrow(/cannot be 0/);
    expect(parseKeyMode(undefined)).toBe('hash');
    expect(parseKeyMode('ID')).toBe('id');
    expect(parseKeyMode('cluster_id')).toBe('cluster-id');
    expect(() => parseKeyMode('md5')).toThrow(/'hash', 'id' or 'cluster-id'/);
    expect(parseClusterId('42')).toBe(42);
    expect(parseClusterId('0xbeef')).toBe(0xbeef);
    expect(() => parseClusterId('65536')).toThrow(/0-65535/);
    expect(() => parseClusterId('x')).toThrow(/0-65535/);
  });
});

describe('KeyResolver', () => {
  const conf = parseCorosyncConf(COROSYNC, '/etc/corosync/corosync.conf');
  const resolver = (settings: Partial<KeySettings>, c: CorosyncConfig | null = conf) => {
    let loads = 0;
    const r = new KeyResolver({ mode: 'hash', corosyncConfPath: '/etc/corosync/corosync.conf', ...settings }, () => {
      loads++;
      return c;
    });
    return { r, loads: () => loads };
  };

  it('the nodes map wins over derivation', () => {
    const { r } = resolver({ nodes: new Map([['node1', 0xaan]]) });
    expect(r.keyOf('node1')).toEqual({ node: 'node1', key: 0xaan, how: 'from the nodes map' });
    expect(r.keyOf('node2').key).toBe(fenceScsiKey({ mode: 'hash', clusterName: 'mycluster', nodeName: 'node2' }));
  });

  it('hash: fence_scsi-compatible keys from corosync.conf (md5 of cluster and node names)', () => {
    const { r, loads } = resolver({});
    expect(r.keyOf('node1').key).toBe(0x6c9d1645n);
    expect(r.keyOf('node2').key).toBe(0x6c9d7888n);
    expect(r.keyOf('node1').how).toMatch(/key_value=hash, cluster 'mycluster'/);
    expect(loads()).toBe(1);
  });

  it('hash: cluster_name overrides corosync.conf, and works without the file', () => {
    expect(resolver({ clusterName: 'other' }).r.keyOf('node1').key).toBe(fenceScsiKey({ mode: 'hash', clusterName: 'other', nodeName: 'node1' }));
    expect(resolver({ clusterName: 'mycluster' }, null).r.keyOf('anything').key).toBe(fenceScsiKey({ mode: 'hash', clusterName: 'mycluster', nodeName: 'anything' }));
  });

  it('id: fence_scsi-compatible keys from the nodelist position', () => {
    const { r } = resolver({ mode: 'id' });
    expect(r.keyOf('node1').key).toBe(0x6c9d0000n);
    expect(r.keyOf('node3').key).toBe(0x6c9d0002n);
    expect(r.keyOf('10.0.0.12').key).toBe(0x6c9d0001n);
  });

  it('cluster-id: scsi-pr layout from cluster_id and the corosync nodeid (Pacemaker nodeid first)', () => {
    const { r } = resolver({ mode: 'cluster-id', clusterId: 5 });
    expect(r.keyOf('node3').key).toBe(clusterNodeKey({ clusterId: 5, nodeId: 7 }));
    expect(r.keyOf('node3', 9).key).toBe(0x7370000500000009n);
    expect(resolver({ mode: 'cluster-id', clusterId: 5 }, null).r.keyOf('whatever', 4).key).toBe(0x7370000500000004n);
  });

  const failures: Array<[string, Partial<KeySettings>, CorosyncConfig | null, string, RegExp]> = [
    ['a node not in the nodelist (typo) is an error, not a key nobody holds', {}, conf, 'nod1', /not in the nodes map nor in the corosync nodelist/],
    ['hash without any cluster name', {}, null, 'node1', /needs the cluster name.*does not exist/],
    ['id without corosync.conf', { mode: 'id', clusterName: 'c' }, null, 'node1', /key_value=id needs node 'node1' in the corosync nodelist/],
    ['cluster-id without cluster_id', { mode: 'cluster-id' }, conf, 'node1', /needs cluster_id/],
    ['cluster-id without a node id', { mode: 'cluster-id', clusterId: 1 }, null, 'node1', /needs the corosync node id/],
    ['nodes map only: unknown node', { nodes: new Map([['a', 1n]]) }, null, 'b', /not in the nodes map \(a\)/],
    ['a name fence_scsi cannot hash', { clusterName: 'c' }, null, 'node 1', /cannot derive the key of node 'node 1'/],
  ];
  for (const [label, settings, c, node, re] of failures) {
    it(label, () => {
      expect(() => resolver(settings, c).r.keyOf(node)).toThrow(re);
    });
  }

  it('knownNodes: map entries then the nodelist, with errors kept per node', () => {
    const { r } = resolver({ nodes: new Map([['extra', 0x99n], ['node1', 0x11n]]) });
    const known = r.knownNodes();
    expect(known.map((k) => k.node)).toEqual(['extra', 'node1', 'node2', 'node3']);
    expect(known[1]).toMatchObject({ key: 0x11n });
    const { r: r2 } = resolver({ mode: 'cluster-id' });
    expect(r2.knownNodes().every((k) => 'error' in k)).toBe(true);
  });
});

describe('state file', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fence-agent-state-'));
    env = { SCSI_PR_STATE_DIR: join(dir, 'sub') };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lives in SCSI_PR_STATE_DIR, default /var/lib/scsi-pr', () => {
    expect(stateDir({})).toBe('/var/lib/scsi-pr');
    expect(statePath({})).toBe('/var/lib/scsi-pr/fence_scsi_pr.state');
    expect(statePath(env)).toBe(join(dir, 'sub', 'fence_scsi_pr.state'));
  });

  it('round-trips, creating the directory, as documented JSON', () => {
    expect(readState(env)).toBeNull();
    writeState({ node: 'node1', key: 0x6c9d1645n, devices: ['/dev/sdb', '/dev/sdc'], aptpl: true }, env);
    const text = readFileSync(statePath(env), 'utf8');
    const j = JSON.parse(text);
    expect(j).toMatchObject({ version: 1, node: 'node1', key: '0x6c9d1645', devices: ['/dev/sdb', '/dev/sdc'], aptpl: true });
    expect(typeof j.updated).toBe('string');
    expect(statSync(statePath(env)).mode & 0o777).toBe(0o644);
    expect(readState(env)).toMatchObject({ node: 'node1', key: 0x6c9d1645n, devices: ['/dev/sdb', '/dev/sdc'], aptpl: true });
  });

  const bad: Array<[string, string, RegExp]> = [
    ['not JSON', '{', /not valid JSON/],
    ['an array', '[]', /JSON object/],
    ['another version', '{"version":2}', /version 2/],
    ['no key', '{"version":1,"devices":["/dev/sdb"]}', /no valid "key"/],
    ['a bad key', '{"version":1,"key":"xyz","devices":["/dev/sdb"]}', /no valid "key"/],
    ['key 0', '{"version":1,"key":"0x0","devices":["/dev/sdb"]}', /key 0/],
    ['no devices', '{"version":1,"key":"0x1"}', /no valid "devices"/],
    ['an empty device', '{"version":1,"key":"0x1","devices":[""]}', /no valid "devices"/],
  ];
  for (const [label, text, re] of bad) {
    it(`a state file with ${label} is an error naming the file`, () => {
      expect(() => parseState(text, '/x/fence_scsi_pr.state')).toThrow(StateFileError);
      expect(() => parseState(text, '/x/fence_scsi_pr.state')).toThrow(re);
    });
  }

  it('reports a directory it cannot create', () => {
    writeFileSync(join(dir, 'file'), '');
    expect(() => writeState({ key: 1n, devices: ['/dev/sdb'], aptpl: false }, { SCSI_PR_STATE_DIR: join(dir, 'file', 'x') })).toThrow(/cannot write state file/);
  });

  it('serialises keys as 0x hex', () => {
    expect(serialiseState({ key: 0xabcn, devices: ['/dev/sdb'], aptpl: false }, new Date(0))).toBe(
      '{\n  "version": 1,\n  "key": "0xabc",\n  "devices": [\n    "/dev/sdb"\n  ],\n  "aptpl": false,\n  "updated": "1970-01-01T00:00:00.000Z"\n}\n',
    );
  });
});
