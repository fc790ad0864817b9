/**
 * fence_scsi_pr against the real SAN, driven exactly as Pacemaker's fencer
 * drives a fence agent: `node dist/cli/fence-scsi-pr.js` with no arguments and
 * the parameters as name=value lines on stdin, one process per action. Three
 * simulated nodes, LUNs 5–8, two paths per LUN (every node's devices name both
 * paths: 8 sd nodes -> 4 LUs). Keys are fence_scsi-compatible hash keys derived
 * from a corosync.conf written for the test. Every step is cross-checked with
 * sg_persist / sg_raw (independent of scsi-pr).
 *
 * Each node has its own state directory (SCSI_PR_STATE_DIR) under
 * /work/main/.lab/ (the guest's /tmp is private), as each cluster node has its
 * own /var/lib/scsi-pr.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labMap, labTools, run, sgPersistKeys, sgPersistReservation, sgRawWrite, SG_EXIT, type LabMap } from './lab-env';
import { corosyncConf } from './corosync-conf';
import { fenceScsiKey } from '../../lib/fencing/fence-keys';

const LUNS = [5, 6, 7, 8];
const ROOT = join(__dirname, '..', '..');
const AGENT = join(ROOT, 'dist', 'cli', 'fence-scsi-pr.js');
const SCRATCH = join(ROOT, '.lab', `fence-agent-${process.pid}`);
const COROSYNC_CONF = join(SCRATCH, 'corosync.conf');
const LOGFILE = join(SCRATCH, 'fence_scsi_pr.log');
const CLUSTER = 'labcluster';
const NODES = [1, 2, 3];
const name = (n: number) => `node${n}`;
const KEY = Object.fromEntries(NODES.map((n) => [n, fenceScsiKey({ mode: 'hash', clusterName: CLUSTER, nodeName: name(n) })])) as Record<number, bigint>;
const hex = (k: bigint) => '0x' + k.toString(16);

interface AgentRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** One agent process, parameters on stdin (no arguments), as node `node`. */
async function agent(node: number, params: Record<string, string>, argv: string[] = []): Promise<AgentRun> {
  const input = Object.entries(params).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
  const t0 = Date.now();
  const r = await run(process.execPath, [AGENT, ...argv], {
    input: argv.length ? '' : input,
    timeoutMs: 120_000,
    env: { ...process.env, SCSI_PR_STATE_DIR: join(SCRATCH, `state-${name(node)}`) },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

const show = (r: AgentRun) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** The sd nodes of `node` for our LUNs, on both paths. */
function devicesOf(map: LabMap, node: number): string[] {
  return map.devices.filter((d) => d.node === node && LUNS.includes(d.lun)).map((d) => d.sd);
}
function sgOf(map: LabMap, node: number, lun: number, path = 0): string {
  const d = map.devices.find((x) => x.node === node && x.lun === lun && x.path === path);
  if (!d) throw new Error(`no device for node ${node} LUN ${lun} path ${path}`);
  return d.sg;
}

/** Parameters every request carries (what the stonith resource would hold), plus the state dir per node. */
const COMMON = { corosync_conf: COROSYNC_CONF, logfile: LOGFILE };

/** Rebuild dist/ when a lib/ source is newer (the lab command runs tsc first; this guards a stale build). */
async function ensureBuilt(): Promise<void> {
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(join(dir, e.name)) : e.name.endsWith('.ts') ? statSync(join(dir, e.name)).mtimeMs : 0), 0);
  if (existsSync(AGENT) && statSync(AGENT).mtimeMs >= newest(join(ROOT, 'lib'))) return;
  const r = await run('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, timeoutMs: 600_000 });
  if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}\n${r.stderr}`);
}

describe('fence_scsi_pr as Pacemaker calls it', () => {
  let map: LabMap;
  beforeAll(async () => {
    map = labMap();
    await labTools.resetReservations(LUNS);
    await ensureBuilt();
    rmSync(SCRATCH, { recursive: true, force: true });
    mkdirSync(SCRATCH, { recursive: true });
    writeFileSync(COROSYNC_CONF, corosyncConf(CLUSTER, NODES));
  });
  afterAll(async () => {
    await labTools.resetReservations(LUNS);
    rmSync(SCRATCH, { recursive: true, force: true });
  });

  it('metadata: resource-agent XML, on is on_target/automatic', async () => {
    const r = await agent(1, { action: 'metadata' });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^<\?xml version="1.0" \?>\n<resource-agent name="fence_scsi_pr"/);
    expect(r.stdout).toContain('<action name="on" on_target="1" automatic="1"/>');
    expect(r.stdout).toContain('<parameter name="devices"');
    expect(r.stderr).toBe('');
  });

  it('validate-all: accepts the configuration without touching the devices, rejects bad parameters', async () => {
    const ok = await agent(1, { action: 'validate-all', devices: devicesOf(map, 1).join(','), ...COMMON });
    expect(ok.code, show(ok)).toBe(0);
    expect(ok.stdout).toMatch(/^Valid: 8 devices, 3 nodes with distinct keys/);
    expect(await sgPersistKeys(sgOf(map, 1, 5))).toEqual([]); // nothing registered by validating

    const bad = await agent(1, { action: 'validate-all', devices: '/dev/sdb9999,/dev/nonexistent', key: 'not-a-key', key_value: 'crc', ...COMMON });
    expect(bad.code, show(bad)).toBe(1);
    expect(bad.stderr).toMatch(/Failed: .*\/dev\/nonexistent.*no such device/);
    expect(bad.stderr).toMatch(/Failed: key "not-a-key" is not a hex string/);
    expect(bad.stderr).toMatch(/Failed: key_value has to be 'hash', 'id' or 'cluster-id'/);
  });

  it('on: each node unfences itself (register on both paths of every LUN, type 5 reservation)', async () => {
    for (const n of NODES) {
      // Pacemaker sends the target as nodename and port; on runs on the target itself.
      const r = await agent(n, { action: 'on', nodename: name(n), nodeid: String(n), port: name(n), devices: devicesOf(map, n).join(','), ...COMMON });
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toBe(`Success: Unfenced ${name(n)}: key ${hex(KEY[n])} registered on 4 devices\n`);
      const state = JSON.parse(readFileSync(join(SCRATCH, `state-${name(n)}`, 'fence_scsi_pr.state'), 'utf8'));
      expect(state).toMatchObject({ version: 1, node: name(n), key: hex(KEY[n]), devices: devicesOf(map, n), aptpl: false });
    }
    for (const lun of LUNS) {
      const keys = await sgPersistKeys(sgOf(map, 2, lun));
      expect(keys.sort(), `LUN ${lun}`).toEqual(NODES.flatMap((n) => [hex(KEY[n]), hex(KEY[n])]).sort()); // 3 nodes x 2 paths
      expect(await sgPersistReservation(sgOf(map, 2, lun))).toEqual({ key: hex(KEY[1]), type: 5 });
    }
    for (const n of NODES) expect(await sgRawWrite(sgOf(map, n, 5)), `node ${n} writes`).toBe(SG_EXIT.OK);
  });

  it('status and monitor read the devices: every node is ON, every monitor passes', async () => {
    for (const n of NODES) {
      const st = await agent(1, { action: 'status', nodename: name(n), port: name(n), ...COMMON });
      expect(st.code, show(st)).toBe(0);
      expect(st.stdout).toBe('Status: ON\n');
      const mon = await agent(n, { action: 'monitor', ...COMMON });
      expect(mon.code, show(mon)).toBe(0);
      expect(mon.stdout).toBe('');
    }
  });

  it('list: every node of the nodelist with its key', async () => {
    const r = await agent(2, { action: 'list', ...COMMON });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe(NODES.map((n) => `${name(n)},${hex(KEY[n])}\n`).join(''));
  });

  it('off: node 1 fences node 3 (our key and devices from node 1\'s state file)', async () => {
    const r = await agent(1, { action: 'off', nodename: name(3), nodeid: '3', port: name(3), ...COMMON });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe(`Success: Fenced node3: key ${hex(KEY[3])} removed from 4 devices (verified)\n`);
    for (const lun of LUNS) {
      const keys = await sgPersistKeys(sgOf(map, 1, lun));
      expect(keys, `LUN ${lun}`).not.toContain(hex(KEY[3]));
      expect(keys.filter((k) => k === hex(KEY[1])), `LUN ${lun}: node 1 on both paths`).toHaveLength(2);
      expect(keys.filter((k) => k === hex(KEY[2])), `LUN ${lun}: node 2 on both paths`).toHaveLength(2);
      expect((await sgPersistReservation(sgOf(map, 1, lun)))?.type).toBe(5);
    }
  });

  it('status of node 3 is OFF (exit 2); its monitor fails; its WRITEs get RESERVATION CONFLICT', async () => {
    const st = await agent(2, { action: 'status', nodename: name(3), port: name(3), ...COMMON });
    expect(st.code, show(st)).toBe(2);
    expect(st.stdout).toBe('Status: OFF\n');

    const mon = await agent(3, { action: 'monitor', ...COMMON });
    expect(mon.code, show(mon)).toBe(1);
    expect(mon.stderr).toMatch(new RegExp(`Failed: .*this node's key ${hex(KEY[3])} is not registered`));

    for (const lun of LUNS) {
      expect(await sgRawWrite(sgOf(map, 3, lun, 0)), `node 3 LUN ${lun} path 0`).toBe(SG_EXIT.RESERVATION_CONFLICT);
      expect(await sgRawWrite(sgOf(map, 3, lun, 1)), `node 3 LUN ${lun} path 1`).toBe(SG_EXIT.RESERVATION_CONFLICT);
      expect(await sgRawWrite(sgOf(map, 1, lun)), `node 1 LUN ${lun}`).toBe(SG_EXIT.OK);
      expect(await sgRawWrite(sgOf(map, 2, lun)), `node 2 LUN ${lun}`).toBe(SG_EXIT.OK);
    }
  });

  it('the fenced node cannot fence back: off from node 3 fails (lost) and changes nothing', async () => {
    const before = await Promise.all(LUNS.map((lun) => sgPersistKeys(sgOf(map, 1, lun))));
    const r = await agent(3, { action: 'off', nodename: name(1), port: name(1), ...COMMON });
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`Failed: this node's key ${hex(KEY[3])} is no longer registered.*another node fenced this node.*node1 was NOT fenced`));
    expect(r.stdout).toBe('');
    expect(await Promise.all(LUNS.map((lun) => sgPersistKeys(sgOf(map, 1, lun))))).toEqual(before);
  });

  it('off again from node 2 (command line this time): Already OFF', async () => {
    const r = await agent(2, {}, ['-o', 'off', '-n', name(3), `--corosync-conf=${COROSYNC_CONF}`]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^Success: Already OFF: node3/);
  });

  it('bad input: exit 1 with a clear message, nothing sent', async () => {
    const before = await sgPersistKeys(sgOf(map, 1, 5));
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ action: 'explode', ...COMMON }, /Failed: Unrecognised action 'explode'/],
      [{ action: 'reboot', port: name(2), ...COMMON }, /Failed: Unrecognised action 'reboot'/],
      [{ action: 'off', port: 'node9', ...COMMON }, /Failed: node 'node9' is not in the nodes map nor in the corosync nodelist/],
      [{ action: 'off', ...COMMON }, /Failed: off needs the node to fence/],
      [{ action: 'off', port: name(1), ...COMMON }, /Failed: keys cannot be same .* You can not fence yourself/],
      [{ action: 'off', port: name(2), devices: '/dev/nonexistent', ...COMMON }, /Failed: node2 .* is fenced on 0 of 1 device; not on: \/dev\/nonexistent/],
      [{ action: 'status', port: name(2), command_timeout: 'soon', ...COMMON }, /Failed: The value you have entered for --command-timeout is not a valid time in seconds/],
    ];
    for (const [params, re] of cases) {
      const r = await agent(1, params);
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr, show(r)).toMatch(re);
    }
    const unknown = await agent(1, { action: 'status', port: name(2), pcmk_host_list: 'node1 node2 node3', frobnicate: 'yes', ...COMMON });
    expect(unknown.code, show(unknown)).toBe(0);
    expect(unknown.stderr).toMatch(/WARNING: Parse error: Ignoring unknown option 'frobnicate=yes'/);
    expect(await sgPersistKeys(sgOf(map, 1, 5))).toEqual(before);
  });

  it('node 3 unfences again after its "reboot" and writes again', async () => {
    const r = await agent(3, { action: 'on', nodename: name(3), port: name(3), ...COMMON }); // devices from its state file
    expect(r.code, show(r)).toBe(0);
    for (const lun of LUNS) expect(await sgRawWrite(sgOf(map, 3, lun)), `node 3 LUN ${lun}`).toBe(SG_EXIT.OK);
    const st = await agent(1, { action: 'status', port: name(3), ...COMMON });
    expect(st.code, show(st)).toBe(0);
  });

  it('logfile: timestamped lines from every call, appended', () => {
    const lines = readFileSync(LOGFILE, 'utf8').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(20);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z fence_scsi_pr\[\d+\] \S+ (DEBUG|INFO|WARNING|ERROR): /);
    expect(lines.some((l) => / off INFO: Success: Fenced node3/.test(l))).toBe(true);
    expect(lines.some((l) => / off ERROR: Failed: this node's key/.test(l))).toBe(true);
  });
});
