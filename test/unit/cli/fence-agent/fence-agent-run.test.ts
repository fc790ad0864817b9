/**
 * fence_scsi_pr end to end without devices: the agent with fake library calls
 * (fence/unfence/status), driven the way Pacemaker drives it (stdin) and the
 * way people do (argv). Checks exit codes, stdout/stderr, the state file and
 * the log file.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAgent, EXIT, type AgentDeps } from '../../../../lib/cli/fence-agent/fence-agent-run';
import { parseCorosyncConf } from '../../../../lib/cli/fence-agent/fence-agent-corosync';
import type { FenceOptions, FenceReport, FenceDeviceReport } from '../../../../lib/fencing/fence';
import type { UnfenceOptions, UnfenceReport, UnfenceDeviceReport } from '../../../../lib/fencing/unfence';
import type { StatusOptions, StatusReport, StatusDeviceReport } from '../../../../lib/fencing/fence-status';
import { ReservationConflictError, SyscallError } from '../../../../lib/errors';
import { fenceScsiKey } from '../../../../lib/fencing/fence-keys';

interface Calls {
  fence: FenceOptions[];
  unfence: UnfenceOptions[];
  status: StatusOptions[];
  sleep: number[];
  checkDevices: string[][];
}

let dir: string;
let env: NodeJS.ProcessEnv;
let calls: Calls;
let fenceImpl: (o: FenceOptions) => FenceReport;
let unfenceImpl: (o: UnfenceOptions) => UnfenceReport;
let statusImpl: (o: StatusOptions) => StatusReport;
let deviceProblems: string[];
let corosyncText: string | null;
let host: string;

const names = (o: { devices: readonly unknown[] }) => o.devices.map(String);

function fenceDev(device: string, outcome: FenceDeviceReport['outcome'], ok: boolean, error?: Error): FenceDeviceReport {
  return { device, wwn: `naa.${device.slice(-1)}`, outcome, ok, ...(error ? { error } : {}), generationBefore: 3, generationAfter: ok ? 4 : undefined, reservation: ok ? { key: 1n, type: 5 } : undefined, durationMs: 1.5 };
}
function fenceReport(devices: FenceDeviceReport[], lost = false): FenceReport {
  return { ok: devices.every((d) => d.ok) && devices.length > 0, lost, fenced: devices.filter((d) => d.ok).map((d) => d.device), notFenced: devices.filter((d) => !d.ok).map((d) => d.device), withoutAbort: devices.filter((d) => d.ok && d.method === 'preempt').map((d) => d.device), devices, durationMs: 3, phases: { open: 0, check: 0, arbiter: 0, preempt: 0, verify: 0, close: 0 } };
}
function unfenceDev(device: string, ok: boolean, errors: Error[] = []): UnfenceDeviceReport {
  return { device, wwn: `naa.${device.slice(-1)}`, ok, pathsRegistered: ok ? 2 : 1, paths: 2, reservation: ok ? 'reserved' : 'none', holder: ok ? 1n : undefined, unitAttentions: [], errors, durationMs: 1 };
}
function statusDev(device: string, reachable: boolean, registered: boolean, error?: Error): StatusDeviceReport {
  return { device, wwn: `naa.${device.slice(-1)}`, reachable, registered, registrations: registered ? 2 : 0, reservationHolder: false, reservation: reachable ? { key: 9n, type: 5 } : null, keys: registered ? [1n, 2n] : [2n], ...(error ? { error } : {}), generation: 5 };
}

function deps(): AgentDeps {
  return {
    fence: async (o) => (calls.fence.push(o), fenceImpl(o)),
    unfence: async (o) => (calls.unfence.push(o), unfenceImpl(o)),
    status: async (o) => (calls.status.push(o), statusImpl(o)),
    checkDevices: async (d) => (calls.checkDevices.push(d), deviceProblems),
    readCorosync: (path) => (corosyncText === null ? null : parseCorosyncConf(corosyncText, path)),
    hostname: () => host,
    sleep: async (ms) => void calls.sleep.push(ms),
    version: () => '9.9.9',
  };
}

async function agent(input: { argv?: string[]; stdin?: string }) {
  let stdout = '';
  let stderr = '';
  const code = await runAgent(
    { argv: input.argv ?? [], readStdin: () => input.stdin ?? '', stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env },
    deps(),
  );
  return { code, stdout, stderr };
}

const stdin = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
const NODES = 'node1:0x1,node2:0x2,node3:0x3';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fence-agent-run-'));
  env = { SCSI_PR_STATE_DIR: join(dir, 'state') };
  calls = { fence: [], unfence: [], status: [], sleep: [], checkDevices: [] };
  fenceImpl = (o) => fenceReport(names(o).map((d) => fenceDev(d, 'fenced', true)));
  unfenceImpl = (o) => ({ ok: true, devices: names(o).map((d) => unfenceDev(d, true)), durationMs: 2 });
  statusImpl = (o) => ({ registeredEverywhere: true, devices: names(o).map((d) => statusDev(d, true, true)) });
  deviceProblems = [];
  corosyncText = null;
  host = 'node1';
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const statePath = () => join(env.SCSI_PR_STATE_DIR!, 'fence_scsi_pr.state');
const state = () => JSON.parse(readFileSync(statePath(), 'utf8'));

describe('metadata, help, version, bad input', () => {
  it('metadata from stdin: XML on stdout, nothing on stderr, exit 0', async () => {
    const r = await agent({ stdin: 'action=metadata\n' });
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/^<\?xml version="1.0" \?>\n<resource-agent name="fence_scsi_pr"/);
    expect(r.stdout).toContain('<action name="on" on_target="1" automatic="1"/>');
    expect(r.stderr).toBe('');
  });
  it('meta-data (OCF spelling) and -o metadata work too', async () => {
    expect((await agent({ stdin: 'action=meta-data\n' })).stdout).toContain('<resource-agent');
    expect((await agent({ argv: ['-o', 'metadata'] })).stdout).toContain('<resource-agent');
  });
  it('-h prints usage, -V the version', async () => {
    expect((await agent({ argv: ['-h'] })).stdout).toMatch(/^Usage:/);
    expect((await agent({ argv: ['-V'] })).stdout).toBe('9.9.9\n');
  });
  it('an unrecognised action fails with exit 1 and a clear message', async () => {
    const r = await agent({ stdin: 'action=reboot\nplug=node3\n' });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/ERROR: Failed: Unrecognised action 'reboot'/);
    expect(r.stdout).toBe('');
  });
  it('a command-line parse error fails with exit 1, fence-agents style', async () => {
    const r = await agent({ argv: ['--frobnicate'] });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ERROR: Parse error: option --frobnicate not recognized\n.*ERROR: Please use '-h' for usage\n$/s);
  });
  it('unknown stdin parameters are warned about, not fatal', async () => {
    const r = await agent({ stdin: stdin({ action: 'list', nodes: NODES, pcmk_host_check: 'static-list' }) });
    expect(r.code).toBe(EXIT.OK);
    expect(r.stderr).toMatch(/WARNING: Parse error: Ignoring unknown option 'pcmk_host_check=static-list'/);
  });
  const badValues: Array<[string, Record<string, string>, RegExp]> = [
    ['a bad key', { action: 'off', plug: 'node3', key: 'xyz', nodes: NODES, devices: '/dev/a' }, /Failed: key "xyz" is not a hex string/],
    ['a bad nodes map', { action: 'off', plug: 'node3', nodes: 'node3', devices: '/dev/a' }, /Failed: nodes: 'node3' is not node:key/],
    ['a bad key_value', { action: 'off', plug: 'node3', key_value: 'md5', devices: '/dev/a' }, /Failed: key_value has to be 'hash', 'id' or 'cluster-id'/],
    ['a bad delay', { action: 'off', plug: 'node3', nodes: NODES, key: '1', devices: '/dev/a', delay: 'soon' }, /Failed: The value you have entered for --delay is not a valid time in seconds/],
    ['a zero timeout', { action: 'status', nodes: NODES, key: '1', devices: '/dev/a', command_timeout: '0' }, /Failed: command_timeout must be greater than 0/],
  ];
  for (const [label, input, re] of badValues) {
    it(`${label}: exit 1, no device I/O`, async () => {
      const r = await agent({ stdin: stdin(input) });
      expect(r.code).toBe(EXIT.ERROR);
      expect(r.stderr).toMatch(re);
      expect(calls.fence.length + calls.unfence.length + calls.status.length).toBe(0);
    });
  }
});

describe('on (unfence this node)', () => {
  it('registers the key of the node Pacemaker names, on every device, and records the state', async () => {
    const r = await agent({ stdin: stdin({ action: 'on', nodename: 'node1', port: 'node1', devices: '/dev/sdb,/dev/sdc', nodes: NODES }) });
    expect(r.code).toBe(EXIT.OK);
    expect(calls.unfence).toHaveLength(1);
    expect(calls.unfence[0]).toMatchObject({ devices: ['/dev/sdb', '/dev/sdc'], key: 0x1n, aptpl: false, timeoutMs: 30_000 });
    expect(r.stdout).toBe('Success: Unfenced node1: key 0x1 registered on 2 devices\n');
    expect(state()).toMatchObject({ version: 1, node: 'node1', key: '0x1', devices: ['/dev/sdb', '/dev/sdc'], aptpl: false });
    expect(r.stderr).toBe('');
  });
  it('passes aptpl and command_timeout through', async () => {
    await agent({ argv: ['-o', 'on', '-k', '0x77', '-d', '/dev/sdb', '-a', '--command-timeout=5'] });
    expect(calls.unfence[0]).toMatchObject({ key: 0x77n, aptpl: true, timeoutMs: 5000 });
    expect(state()).toMatchObject({ key: '0x77', aptpl: true });
  });
  it('without plug or key: this host\'s name decides (hash keys from corosync.conf)', async () => {
    corosyncText = 'totem {\n cluster_name: mycluster\n}\nnodelist {\n node {\n name: node1\n nodeid: 1\n }\n node {\n name: node2\n nodeid: 2\n }\n}\n';
    host = 'node2.example.com';
    const r = await agent({ argv: ['-o', 'on', '-d', '/dev/sdb'] });
    expect(r.code).toBe(EXIT.OK);
    expect(calls.unfence[0].key).toBe(fenceScsiKey({ mode: 'hash', clusterName: 'mycluster', nodeName: 'node2' }));
    expect(state().node).toBe('node2');
  });
  it('warns when told to unfence a node that is not this host', async () => {
    const r = await agent({ stdin: stdin({ action: 'on', plug: 'node3', devices: '/dev/sdb', nodes: NODES }) });
    expect(r.code).toBe(EXIT.OK);
    expect(r.stderr).toMatch(/WARNING: "on" registers THIS host's paths with the key of 'node3'/);
  });
  it('fails (exit 1) when a device is not unfenced, naming it', async () => {
    unfenceImpl = (o) => ({ ok: false, devices: [unfenceDev('/dev/sdb', true), unfenceDev('/dev/sdc', false, [new SyscallError('/dev/sdc: EIO', { code: 'EIO', errno: 5, syscall: 'write' })])], durationMs: 1 });
    const r = await agent({ stdin: stdin({ action: 'on', plug: 'node1', devices: '/dev/sdb,/dev/sdc', nodes: NODES }) });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/ERROR: \/dev\/sdc: \/dev\/sdc: EIO/);
    expect(r.stderr).toMatch(/Failed: Unfencing node1 \(key 0x1\) failed on 1 of 2 devices: \/dev\/sdc/);
    expect(r.stdout).toBe('');
    expect(state().key).toBe('0x1'); // the intent is recorded even so
  });
  it('needs devices the first time', async () => {
    const r = await agent({ stdin: stdin({ action: 'on', plug: 'node1', nodes: NODES }) });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/Failed: No devices found/);
  });
});

describe('off (fence the named node)', () => {
  const unfenced = async () => {
    expect((await agent({ stdin: stdin({ action: 'on', plug: 'node1', devices: '/dev/sdb,/dev/sdc', nodes: NODES }) })).code).toBe(0);
  };

  it('as Pacemaker calls it: our key and devices from the state file, the victim from nodename', async () => {
    await unfenced();
    const r = await agent({ stdin: stdin({ action: 'off', nodename: 'node3', nodeid: '3', port: 'node3', nodes: NODES }) });
    expect(r.code).toBe(EXIT.OK);
    expect(calls.fence[0]).toMatchObject({ devices: ['/dev/sdb', '/dev/sdc'], key: 0x1n, victimKey: 0x3n, timeoutMs: 30_000 });
    expect(r.stdout).toBe('Success: Fenced node3: key 0x3 removed from 2 devices (verified)\n');
  });
  it('fails with exit 1 when we lost (our own key was gone): never a success', async () => {
    await unfenced();
    fenceImpl = () => fenceReport([fenceDev('/dev/sdb', 'lost', false, new ReservationConflictError('conflict')), fenceDev('/dev/sdc', 'not-attempted', false)], true);
    const r = await agent({ stdin: stdin({ action: 'off', plug: 'node3', nodes: NODES }) });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/Failed: this node's key 0x1 is no longer registered on \/dev\/sdb: another node fenced this node.*node3 was NOT fenced/);
    expect(r.stdout).toBe('');
  });
  it('fails when not every device is verified fenced', async () => {
    await unfenced();
    fenceImpl = () => fenceReport([fenceDev('/dev/sdb', 'fenced', true), fenceDev('/dev/sdc', 'failed', false, new Error('timeout'))]);
    const r = await agent({ stdin: stdin({ action: 'off', plug: 'node3', nodes: NODES }) });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/ERROR: \/dev\/sdc: failed: timeout/);
    expect(r.stderr).toMatch(/Failed: node3 \(key 0x3\) is fenced on 1 of 2 devices; not on: \/dev\/sdc/);
  });
  it('Already OFF when the victim is registered nowhere', async () => {
    await unfenced();
    fenceImpl = (o) => fenceReport(names(o).map((d) => fenceDev(d, 'already-fenced', true)));
    const r = await agent({ stdin: stdin({ action: 'off', plug: 'node3', nodes: NODES }) });
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/^Success: Already OFF: node3/);
  });
  it('refuses to fence itself', async () => {
    await unfenced();
    const r = await agent({ stdin: stdin({ action: 'off', plug: 'node1', nodes: NODES }) });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/Failed: keys cannot be same \(0x1\). You can not fence yourself./);
    expect(calls.fence).toHaveLength(0);
  });
  it('needs a target', async () => {
    const r = await agent({ stdin: stdin({ action: 'off', key: '1', devices: '/dev/sdb' }) });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/Failed: off needs the node to fence: plug \(-n\), port or nodename/);
  });
  it('needs our key: no state, no key, host name not resolvable', async () => {
    host = 'elsewhere';
    const r = await agent({ stdin: stdin({ action: 'off', plug: 'node3', nodes: NODES, devices: '/dev/sdb' }) });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/Failed: this node's key is unknown: give key, run "on" first/);
  });
  it('an unknown victim is an error, not a no-op success', async () => {
    await unfenced();
    const r = await agent({ stdin: stdin({ action: 'off', plug: 'node9', nodes: NODES }) });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/Failed: node 'node9' is not in the nodes map/);
    expect(calls.fence).toHaveLength(0);
  });
  it('pcmk_host_map style: the plug alias is what the nodes map knows', async () => {
    await unfenced();
    const r = await agent({ stdin: stdin({ action: 'off', nodename: 'node3.example.com', port: 'node3', nodes: NODES }) });
    expect(r.code).toBe(EXIT.OK);
    expect(calls.fence[0].victimKey).toBe(0x3n);
  });
  it('waits delay seconds first', async () => {
    await unfenced();
    await agent({ argv: ['-o', 'off', '-n', 'node2', '--nodes', NODES, '--delay=2'] });
    expect(calls.sleep).toEqual([2000]);
  });
  it('a corrupt state file is reported when it is needed', async () => {
    await unfenced();
    writeFileSync(statePath(), '{oops');
    const r = await agent({ stdin: stdin({ action: 'off', plug: 'node3', nodes: NODES }) });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/Failed: state file .* is not valid JSON/);
  });
});

describe('status', () => {
  it('0 / "Status: ON" when the plug\'s key is registered', async () => {
    const r = await agent({ stdin: stdin({ action: 'status', plug: 'node2', nodes: NODES, devices: '/dev/sdb,/dev/sdc' }) });
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toBe('Status: ON\n');
    expect(calls.status[0]).toMatchObject({ key: 0x2n, devices: ['/dev/sdb', '/dev/sdc'] });
  });
  it('2 / "Status: OFF" when it is registered on no device', async () => {
    statusImpl = (o) => ({ registeredEverywhere: false, devices: names(o).map((d) => statusDev(d, true, false)) });
    const r = await agent({ stdin: stdin({ action: 'status', plug: 'node2', nodes: NODES, devices: '/dev/sdb' }) });
    expect(r.code).toBe(EXIT.STATUS_OFF);
    expect(r.stdout).toBe('Status: OFF\n');
  });
  it('ON when registered on some devices (not fully fenced is not off)', async () => {
    statusImpl = () => ({ registeredEverywhere: false, devices: [statusDev('/dev/sdb', true, false), statusDev('/dev/sdc', true, true)] });
    expect((await agent({ stdin: stdin({ action: 'status', plug: 'node2', nodes: NODES, devices: '/dev/sdb,/dev/sdc' }) })).code).toBe(EXIT.OK);
  });
  it('1 when it cannot tell (not found on the reachable devices, some unreachable)', async () => {
    statusImpl = () => ({ registeredEverywhere: false, devices: [statusDev('/dev/sdb', true, false), statusDev('/dev/sdc', false, false, new Error('no path'))] });
    const r = await agent({ stdin: stdin({ action: 'status', plug: 'node2', nodes: NODES, devices: '/dev/sdb,/dev/sdc' }) });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/Failed: Unable to obtain correct plug status.*\/dev\/sdc did not answer/);
  });
  it('without plug: this node (state file)', async () => {
    await agent({ stdin: stdin({ action: 'on', plug: 'node1', devices: '/dev/sdb', nodes: NODES }) });
    await agent({ stdin: 'action=status\n' });
    expect(calls.status[0]).toMatchObject({ key: 0x1n, devices: ['/dev/sdb'] });
  });
});

describe('monitor', () => {
  it('reads every device: 0 when they answer and hold our key; silent on stdout', async () => {
    await agent({ stdin: stdin({ action: 'on', plug: 'node1', devices: '/dev/sdb,/dev/sdc', nodes: NODES }) });
    const r = await agent({ stdin: 'action=monitor\n' });
    expect(r.code).toBe(EXIT.OK);
    expect(calls.status[0]).toMatchObject({ key: 0x1n, devices: ['/dev/sdb', '/dev/sdc'] });
    expect(r.stdout).toBe('');
  });
  it('1 when a device does not answer, or our key is gone', async () => {
    await agent({ stdin: stdin({ action: 'on', plug: 'node1', devices: '/dev/sdb,/dev/sdc', nodes: NODES }) });
    statusImpl = () => ({ registeredEverywhere: false, devices: [statusDev('/dev/sdb', false, false, new Error('EIO')), statusDev('/dev/sdc', true, false)] });
    const r = await agent({ stdin: 'action=monitor\n' });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/Failed: Unable to access \/dev\/sdb: EIO/);
    expect(r.stderr).toMatch(/Failed: \/dev\/sdc: this node's key 0x1 is not registered/);
  });
  it('1 with a clear message before "on" ever ran', async () => {
    host = 'stranger';
    const r = await agent({ stdin: stdin({ action: 'monitor', devices: '/dev/sdb' }) });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/Failed: this node's key is unknown/);
    expect(calls.status).toHaveLength(0);
  });
});

describe('list', () => {
  it('prints node,key for every node it can name (nodes map, corosync nodelist)', async () => {
    corosyncText = 'totem {\n cluster_name: mycluster\n}\nnodelist {\n node {\n name: node1\n }\n node {\n name: node4\n }\n}\n';
    const r = await agent({ stdin: stdin({ action: 'list', nodes: 'node1:0x1,node2:0x2' }) });
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toBe(`node1,0x1\nnode2,0x2\nnode4,0x${fenceScsiKey({ mode: 'hash', clusterName: 'mycluster', nodeName: 'node4' }).toString(16)}\n`);
    expect(calls.status.length + calls.fence.length).toBe(0);
  });
  it('nothing known: empty list, exit 0', async () => {
    const r = await agent({ stdin: 'action=list\n' });
    expect(r).toMatchObject({ code: 0, stdout: '' });
  });
});

describe('validate-all', () => {
  it('0 for a consistent configuration; devices checked without I/O', async () => {
    const r = await agent({ stdin: stdin({ action: 'validate-all', devices: '/dev/sdb,/dev/sdc', nodes: NODES }) });
    expect(r.code).toBe(EXIT.OK);
    expect(calls.checkDevices).toEqual([['/dev/sdb', '/dev/sdc']]);
    expect(calls.fence.length + calls.unfence.length + calls.status.length).toBe(0);
    expect(r.stdout).toBe('Valid: 2 devices, 3 nodes with distinct keys\n');
    expect(existsSync(statePath())).toBe(false);
  });
  it('1 listing every problem at once', async () => {
    deviceProblems = ['/dev/sdz: no such device'];
    const r = await agent({ stdin: stdin({ action: 'validate-all', devices: '/dev/sdz', key: 'nothex', key_value: 'crc', delay: 'x' }) });
    expect(r.code).toBe(EXIT.ERROR);
    for (const re of [/Failed: key "nothex"/, /Failed: key_value has to be/, /Failed: The value you have entered for --delay/, /Failed: \/dev\/sdz: no such device/]) expect(r.stderr).toMatch(re);
  });
  it('catches hash collisions between nodes', async () => {
    corosyncText = 'totem {\n cluster_name: c\n}\nnodelist {\n node {\n name: a\n }\n}\n';
    const r = await agent({ stdin: stdin({ action: 'validate-all', devices: '/dev/sdb', nodes: 'b:0x' + fenceScsiKey({ mode: 'hash', clusterName: 'c', nodeName: 'a' }).toString(16) }) });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/nodes b and a get the same key/);
  });
  it('1 without devices or any way to know keys', async () => {
    const r = await agent({ stdin: 'action=validate-all\n' });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/Failed: No devices found/);
    expect(r.stderr).toMatch(/Failed: no way to know any key/);
  });
});

describe('logging', () => {
  it('logfile: appended timestamped lines, debug with verbose; stderr quiet with quiet', async () => {
    const logfile = join(dir, 'agent.log');
    writeFileSync(logfile, 'previous line\n');
    const r = await agent({ stdin: stdin({ action: 'on', plug: 'node1', devices: '/dev/sdb', nodes: NODES, logfile, verbose: '1', quiet: '1' }) });
    expect(r.code).toBe(EXIT.OK);
    expect(r.stderr).toBe('');
    const lines = readFileSync(logfile, 'utf8').split('\n').filter(Boolean);
    expect(lines[0]).toBe('previous line');
    expect(lines.slice(1).every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z fence_scsi_pr\[\d+\] on (DEBUG|INFO|WARNING|ERROR): /.test(l))).toBe(true);
    expect(lines.some((l) => / DEBUG: \/dev\/sdb \(naa.b\): 2\/2 paths registered/.test(l))).toBe(true);
    expect(lines.some((l) => / INFO: Success: Unfenced node1/.test(l))).toBe(true);
  });
  it('without verbose: no debug lines anywhere', async () => {
    const logfile = join(dir, 'agent.log');
    const r = await agent({ stdin: stdin({ action: 'on', plug: 'node1', devices: '/dev/sdb', nodes: NODES, logfile }) });
    expect(r.stderr).not.toMatch(/DEBUG/);
    expect(readFileSync(logfile, 'utf8')).not.toMatch(/DEBUG/);
    expect(readFileSync(logfile, 'utf8')).toMatch(/INFO: unfencing node1 with key 0x1/);
  });
  it('-v puts debug lines on stderr; an unwritable logfile is a warning, never a failure', async () => {
    const r = await agent({ argv: ['-o', 'on', '-n', 'node1', '-d', '/dev/sdb', '--nodes', NODES, '-v', '-f', join(dir, 'no', 'such', 'dir', 'log')] });
    expect(r.code).toBe(EXIT.OK);
    expect(r.stderr).toMatch(/DEBUG: on: options from argv/);
    expect(r.stderr).toMatch(/WARNING: Unable to write log file/);
  });
});
