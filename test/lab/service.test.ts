/**
 * `scsi-pr service start|stop|status` (and lib/service.ts) against real LVM
 * volume groups on the lab's LUNs, cross-checked with sg_persist.
 *
 * How LVM is made to work in the UML guest (lvm2 2.03, no clvmd any more):
 * - a *shared* VG (vg_attr position 6 = 's') needs lvmlockd. lvmlockd runs in
 *   its test mode (`lvmlockd --test --gl-type dlm`: it grants every lock without
 *   a lock manager), so `vgcreate --shared --locktype dlm` works without
 *   corosync/dlm_controld. (sanlock would need a 256 MiB internal "lvmlock" LV,
 *   more than the lab's 8 MiB LUNs hold.)
 * - every node sees every LUN in the one guest kernel, so LVM would find each PV
 *   N×P times and drop them all as duplicates: each simulated node gets its own
 *   LVM configuration (LVM_SYSTEM_DIR) whose filter accepts only its devices.
 * - node 1 uses dm-multipath maps (built with dmsetup over its two paths, uuid
 *   `mpath-…`), so its PVs are /dev/mapper names that must be expanded to paths;
 *   nodes 2 and 3 use their path-0 /dev/sdX.
 * - clustered (clvmd, 'c') VGs cannot be created by lvm2 2.03 at all: that case
 *   runs with a fake `vgs` (the discovery runner) naming real lab devices.
 *
 * LUNs 1–4 are shared with other lab files: PR state is wiped before and after,
 * and the LVM labels, dm maps, lvmlockd and the dummy interface are removed.
 *
 * Runs against both lab targets (`--target lio|tgt`). tgt 1.0.85 has no READ
 * FULL STATUS (ILLEGAL REQUEST, INVALID FIELD IN CDB): there status and stop read
 * READ KEYS + READ RESERVATION, and every LU's report says so (`source`).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labMap, labTarget, labTools, dev, sgPersistKeys, sgPersistReservation, type LabMap, type LabTarget } from './lab-env';
import { serviceStart, serviceStatus, serviceStop } from '../../lib/fencing/service';
import { execFileRunner, type Runner } from '../../lib/fencing/command-runner';

const CLI = join(__dirname, '..', '..', 'dist', 'cli', 'scsi-pr.js');
const LUNS = [1, 2, 3, 4];
const ROOT = '/run/scsi-pr-service-test';
const K1 = '0x5e5e0001';
const K2 = '0x5e5e0002';
const DUMMY = 'scsiprdummy0';
const DUMMY_IP = '10.11.12.13'; // gethostip -x: 0A0B0C0D
const TARGET = labTarget();
/** One expectation per lab target. */
const expected = <T>(t: Record<LabTarget, T>): T => t[TARGET];
/** How status and stop read an LU: tgt refuses READ FULL STATUS. */
const SOURCE = expected({ lio: 'read-full-status', tgt: 'read-keys' });
/** What `service stop` appends to an LU's line where READ KEYS checked it (tgt). */
const READ_KEYS_NOTE = ' (checked with READ KEYS: no READ FULL STATUS on this target)';

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
  });
}

async function sh(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await exec(file, args, env);
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

const nodeDir = (node: number) => join(ROOT, `node${node}`);
const lvmEnv = (node: number): NodeJS.ProcessEnv => ({ ...process.env, LVM_SYSTEM_DIR: nodeDir(node), LVM_SUPPRESS_FD_WARNINGS: '1', DM_DISABLE_UDEV: '1' });
const lvm = (node: number, ...args: string[]) => sh(args[0]!, args.slice(1), lvmEnv(node));
const cli = (node: number, ...args: string[]) => exec(process.execPath, [CLI, ...args], lvmEnv(node));
/** The discovery runner of a node: vgs with that node's LVM configuration. */
const runnerOf = (node: number): Runner => (file, args, o) => execFileRunner(file, args, { ...o, env: { ...o.env, LVM_SYSTEM_DIR: nodeDir(node) } });

function writeLvmConf(node: number, accept: string[]): void {
  const dir = nodeDir(node);
  mkdirSync(dir, { recursive: true });
  const filter = [...accept.map((a) => `"a|^${a}$|"`), '"r|.*|"'].join(', ');
  writeFileSync(
    join(dir, 'lvm.conf'),
    `devices {
  filter = [ ${filter} ]
  global_filter = [ ${filter} ]
  obtain_device_list_from_udev = 0
  external_device_info_source = "none"
  use_devicesfile = 0
  multipath_component_detection = 0
  md_component_detection = 0
  hints = "none"
}
global {
  use_lvmlockd = 1
  event_activation = 0
}
activation {
  udev_sync = 0
  udev_rules = 0
  monitoring = 0
}
backup {
  backup = 0
  archive = 0
}
`,
  );
  writeFileSync(join(dir, 'lvmlocal.conf'), 'local {\n  host_id = 1\n}\n');
}

let map: LabMap;
const sd = (node: number, lun: number, path = 0) => dev(map, node, lun, path).sd;
const sg = (node: number, lun: number, path = 0) => dev(map, node, lun, path).sg;
const mpath = (lun: number) => `/dev/mapper/scsipr-n1-l${lun}`;
const cleanups: Array<[string, () => Promise<unknown> | unknown]> = [];

beforeAll(async () => {
  map = labMap();
  await labTools.resetReservations(LUNS);
  for (const tool of ['vgs', 'lvmlockd', 'dmsetup']) {
    if (!['/usr/sbin', '/sbin', '/usr/bin'].some((d) => existsSync(join(d, tool)))) {
      throw new Error(`${tool} is missing: install the Debian packages lvm2 and lvm2-lockd (the service tests need real LVM)`);
    }
  }
  rmSync(ROOT, { recursive: true, force: true });
  mkdirSync(ROOT, { recursive: true });
  mkdirSync('/run/lvm', { recursive: true });
  mkdirSync('/run/lock/lvm', { recursive: true });
  for (const m of ['dm_mod', 'dm_multipath', 'dm_round_robin']) await sh('modprobe', [m]);
  await sh('modprobe', ['dummy', 'numdummies=0']);

  // node 1: a dm-multipath map over its two paths of each LUN
  cleanups.push(['remove the dm-multipath maps', async () => {
    for (const lun of LUNS) if (existsSync(mpath(lun))) await sh('dmsetup', ['--noudevsync', 'remove', `scsipr-n1-l${lun}`], lvmEnv(1));
  }]);
  for (const lun of LUNS) {
    const mm = [0, 1].map((p) => readFileSync(`/sys/block/${sd(1, lun, p).replace('/dev/', '')}/dev`, 'utf8').trim());
    const size = (await sh('blockdev', ['--getsz', sd(1, lun)])).trim();
    const table = `0 ${size} multipath 0 0 1 1 round-robin 0 2 1 ${mm[0]} 1 ${mm[1]} 1`;
    await sh('dmsetup', ['--noudevsync', 'create', `scsipr-n1-l${lun}`, '--uuid', `mpath-scsipr-lab-l${lun}`, '--table', table], lvmEnv(1));
  }
  writeLvmConf(1, LUNS.map(mpath));
  writeLvmConf(2, LUNS.map((l) => sd(2, l)));
  writeLvmConf(3, LUNS.map((l) => sd(3, l)));
  writeLvmConf(4, [sd(3, 4)]); // a host that sees only the local VG's disk

  // The LVM commands look for lvmlockd's pid file at its default place (/run/lvmlockd.pid, on the
  // guest's private /run): with another --pid-file they report "lvmlockd process is not running".
  const pidFile = '/run/lvmlockd.pid';
  cleanups.push(['stop lvmlockd', () => {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid > 1) process.kill(pid, 'SIGTERM');
  }]);
  // lvmlockd forks into the background: no pipes (they would stay open), just wait for the parent to exit
  const lockd = spawn('lvmlockd', ['--test', '--gl-type', 'dlm'], { stdio: 'ignore', env: lvmEnv(1) });
  const lockdExit = await new Promise<number | null>((resolve, reject) => {
    lockd.on('error', reject);
    lockd.on('exit', (code) => resolve(code));
  });
  expect(lockdExit, 'lvmlockd --test started').toBe(0);
  for (let i = 0; i < 100 && !existsSync('/run/lvm/lvmlockd.socket'); i++) await new Promise((r) => setTimeout(r, 50));
  expect(existsSync('/run/lvm/lvmlockd.socket'), 'lvmlockd listens').toBe(true);

  cleanups.push(['wipe the LVM labels', async () => {
    for (const lun of LUNS) await sh('dd', ['if=/dev/zero', `of=${sd(1, lun, 0)}`, 'bs=64k', 'count=16', 'oflag=direct', 'status=none']);
  }]);
  await lvm(1, 'pvcreate', '-y', ...LUNS.map(mpath));
  await lvm(1, 'vgcreate', '--shared', '--locktype', 'dlm', 'vgpr_a', mpath(1), mpath(2));
  await lvm(1, 'vgcreate', '--shared', '--locktype', 'dlm', 'vgpr_b', mpath(3));
  await lvm(1, 'vgcreate', 'vgpr_local', mpath(4));
});

afterAll(async () => {
  const failures: string[] = [];
  // First drop every registration and reservation (a failed test may leave one that makes the
  // label wipe below fail with RESERVATION CONFLICT, EBADE).
  try {
    await labTools.resetReservations(LUNS);
  } catch (e) {
    failures.push(`reset reservations: ${(e as Error).message}`);
  }
  for (const [what, fn] of cleanups.reverse()) {
    try {
      await fn();
    } catch (e) {
      failures.push(`${what}: ${(e as Error).message}`);
    }
  }
  await exec('ip', ['link', 'del', DUMMY]);
  rmSync(ROOT, { recursive: true, force: true });
  await labTools.resetReservations(LUNS);
  if (failures.length > 0) throw new Error(`clean-up failed:\n${failures.join('\n')}`);
});

describe('LVM in the lab', () => {
  it('vgs reports the lockd VGs as shared (vg_attr position 6 = s) and the local one as not', async () => {
    const out = await lvm(1, 'vgs', '--noheadings', '--separator', '|', '-o', 'vg_name,vg_attr,pv_name');
    const rows = out.trim().split('\n').map((l) => l.trim().split('|'));
    expect(rows.map((r) => [r[0], r[1]![5], r[2]])).toEqual([
      ['vgpr_a', 's', mpath(1)],
      ['vgpr_a', 's', mpath(2)],
      ['vgpr_b', 's', mpath(3)],
      ['vgpr_local', '-', mpath(4)],
    ]);
    const two = await lvm(2, 'vgs', '--noheadings', '--separator', '|', '-o', 'vg_name,vg_attr,pv_name');
    expect(two).toContain(`vgpr_b|wz--ns|${sd(2, 3)}`);
  });
});

describe('scsi-pr service (LSB init-script use)', () => {
  it('status before start: not running (3), the devices are listed with their VGs', async () => {
    const r = await cli(1, 'service', 'status', '--key', K1);
    expect(r.status, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toMatch(new RegExp(`${mpath(1)}\\s+vgpr_a\\s+not registered`));
    expect(r.stdout).toMatch(new RegExp(`${mpath(3)}\\s+vgpr_b\\s+not registered`));
    expect(r.stdout).not.toContain(mpath(4));
    expect(r.stdout).toMatch(/not running: key 0x5e5e0001 registered on none of 3 device\(s\)/);
  });

  it('start (node 1, multipath PVs): every path registered, reservation taken; the local VG is untouched', async () => {
    const r = await cli(1, 'service', 'start', '--key', K1);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout, 'start writes nothing on stdout').toBe('');
    expect(r.stderr).toMatch(/scsi-pr service: started: key 0x5e5e0001 registered on all 3 device\(s\)/);
    expect(r.stderr).toMatch(new RegExp(`${mpath(1)} \\[vgpr_a\\]: registered on 2/2 path\\(s\\), reservation taken`));
    for (const lun of [1, 2, 3]) {
      expect(await sgPersistKeys(sg(2, lun)), `LUN ${lun}: both of node 1's paths`).toEqual([K1, K1]);
      expect(await sgPersistReservation(sg(2, lun))).toEqual({ key: K1, type: 5 });
    }
    expect(await sgPersistKeys(sg(2, 4)), 'the local VG is not registered').toEqual([]);
    const st = await cli(1, 'service', 'status', '--key', K1, '--json');
    expect(st.status).toBe(0);
    const j = JSON.parse(st.stdout);
    expect(j).toMatchObject({ action: 'status', key: K1, keySource: 'option', registeredEverywhere: true, registeredNowhere: false });
    expect(j.devices.map((d: any) => [d.device, d.volumeGroups, d.registrations, d.reservationHolder, d.source])).toEqual([
      [mpath(1), ['vgpr_a'], 2, true, SOURCE],
      [mpath(2), ['vgpr_a'], 2, true, SOURCE],
      [mpath(3), ['vgpr_b'], 2, true, SOURCE],
    ]);
  });

  it('start is idempotent (an init system may start twice)', async () => {
    const r = await cli(1, 'service', 'start', '--key', K1);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/reservation held by 0x5e5e0001/);
    for (const lun of [1, 2, 3]) expect(await sgPersistKeys(sg(3, lun))).toEqual([K1, K1]);
  });

  it('--vg limits start to one VG; status over all VGs is then partial (1)', async () => {
    const r = await cli(2, 'service', 'start', '--key', K2, '--vg', 'vgpr_a');
    expect(r.status, r.stderr).toBe(0);
    expect((await sgPersistKeys(sg(1, 1))).sort()).toEqual([K1, K1, K2].sort());
    expect(await sgPersistKeys(sg(1, 3))).toEqual([K1, K1]);
    const st = await cli(2, 'service', 'status', '--key', K2);
    expect(st.status, st.stdout).toBe(1);
    expect(st.stdout).toMatch(/partial: key 0x5e5e0002 registered on 2 of 3 device\(s\)/);
    expect(st.stdout).toMatch(new RegExp(`${sd(2, 3)}\\s+vgpr_b\\s+not registered`));
    const vg = await cli(2, 'service', 'status', '--key', K2, '--vg', 'vgpr_a');
    expect(vg.status).toBe(0);
  });

  it('fence / unfence / status --lvm take their devices from the shared VGs (multipath maps expanded)', async () => {
    const st = await cli(1, 'status', '--key', K1, '--lvm');
    expect(st.status, st.stdout + st.stderr).toBe(0);
    expect(st.stdout).toMatch(new RegExp(`${mpath(1)}\\s+holder .*\\[vgpr_a\\]`));
    expect(st.stdout).toMatch(/status: 0x5e5e0001 registered on 3 of 3 logical unit\(s\)/);
    const f = await cli(1, 'fence', '--key', K1, '--victim-key', K2, '--lvm', 'vgpr_a');
    expect(f.status, f.stdout + f.stderr).toBe(0);
    expect(f.stdout).toMatch(/fence: 0x5e5e0002 fenced on all 2 logical unit\(s\)/);
    for (const lun of [1, 2]) expect(await sgPersistKeys(sg(1, lun))).toEqual([K1, K1]);
    const u = await cli(2, 'unfence', '--key', K2, '--lvm', 'vgpr_a');
    expect(u.status, u.stdout + u.stderr).toBe(0);
    for (const lun of [1, 2]) expect((await sgPersistKeys(sg(3, lun))).sort()).toEqual([K1, K1, K2].sort());
    const none = await cli(4, 'status', '--key', K1, '--lvm');
    expect(none.status, 'no shared VG: no device').toBe(3);
    expect(none.stderr).toMatch(/no clustered or shared LVM volume group/);
  });

  it('the default key is this host\'s IPv4 address (gethostip -x); --interface picks the address', async () => {
    const noAddr = await cli(3, 'service', 'start');
    expect(noAddr.status, 'no non-loopback IPv4 address yet').toBe(1);
    expect(noAddr.stderr).toMatch(/no non-internal IPv4 address/);
    await sh('ip', ['link', 'add', DUMMY, 'type', 'dummy']);
    await sh('ip', ['addr', 'add', `${DUMMY_IP}/24`, 'dev', DUMMY]);
    await sh('ip', ['link', 'set', DUMMY, 'up']);
    const r = await cli(3, 'service', 'start', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ action: 'start', ok: true, key: '0xa0b0c0d', keySource: 'ipv4' });
    expect(r.stderr).toMatch(/key 0xa0b0c0d \(from the IPv4 address\)/);
    for (const lun of [1, 2, 3]) expect(await sgPersistKeys(sg(1, lun))).toContain('0xa0b0c0d');
    const lo = await cli(3, 'service', 'status', '--interface', 'lo');
    expect(lo.status, 'nothing is registered with 127.0.0.1 = 0x7f000001').toBe(3);
    expect(lo.stdout).toMatch(/key 0x7f000001 \(from the IPv4 address\)/);
    const stop = await cli(3, 'service', 'stop');
    expect(stop.status, stop.stderr).toBe(0);
    for (const lun of [1, 2, 3]) expect(await sgPersistKeys(sg(1, lun))).not.toContain('0xa0b0c0d');
  });

  it('stop (node 1): releases its reservations and unregisters every path; status is then 3', async () => {
    const r = await cli(1, 'service', 'stop', '--key', K1);
    expect(r.status, r.stderr).toBe(0);
    const line = new RegExp(`^scsi-pr service: ${mpath(1)} \\[vgpr_a\\]: reservation released, unregistered on 2/2 path\\(s\\)(.*)$`, 'm').exec(r.stderr);
    expect(line, r.stderr).not.toBeNull();
    expect(line![1]).toBe(expected({ lio: '', tgt: READ_KEYS_NOTE }));
    expect(r.stderr).toMatch(/stopped: key 0x5e5e0001 registered on none of 3 device\(s\)/);
    for (const lun of [1, 2, 3]) {
      expect(await sgPersistKeys(sg(3, lun))).not.toContain(K1);
      expect(await sgPersistReservation(sg(3, lun))).toBeNull();
    }
    expect(await sgPersistKeys(sg(3, 1)), "node 2's registration stays").toEqual([K2]);
    const st = await cli(1, 'service', 'status', '--key', K1);
    expect(st.status).toBe(3);
    const again = await cli(1, 'service', 'stop', '--key', K1);
    expect(again.status, 'stopping a stopped service succeeds').toBe(0);
    expect(again.stderr).toMatch(/was not registered/);
  });

  it('stop does not release a reservation held by another node', async () => {
    expect((await cli(2, 'service', 'start', '--key', K2, '--vg', 'vgpr_a')).status).toBe(0);
    expect(await sgPersistReservation(sg(1, 1))).toEqual({ key: K2, type: 5 });
    expect((await cli(1, 'service', 'start', '--key', K1, '--vg', 'vgpr_a')).status).toBe(0);
    expect((await cli(1, 'service', 'stop', '--key', K1, '--vg', 'vgpr_a')).status).toBe(0);
    expect(await sgPersistReservation(sg(1, 1))).toEqual({ key: K2, type: 5 });
    expect(await sgPersistKeys(sg(1, 1))).toEqual([K2]);
    expect((await cli(2, 'service', 'stop', '--key', K2)).status).toBe(0);
    for (const lun of [1, 2, 3]) expect(await sgPersistKeys(sg(1, lun))).toEqual([]);
  });

  it('LSB codes: no shared VG → start 6; vgs missing → 5; unknown VG → 1; bad arguments → 2', async () => {
    const none = await cli(4, 'service', 'start', '--key', K1);
    expect(none.status, none.stderr).toBe(6);
    expect(none.stderr).toMatch(/no clustered or shared LVM volume group found/);
    const noneStatus = await cli(4, 'service', 'status', '--key', K1);
    expect(noneStatus.status).toBe(3);
    const noLvm = await exec(process.execPath, [CLI, 'service', 'start', '--key', K1], { ...lvmEnv(1), PATH: '/nonexistent' });
    expect(noLvm.status, noLvm.stderr).toBe(5);
    expect(noLvm.stderr).toMatch(/lvm2 is not installed/);
    const noLvmStatus = await exec(process.execPath, [CLI, 'service', 'status', '--key', K1], { ...lvmEnv(1), PATH: '/nonexistent' });
    expect(noLvmStatus.status, 'status: unknown').toBe(4);
    const unknownVg = await cli(1, 'service', 'start', '--key', K1, '--vg', 'nosuchvg');
    expect(unknownVg.status).toBe(1);
    expect(unknownVg.stderr).toMatch(/volume group "nosuchvg" not found/);
    const local = await cli(1, 'service', 'start', '--key', K1, '--vg', 'vgpr_local');
    expect(local.status).toBe(1);
    expect(local.stderr).toMatch(/neither clustered nor shared/);
    expect((await cli(1, 'service', 'start', '--key', 'xyz')).status).toBe(2);
    expect((await cli(1, 'service', 'reload')).status).toBe(2);
    for (const lun of LUNS) expect(await sgPersistKeys(sg(2, lun))).toEqual([]);
  });
});

describe('lib/service.ts API', () => {
  it('serviceStart/Status/Stop over --lvm discovery with an injected runner (node 2 view)', async () => {
    const discovery = { run: runnerOf(2) };
    const start = await serviceStart({ key: 0x5e5e00a2n, discovery });
    expect(start.ok).toBe(true);
    const byDevice = <T extends { device: string }>(list: T[]): T[] => [...list].sort((a, b) => (a.device < b.device ? -1 : 1));
    // (vgs sorts by VG, then PV name; the reports list logical units in WWN order)
    expect(byDevice(start.sources)).toEqual(
      byDevice([
        { device: sd(2, 1), volumeGroup: 'vgpr_a', pv: sd(2, 1) },
        { device: sd(2, 2), volumeGroup: 'vgpr_a', pv: sd(2, 2) },
        { device: sd(2, 3), volumeGroup: 'vgpr_b', pv: sd(2, 3) },
      ]),
    );
    expect(byDevice(start.devices).map((d) => [d.device, d.volumeGroups, d.pathsRegistered])).toEqual(
      byDevice([
        { device: sd(2, 1), vg: ['vgpr_a'] },
        { device: sd(2, 2), vg: ['vgpr_a'] },
        { device: sd(2, 3), vg: ['vgpr_b'] },
      ]).map((d) => [d.device, d.vg, 1]),
    );
    const st = await serviceStatus({ key: 0x5e5e00a2n, discovery, volumeGroups: ['vgpr_b'] });
    expect(st).toMatchObject({ registeredEverywhere: true, registeredNowhere: false, unknown: false });
    expect(st.devices).toHaveLength(1);
    const stop = await serviceStop({ key: 0x5e5e00a2n, discovery });
    expect(stop.ok).toBe(true);
    expect(stop.devices.every((d) => d.released && d.pathsUnregistered === 1 && d.registrationsAfter === 0 && d.source === SOURCE)).toBe(true);
    for (const lun of [1, 2, 3]) expect(await sgPersistKeys(sg(1, lun))).toEqual([]);
  });

  it("a clustered (clvmd, vg_attr 'c') VG — which lvm2 2.03 cannot create — through a fake vgs naming real devices", async () => {
    const fakeVgs: Runner = async () => ({
      stdout: `  vg_root|wz--n-|/dev/nonexistent-root\n  vg_clvm|wz--nc|${sd(3, 4)}\n  vg_clvm|wz--nc|${sd(3, 4, 1)}\n`,
      stderr: '',
      exitCode: 0,
    });
    const key = 0x5e5e00c1n;
    const start = await serviceStart({ key, discovery: { run: fakeVgs } });
    expect(start.ok).toBe(true);
    // two PVs that are two paths of one LU (node 3, LUN 4): one logical unit, both paths registered
    expect(start.devices).toHaveLength(1);
    expect(start.devices[0]).toMatchObject({ volumeGroups: ['vg_clvm'], pathsRegistered: 2, paths: 2, reservation: 'reserved' });
    expect(await sgPersistKeys(sg(1, 4))).toEqual(['0x5e5e00c1', '0x5e5e00c1']);
    expect(await sgPersistReservation(sg(1, 4))).toEqual({ key: '0x5e5e00c1', type: 5 });
    const st = await serviceStatus({ key, discovery: { run: fakeVgs } });
    expect(st.registeredEverywhere).toBe(true);
    expect(st.devices[0]).toMatchObject({ registrations: 2, reservationHolder: true, volumeGroups: ['vg_clvm'] });
    const stop = await serviceStop({ key, discovery: { run: fakeVgs } });
    expect(stop.ok).toBe(true);
    expect(stop.devices[0]).toMatchObject({ released: true, pathsUnregistered: 2, registrationsBefore: 2, registrationsAfter: 0, source: SOURCE });
    expect(await sgPersistKeys(sg(1, 4))).toEqual([]);
    expect(await sgPersistReservation(sg(1, 4))).toBeNull();
  });
});
