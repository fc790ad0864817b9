/**
 * fence_scsi_pr and the watchdog check (fence_scsi_pr_check) on NVMe
 * namespaces, in the NVMe lab: the compiled agent driven as Pacemaker's fencer
 * drives it (one process per action, parameters as name=value lines on stdin),
 * with fence_scsi-compatible hash keys from a corosync.conf written for the
 * test. Node 2 names its namespaces by their generic char devices
 * (/dev/ngXnY), the others by their block devices. Every step is
 * cross-checked with nvme-cli (`nvme resv-report --eds`), and fenced writes
 * are real NVMe Writes refused by nvmet.
 *
 * The agent takes a Write Exclusive – Registrants Only reservation (SPC type
 * 5, as fence_scsi does; NVMe RTYPE 3). Each node has its own state directory
 * (SCSI_PR_STATE_DIR) under .lab/, as each cluster node has its own
 * /var/lib/scsi-pr.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corosyncConf } from '../lab/corosync-conf';
import { fenceScsiKey } from '../../lib/fencing/fence-keys';
import { nvmeLabMap, nvmeReport, nvmeWrite, wipeNamespace, type NvmeLabMap } from './nvme-lab-env';

const ROOT = join(__dirname, '..', '..');
const AGENT = join(ROOT, 'dist', 'cli', 'fence-scsi-pr.js');
const CHECK = join(ROOT, 'dist', 'cli', 'fence-scsi-pr-check.js');
const SCRATCH = join(ROOT, '.lab', `nvme-fence-agent-${process.pid}`);
const COROSYNC_CONF = join(SCRATCH, 'corosync.conf');
const LOGFILE = join(SCRATCH, 'fence_scsi_pr.log');
const CLUSTER = 'nvmecluster';
const NODES = [1, 2, 3];
/** Lab namespaces the agent fences (0 is left to the other files). */
const NSS = [1, 2, 3];
/** NVMe RTYPE of Write Exclusive – Registrants Only (SPC type 5, the reservation fence_scsi and the agent take). */
const RTYPE_WE_RO = 3;
const name = (n: number) => `node${n}`;
const KEY = Object.fromEntries(NODES.map((n) => [n, fenceScsiKey({ mode: 'hash', clusterName: CLUSTER, nodeName: name(n) })])) as Record<number, bigint>;
const hex = (k: bigint) => '0x' + k.toString(16);
const COMMON = { corosync_conf: COROSYNC_CONF, logfile: LOGFILE };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
const show = (r: Run) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** One Node.js process of a bin as node `node` (its own state dir), `input` on stdin; never blocks the worker. */
function bin(node: number, file: string, argv: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...argv], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, SCSI_PR_STATE_DIR: join(SCRATCH, `state-${name(node)}`) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** The agent with parameters on stdin (no arguments), as Pacemaker calls it. */
function agent(node: number, params: Record<string, string>): Promise<Run> {
  return bin(node, AGENT, [], Object.entries(params).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
}

let map: NvmeLabMap;
/** Node `node`'s names for the namespaces: node 2 the generic char devices, the others the block devices. */
function devicesOf(node: number): string[] {
  return NSS.map((i) => {
    const n = map.nodes[node - 1]!.namespaces.find((x) => x.ns === i)!;
    return node === 2 ? n.generic : n.block;
  });
}
const blockOf = (node: number, nsIndex: number) => map.nodes[node - 1]!.namespaces.find((x) => x.ns === nsIndex)!.block;
/** Registered keys of a namespace as nvme-cli reports them, sorted. */
async function keysOf(nsIndex: number): Promise<bigint[]> {
  return (await nvmeReport(blockOf(1, nsIndex))).registrants.map((r) => r.key).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
const sorted = (keys: bigint[]) => [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('fence_scsi_pr and fence_scsi_pr_check on NVMe namespaces (nvmet)', () => {
  beforeAll(async () => {
    map = nvmeLabMap();
    expect(map.nodes.length).toBeGreaterThanOrEqual(3);
    for (const i of NSS) await wipeNamespace(blockOf(1, i));
    rmSync(SCRATCH, { recursive: true, force: true });
    mkdirSync(SCRATCH, { recursive: true });
    writeFileSync(COROSYNC_CONF, corosyncConf(CLUSTER, NODES));
  });
  afterAll(async () => {
    for (const i of NSS) await wipeNamespace(blockOf(1, i));
    rmSync(SCRATCH, { recursive: true, force: true });
  });

  it('on: each node unfences itself; nvme-cli sees the three keys and node 1’s Write Exclusive – Registrants Only reservation', async () => {
    for (const n of NODES) {
      const r = await agent(n, { action: 'on', nodename: name(n), nodeid: String(n), port: name(n), devices: devicesOf(n).join(','), ...COMMON });
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toBe(`Success: Unfenced ${name(n)}: key ${hex(KEY[n]!)} registered on ${NSS.length} devices\n`);
      const state = JSON.parse(readFileSync(join(SCRATCH, `state-${name(n)}`, 'fence_scsi_pr.state'), 'utf8'));
      expect(state).toMatchObject({ node: name(n), key: hex(KEY[n]!), devices: devicesOf(n) });
    }
    for (const i of NSS) {
      const rep = await nvmeReport(blockOf(3, i));
      expect(rep.rtype, `namespace ${i}`).toBe(RTYPE_WE_RO);
      expect(sorted(rep.registrants.map((g) => g.key)), `namespace ${i}`).toEqual(sorted(NODES.map((n) => KEY[n]!)));
      expect(rep.registrants.filter((g) => g.holds).map((g) => g.key), `namespace ${i}: node 1, first to unfence, holds it`).toEqual([KEY[1]]);
    }
    for (const n of NODES) expect(await nvmeWrite(blockOf(n, NSS[0]!)), `node ${n} writes`).toBe('ok');
  });

  // One node of the three: each is a Node.js start under software emulation (seconds each).
  it('status, monitor and the watchdog check of node 3: ON, registered, check exit 0', async () => {
    for (const n of [3]) {
      const st = await agent(1, { action: 'status', nodename: name(n), port: name(n), ...COMMON });
      expect(st.code, show(st)).toBe(0);
      expect(st.stdout).toBe('Status: ON\n');
      const mon = await agent(n, { action: 'monitor', ...COMMON });
      expect(mon.code, show(mon)).toBe(0);
      const check = await bin(n, CHECK, ['test', '--retries', '0']);
      expect(check.code, show(check)).toBe(0);
    }
  });

  it('off: node 1 fences node 3; its key is gone from every namespace, verified; its writes are refused, the others write', async () => {
    const before = await Promise.all(NSS.map((i) => nvmeReport(blockOf(1, i))));
    const r = await agent(1, { action: 'off', nodename: name(3), nodeid: '3', port: name(3), ...COMMON });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe(`Success: Fenced node3: key ${hex(KEY[3]!)} removed from ${NSS.length} devices (verified)\n`);
    for (const [j, i] of NSS.entries()) {
      const rep = await nvmeReport(blockOf(1, i));
      expect(sorted(rep.registrants.map((g) => g.key)), `namespace ${i}`).toEqual(sorted([KEY[1]!, KEY[2]!]));
      expect(rep.rtype, `namespace ${i}`).toBe(RTYPE_WE_RO);
      expect(rep.generation, `namespace ${i}: the generation advanced`).toBeGreaterThan(before[j]!.generation);
      expect(await nvmeWrite(blockOf(3, i)), `node 3 namespace ${i}`).toBe('reservation-conflict');
      expect(await nvmeWrite(blockOf(1, i)), `node 1 namespace ${i}`).toBe('ok');
      expect(await nvmeWrite(blockOf(2, i)), `node 2 namespace ${i}`).toBe('ok');
    }
  });

  it('node 3 is OFF (exit 2), its monitor fails, and its watchdog check exits 1; node 1\'s check still exits 0', async () => {
    const st = await agent(2, { action: 'status', nodename: name(3), port: name(3), ...COMMON });
    expect(st.code, show(st)).toBe(2);
    expect(st.stdout).toBe('Status: OFF\n');
    const mon = await agent(3, { action: 'monitor', ...COMMON });
    expect(mon.code, show(mon)).toBe(1);
    expect(mon.stderr).toMatch(new RegExp(`Failed: .*this node's key ${hex(KEY[3]!)} is not registered`));
    const fenced = await bin(3, CHECK, ['test', '--retries', '0']);
    expect(fenced.code, show(fenced)).toBe(1);
    const alive = await bin(1, CHECK, ['test', '--retries', '0']);
    expect(alive.code, show(alive)).toBe(0);
  });

  it('the fenced node cannot fence back: off from node 3 fails (lost) and changes nothing', async () => {
    const before = await Promise.all(NSS.map(keysOf));
    const r = await agent(3, { action: 'off', nodename: name(1), port: name(1), ...COMMON });
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`Failed: this node's key ${hex(KEY[3]!)} is no longer registered.*node1 was NOT fenced`));
    expect(await Promise.all(NSS.map(keysOf))).toEqual(before);
  });

  it('node 3 unfences again (devices from its state file), writes again, and its check exits 0', async () => {
    const r = await agent(3, { action: 'on', nodename: name(3), port: name(3), ...COMMON });
    expect(r.code, show(r)).toBe(0);
    for (const i of NSS) {
      expect(await keysOf(i), `namespace ${i}`).toEqual(sorted(NODES.map((n) => KEY[n]!)));
      expect(await nvmeWrite(blockOf(3, i)), `node 3 namespace ${i}`).toBe('ok');
    }
    const check = await bin(3, CHECK, ['test', '--retries', '0']);
    expect(check.code, show(check)).toBe(0);
  });
});
