/**
 * fence_scsi_pr under the real cluster manager: corosync 3 + Pacemaker 2.1
 * (Debian's packages) inside the lab guest, with fence_scsi_pr configured as a
 * stonith resource by pcs, exactly as the README tells operators to, and
 * driven by stonith_admin through Pacemaker's fencer (pacemaker-fenced), which
 * reads the agent's metadata, decides which device fences which node
 * (pcmk_host_list), passes nodename/port/plug/nodeid and runs "on" for
 * unfencing. Every outcome is cross-checked with sg_persist and sg_raw WRITEs
 * (independent of scsi-pr) and with the fencer's own history.
 *
 * The cluster (scripts/lab/guest-pacemaker.sh): one running member, node1 (the
 * guest); node2 and node3 are the lab's other simulated initiators, in the
 * corosync nodelist but never members. They unfence themselves with the agent
 * (as their own Pacemaker would, on themselves). Startup fencing is off: the
 * two nodes never join, and with it on the cluster would try to fence them
 * before it had unfenced node1 (observed: every attempt fails, correctly,
 * because node1 is not registered yet, and the transition never gets to
 * node1's unfencing).
 *
 * LUNs 9–11, both paths of each in the device list (6 sd nodes -> 3 LUs). The
 * failing fence takes both portals down rather than unmapping the LUNs: LIO
 * refuses to unmap a LUN once some PR operations named its ACLs (SPEC_I_PT, and
 * something in the full suite on LUN 9 too), and it drops registrations with
 * the mapping, while a dropped session keeps them.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dev, labMap, labTools, run, sgPersistKeys, sgPersistReservation, sgRawWrite, SG_EXIT, type LabMap, type RunResult } from './lab-env';
import { fenceScsiKey } from '../../lib/fencing/fence-keys';

const LUNS = [9, 10, 11];
const ROOT = join(__dirname, '..', '..');
const AGENT = join(ROOT, 'dist', 'cli', 'fence-scsi-pr.js');
const PACEMAKER = join(ROOT, 'scripts', 'lab', 'guest-pacemaker.sh');
const SCRATCH = join(ROOT, '.lab', `pacemaker-${process.pid}`);
/** The agent's own log (its `logfile` parameter in the stonith resource): INFO lines and results too. */
const AGENT_LOG = '/var/log/cluster/fence_scsi_pr.log';
const CLUSTER = 'scsiprlab'; // totem.cluster_name in guest-pacemaker.sh
const NODES = [1, 2, 3];
const name = (n: number) => `node${n}`;
const hex = (k: bigint) => '0x' + k.toString(16);
const KEY = Object.fromEntries(NODES.map((n) => [n, hex(fenceScsiKey({ mode: 'hash', clusterName: CLUSTER, nodeName: name(n) }))])) as Record<number, string>;

const show = (r: RunResult) => `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** A cluster command (pcs, stonith_admin, crm_*): async, bounded. */
function cluster(cmd: string, args: string[], timeoutMs = 180_000): Promise<RunResult> {
  return run(cmd, args, { timeoutMs, env: { ...process.env, SCSI_PR_STATE_DIR: '/run/lab-pacemaker/state' } });
}

/** One fencer history event, from `stonith_admin --history '*' --verbose --output-as xml`. */
interface FenceEvent {
  action: string;
  target: string;
  client: string;
  origin: string;
  status: string;
  delegate?: string;
  completed?: string;
}

async function history(): Promise<FenceEvent[]> {
  // --verbose: every event (without it, only the latest per target and the failures).
  const r = await cluster('stonith_admin', ['--history', '*', '--verbose', '--output-as', 'xml']);
  expect(r.status, show(r)).toBe(0);
  return [...r.stdout.matchAll(/<fence_event\b([^>]*)\/?>/g)].map((m) => {
    const attrs = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]));
    return attrs as unknown as FenceEvent;
  });
}

/** The fencer's history as stonith_admin prints it for people (kept for the report). */
async function historyLines(): Promise<string[]> {
  const r = await cluster('stonith_admin', ['--history', '*', '--verbose']);
  return r.stdout.split('\n').filter((l) => / of node\d /.test(l));
}

/** The sd nodes of `node` for our LUNs, on both paths. */
function devicesOf(map: LabMap, node: number): string[] {
  return map.devices.filter((d) => d.node === node && LUNS.includes(d.lun)).map((d) => d.sd);
}
const sgOf = (map: LabMap, node: number, lun: number, path = 0): string => dev(map, node, lun, path).sg;

/** A node unfencing itself with the agent, as its own Pacemaker would run "on" on it. */
async function selfUnfence(map: LabMap, n: number): Promise<void> {
  const input = [`action=on`, `nodename=${name(n)}`, `port=${name(n)}`, `devices=${devicesOf(map, n).join(',')}`, ''].join('\n');
  const r = await run(process.execPath, [AGENT], { input, timeoutMs: 120_000, env: { ...process.env, SCSI_PR_STATE_DIR: join(SCRATCH, `state-${name(n)}`) } });
  expect(r.status, show(r)).toBe(0);
}

/** How often each node's key is registered on `lun` (sg_persist through node 1's path 0). */
async function registrations(map: LabMap, lun: number): Promise<Record<number, number>> {
  const keys = await sgPersistKeys(sgOf(map, 1, lun));
  return Object.fromEntries(NODES.map((n) => [n, keys.filter((k) => k === KEY[n]).length]));
}

/** Poll until `ok(crm_mon -1 output)` (the cluster acts on its own schedule); fails with the last output after `timeoutMs`. */
async function waitForCluster(what: string, ok: (mon: string) => boolean, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let mon = '';
  while (Date.now() < deadline) {
    mon = (await cluster('crm_mon', ['-1'])).stdout;
    if (ok(mon)) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`the cluster did not get to: ${what} in ${timeoutMs} ms; crm_mon:\n${mon}`);
}

/** Size of the agent's log now (where the next lines will start). */
function agentLogSize(): number {
  return existsSync(AGENT_LOG) ? statSync(AGENT_LOG).size : 0;
}
/** The agent's log lines written since `from` bytes. */
function agentLog(from: number): string[] {
  return readFileSync(AGENT_LOG, 'utf8').slice(from).split('\n').filter((l) => l.length > 0);
}

describe('Pacemaker fences through fence_scsi_pr', () => {
  let map: LabMap;
  const report: string[] = [];

  beforeAll(async () => {
    map = labMap();
    expect(existsSync(AGENT), `${AGENT} (npm run build)`).toBe(true);
    await labTools.resetReservations(LUNS);
    rmSync(SCRATCH, { recursive: true, force: true });
    mkdirSync(SCRATCH, { recursive: true });
    const t0 = Date.now();
    const r = await run('bash', [PACEMAKER, 'start'], { timeoutMs: 300_000 });
    if (r.status !== 0) throw new Error(`the lab's Pacemaker did not start:\n${show(r)}`);
    report.push(`corosync + Pacemaker up in ${Date.now() - t0} ms`);
  }, 330_000);

  afterAll(async () => {
    await labTools.portalUp(1);
    await labTools.portalUp(2);
    report.push(...(await historyLines().catch(() => [])));
    await run('bash', [PACEMAKER, 'stop'], { timeoutMs: 120_000 });
    await labTools.resetReservations(LUNS);
    rmSync(SCRATCH, { recursive: true, force: true });
    process.stdout.write(`\n[pacemaker] ${report.join('\n[pacemaker] ')}\n`);
  }, 200_000);

  it('the fencer reads the agent: stonith_admin --list-installed and --metadata', async () => {
    const installed = await cluster('stonith_admin', ['--list-installed']);
    expect(installed.status, show(installed)).toBe(0);
    expect(installed.stdout.split('\n')).toContain('fence_scsi_pr');
    const meta = await cluster('stonith_admin', ['--metadata', '--agent', 'fence_scsi_pr']);
    expect(meta.status, show(meta)).toBe(0);
    expect(meta.stdout).toContain('<resource-agent name="fence_scsi_pr"');
    expect(meta.stdout).toContain('<action name="on" on_target="1" automatic="1"/>');
  });

  it('pcs configures the stonith resource (the README commands); the cluster unfences node1 by itself; crm_verify accepts it', async () => {
    const t0 = Date.now();
    for (const args of [
      ['property', 'set', 'startup-fencing=false'],
      ['stonith', 'create', 'scsi-fence', 'fence_scsi_pr', `devices=${devicesOf(map, 1).join(',')}`, 'pcmk_host_list=node1 node2 node3', `logfile=${AGENT_LOG}`, 'meta', 'provides=unfencing'],
      // A resource that needs unfencing: the cluster must unfence node1 before it starts it.
      ['resource', 'create', 'dummy', 'ocf:pacemaker:Dummy'],
    ]) {
      const r = await cluster('pcs', args);
      expect(r.status, `pcs ${args.join(' ')}\n${show(r)}`).toBe(0);
    }
    await waitForCluster('scsi-fence and dummy started on node1', (mon) => /scsi-fence\s+\(stonith:fence_scsi_pr\):\s+Started node1/.test(mon) && /dummy\s+\(ocf:pacemaker:Dummy\):\s+Started node1/.test(mon));
    report.push(`pcs (3 commands) until the cluster had unfenced node1 and started both resources: ${Date.now() - t0} ms`);

    const registered = await cluster('stonith_admin', ['--list-registered']);
    expect(registered.stdout).toContain('scsi-fence');
    const can = await cluster('stonith_admin', ['--list', 'node3']);
    expect(can.stdout, show(can)).toContain('scsi-fence');

    // The cluster ran "on" for node1 itself (client pacemaker-controld), and it registered node1's key on both paths.
    const ev = await history();
    expect(ev.find((e) => e.action === 'on' && e.target === 'node1' && e.status === 'success' && e.client.startsWith('pacemaker-controld')), JSON.stringify(ev)).toBeDefined();
    for (const lun of LUNS) {
      expect(await registrations(map, lun), `LUN ${lun}`).toEqual({ 1: 2, 2: 0, 3: 0 });
      expect(await sgPersistReservation(sgOf(map, 1, lun)), `LUN ${lun}`).toEqual({ key: KEY[1], type: 5 });
    }

    const verify = await cluster('crm_verify', ['--live-check']);
    expect(verify.status, show(verify)).toBe(0);
  });

  it('stonith_admin --unfence node1 runs "on" again through the fencer (idempotent)', async () => {
    const r = await cluster('stonith_admin', ['--unfence', 'node1', '--timeout', '120']);
    expect(r.status, show(r)).toBe(0);
    const ev = await history();
    expect(ev.filter((e) => e.action === 'on' && e.target === 'node1' && e.status === 'success' && e.client.startsWith('stonith_admin'))).toHaveLength(1);
    for (const lun of LUNS) expect(await registrations(map, lun), `LUN ${lun}`).toEqual({ 1: 2, 2: 0, 3: 0 });
  });

  it('stonith_admin --fence node2: node2\'s key leaves every LUN, its WRITEs get RESERVATION CONFLICT, the history says success', async () => {
    await selfUnfence(map, 2);
    await selfUnfence(map, 3);
    for (const lun of LUNS) expect(await registrations(map, lun), `LUN ${lun}`).toEqual({ 1: 2, 2: 2, 3: 2 });
    for (const n of NODES) expect(await sgRawWrite(sgOf(map, n, LUNS[0]!)), `node ${n} writes before`).toBe(SG_EXIT.OK);

    const t0 = Date.now();
    const r = await cluster('stonith_admin', ['--fence', 'node2', '--timeout', '120']);
    const ms = Date.now() - t0;
    expect(r.status, show(r)).toBe(0);
    report.push(`stonith_admin --fence node2: exit 0 in ${ms} ms`);

    for (const lun of LUNS) {
      expect(await registrations(map, lun), `LUN ${lun}`).toEqual({ 1: 2, 2: 0, 3: 2 });
      expect(await sgPersistReservation(sgOf(map, 1, lun)), `LUN ${lun}`).toEqual({ key: KEY[1], type: 5 });
      for (const path of [0, 1]) expect(await sgRawWrite(sgOf(map, 2, lun, path)), `node 2 LUN ${lun} path ${path}`).toBe(SG_EXIT.RESERVATION_CONFLICT);
      expect(await sgRawWrite(sgOf(map, 3, lun)), `node 3 LUN ${lun}`).toBe(SG_EXIT.OK);
      expect(await sgRawWrite(sgOf(map, 1, lun)), `node 1 LUN ${lun}`).toBe(SG_EXIT.OK);
    }
    const ev = await history();
    expect(ev.filter((e) => e.target === 'node2' && e.action === 'off' && e.status === 'success' && e.delegate === 'node1')).toHaveLength(1);
  });

  it('stonith_admin --reboot node3 (the cluster\'s default stonith-action): off only — node1 never registers node3\'s key', async () => {
    const logFrom = agentLogSize();
    const t0 = Date.now();
    const r = await cluster('stonith_admin', ['--reboot', 'node3', '--timeout', '120']);
    const ms = Date.now() - t0;
    expect(r.status, show(r)).toBe(0);
    report.push(`stonith_admin --reboot node3: exit 0 in ${ms} ms`);
    for (const lun of LUNS) {
      expect(await registrations(map, lun), `LUN ${lun}`).toEqual({ 1: 2, 2: 0, 3: 0 });
      expect(await sgRawWrite(sgOf(map, 3, lun)), `node 3 LUN ${lun}`).toBe(SG_EXIT.RESERVATION_CONFLICT);
    }
    const ev = await history();
    expect(ev.filter((e) => e.target === 'node3' && e.action === 'reboot' && e.status === 'success')).toHaveLength(1);
    // The fencer ran the agent's off for node3 and no on (the agent's info lines, as the fencer logged them).
    const lines = agentLog(logFrom);
    expect(lines.filter((l) => /\bfencing node3 \(key /.test(l)), lines.join('\n')).toHaveLength(1);
    expect(lines.filter((l) => /unfencing node3/.test(l)), lines.join('\n')).toEqual([]);
  });

  it('a fence that cannot be verified (both portals down: no LU answers) is recorded as a failure, the agent says why, and the key stays', async () => {
    await selfUnfence(map, 2);
    for (const lun of LUNS) expect(await registrations(map, lun), `LUN ${lun}`).toEqual({ 1: 2, 2: 2, 3: 0 });
    const logFrom = agentLogSize();
    let r: RunResult;
    const t0 = Date.now();
    await labTools.portalDown(1);
    await labTools.portalDown(2);
    try {
      r = await cluster('stonith_admin', ['--fence', 'node2', '--timeout', '120']);
    } finally {
      await labTools.portalUp(1);
      await labTools.portalUp(2);
    }
    report.push(`stonith_admin --fence node2 with both portals down: exit ${r.status} in ${Date.now() - t0} ms: ${r.stderr.trim().split('\n').pop()}`);
    expect(r.status, show(r)).not.toBe(0);
    const ev = await history();
    expect(ev.filter((e) => e.target === 'node2' && e.action === 'off' && e.status === 'failed'), JSON.stringify(ev)).toHaveLength(1);
    expect(ev.filter((e) => e.target === 'node2' && e.action === 'off' && e.status === 'success')).toHaveLength(1); // only the earlier one
    // The fencer ran the agent (1 + its retries, as it decides); each run failed on every device and claimed nothing.
    const lines = agentLog(logFrom);
    const failures = lines.filter((l) => /Failed: node2 \(key 0x[0-9a-f]+\) is fenced on 0 of 3 devices/.test(l));
    report.push(`the agent's log: ${failures.length} run(s), each: ${failures[0] ?? lines.join(' | ')}`);
    expect(failures.length, lines.join('\n')).toBeGreaterThanOrEqual(1);
    expect(lines.filter((l) => /Success/.test(l))).toEqual([]);
    // The sessions come back (iscsid reconnects); nothing was fenced: node2 is still registered on every path and writes.
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        await sgPersistKeys(sgOf(map, 1, LUNS[0]!, 1));
        await sgPersistKeys(sgOf(map, 2, LUNS[0]!, 1));
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((res) => setTimeout(res, 1000));
      }
    }
    for (const lun of LUNS) expect(await registrations(map, lun), `LUN ${lun}`).toEqual({ 1: 2, 2: 2, 3: 0 });
    expect(await sgRawWrite(sgOf(map, 2, LUNS[0]!)), 'node 2 still writes').toBe(SG_EXIT.OK);
  });
});
