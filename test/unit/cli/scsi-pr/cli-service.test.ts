/**
 * lib/service.ts discovery and the `scsi-pr` main() without devices: the vgs
 * output is injected (recorded fixtures, including clvmd's 'c' VGs that lvm2
 * 2.03 cannot create), devices that do not exist make every LU unreachable, so
 * the reports and exit codes are checked without any I/O.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceStart, serviceStatus, serviceStop } from '../../../../lib/fencing/service';
import { localIpv4Key } from '../../../../lib/fencing/fence-keys';
import type { Runner } from '../../../../lib/fencing/command-runner';
import { main, type CliIO } from '../../../../lib/cli/scsi-pr';

const fixture = (name: string) => readFileSync(join(__dirname, '..', '..', '..', 'fixtures', 'lvm', name), 'utf8');

function runner(stdout: string, exitCode = 0, stderr = ''): Runner & { calls: string[][] } {
  const calls: string[][] = [];
  const fn = (async (file: string, args: readonly string[]) => {
    calls.push([file, ...args]);
    return { stdout, stderr, exitCode };
  }) as unknown as Runner & { calls: string[][] };
  fn.calls = calls;
  return fn;
}

/** realpath that keeps the PV name (the fixtures' devices do not exist here). */
const keep = async (p: string) => p;

describe('service discovery (recorded vgs output)', () => {
  it("status over clvmd ('c') VGs: only the clustered VG's PVs, each with its VG", async () => {
    const run = runner(fixture('vgs-2.02-clvmd-clustered.stdout'));
    const r = await serviceStatus({ key: 0x0a000001n, discovery: { run, realpath: keep } });
    expect(r.sources).toEqual([
      { device: '/dev/mapper/mpatha', volumeGroup: 'vg_cluster', pv: '/dev/mapper/mpatha' },
      { device: '/dev/mapper/mpathb', volumeGroup: 'vg_cluster', pv: '/dev/mapper/mpathb' },
    ]);
    expect(r.devices.map((d) => [d.device, d.volumeGroups, d.reachable])).toEqual([
      ['/dev/mapper/mpatha', ['vg_cluster'], false],
      ['/dev/mapper/mpathb', ['vg_cluster'], false],
    ]);
    expect(r).toMatchObject({ action: 'status', key: 0x0a000001n, keySource: 'option', registeredEverywhere: false, registeredNowhere: true, unknown: true });
    expect(run.calls[0]).toContain('--nolocking');
  });

  it("lvmlockd ('s') VGs; --vg narrows to one", async () => {
    const run = runner(fixture('vgs-multipath-shared.stdout'));
    const all = await serviceStatus({ key: 1n, discovery: { run, realpath: keep } });
    expect(all.sources.map((s) => [s.device, s.volumeGroup])).toEqual([
      ['/dev/mapper/mpatha', 'vg_db'],
      ['/dev/mapper/mpathb', 'vg_db'],
      ['/dev/dm-5', 'vg_logs'],
    ]);
    const one = await serviceStatus({ key: 1n, volumeGroups: ['vg_logs'], discovery: { run, realpath: keep } });
    expect(one.sources.map((s) => s.device)).toEqual(['/dev/dm-5']);
    await expect(serviceStatus({ key: 1n, volumeGroups: ['vg_root'], discovery: { run, realpath: keep } })).rejects.toMatchObject({ code: 'ERR_VG_NOT_SHARED' });
    await expect(serviceStatus({ key: 1n, volumeGroups: ['nope'], discovery: { run, realpath: keep } })).rejects.toMatchObject({ code: 'ERR_VG_NOT_FOUND' });
  });

  it('start with no shared VG is ERR_NO_DEVICES; stop and status have nothing to do', async () => {
    const run = runner(fixture('vgs-2.03.16-no-shared-flag.stdout'));
    await expect(serviceStart({ key: 1n, discovery: { run } })).rejects.toMatchObject({ code: 'ERR_NO_DEVICES' });
    const stop = await serviceStop({ key: 1n, discovery: { run } });
    expect(stop).toMatchObject({ action: 'stop', ok: true, devices: [] });
    const st = await serviceStatus({ key: 1n, discovery: { run } });
    expect(st).toMatchObject({ registeredEverywhere: false, registeredNowhere: true, unknown: false, devices: [] });
  });

  it('vgs missing: ERR_LVM_NOT_INSTALLED', async () => {
    const run: Runner = async () => {
      throw Object.assign(new Error('spawn vgs ENOENT'), { code: 'ENOENT' });
    };
    await expect(serviceStart({ key: 1n, discovery: { run } })).rejects.toMatchObject({ code: 'ERR_LVM_NOT_INSTALLED' });
  });

  it('explicit devices skip LVM; the default key is localIpv4Key()', async () => {
    let expected: bigint | undefined;
    try {
      expected = localIpv4Key();
    } catch {
      expected = undefined;
    }
    const p = serviceStatus({ devices: ['/dev/scsi-pr-test-missing'] });
    if (expected === undefined) {
      await expect(p).rejects.toMatchObject({ code: 'ERR_NO_IPV4_ADDRESS' });
      return;
    }
    const r = await p;
    expect(r).toMatchObject({ key: expected, keySource: 'ipv4', unknown: true });
    expect(r.sources).toEqual([{ device: '/dev/scsi-pr-test-missing' }]);
    expect(r.devices[0]).toMatchObject({ device: '/dev/scsi-pr-test-missing', volumeGroups: [], reachable: false });
  });

  it('refuses bad options before any discovery', async () => {
    const run = runner('');
    await expect(serviceStart({ key: 0n, discovery: { run } })).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    await expect(serviceStart({ key: 'xyz', discovery: { run } })).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    await expect(serviceStart({ key: 1n, devices: ['/dev/sdb'], volumeGroups: ['vg'] })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(serviceStart({ key: 1n, devices: [''] })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    expect(run.calls).toEqual([]);
  });
});

function io(): CliIO & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', stderrIsTTY: false, out: (t: string) => void (o.stdout += t), err: (t: string) => void (o.stderr += t) };
  return o;
}

describe('scsi-pr main() without devices', () => {
  it('--help and --version exit 0 on stdout', async () => {
    const a = io();
    expect(await main(['--help'], a)).toBe(0);
    expect(a.stdout).toMatch(/^Usage: scsi-pr \[OPTIONS\] DEVICE/);
    const b = io();
    expect(await main(['-V'], b)).toBe(0);
    expect(b.stdout).toMatch(/^scsi-pr \d+\.\d+\.\d+/);
    const c = io();
    expect(await main(['service', '--help'], c)).toBe(0);
    expect(c.stdout).toMatch(/LSB init-script values/);
  });

  it('usage errors: exit 2, message and hint on stderr, JSON on stdout with --json', async () => {
    const a = io();
    expect(await main(['-o', '-R', '/dev/sg1'], a)).toBe(2);
    expect(a.stdout).toBe('');
    expect(a.stderr).toBe("scsi-pr: -R (RESERVE) needs --param-rk (-K): the key this initiator registered\nTry 'scsi-pr --help' for more information.\n");
    const b = io();
    expect(await main(['fence', '--json', '--key', '1', '/dev/sg1'], b)).toBe(2);
    expect(JSON.parse(b.stdout)).toMatchObject({ ok: false, exitCode: 2, error: { name: 'UsageError', code: 'ERR_USAGE' } });
    expect(b.stderr).toMatch(/Try 'scsi-pr fence --help'/);
  });

  it('a missing device: exit 3', async () => {
    const a = io();
    expect(await main(['-k', '/dev/scsi-pr-test-missing'], a)).toBe(3);
    expect(a.stderr).toBe('scsi-pr: /dev/scsi-pr-test-missing: no such device\n');
    const b = io();
    expect(await main(['-o', '-C', '-K', '1', '--json', '/dev/scsi-pr-test-missing'], b)).toBe(3);
    expect(JSON.parse(b.stdout)).toMatchObject({ ok: false, exitCode: 3, error: { name: 'DeviceError', code: 'ERR_DEVICE_NOT_FOUND', path: '/dev/scsi-pr-test-missing' } });
  });

  it('multi-device commands over missing devices: fence/unfence exit 3, status exits 4; quiet stderr when not a terminal', async () => {
    const a = io();
    expect(await main(['fence', '--key', '1', '--victim-key', '2', '/dev/scsi-pr-test-missing'], a)).toBe(3);
    expect(a.stdout).toMatch(/NOT fenced: \/dev\/scsi-pr-test-missing/);
    expect(a.stderr).toBe('');
    const b = io();
    expect(await main(['unfence', '--key', '1', '/dev/scsi-pr-test-missing'], b)).toBe(3);
    const c = io();
    expect(await main(['status', '--key', '1', '--json', '/dev/scsi-pr-test-missing'], c)).toBe(4);
    expect(JSON.parse(c.stdout)).toMatchObject({ operation: 'status', key: '0x1', registeredEverywhere: false, devices: [{ device: '/dev/scsi-pr-test-missing', reachable: false }] });
  });

  it('a terminal gets a live progress line, cleared at the end', async () => {
    const a = { ...io(), stderrIsTTY: true };
    const o = a as CliIO & { stdout: string; stderr: string };
    o.out = (t) => void (o.stdout += t);
    o.err = (t) => void (o.stderr += t);
    expect(await main(['status', '--key', '1', '/dev/scsi-pr-test-missing'], o)).toBe(4);
    expect(o.stderr).toBe('\r\x1b[Kstatus: status 1/1 FAILED /dev/scsi-pr-test-missing\r\x1b[K');
    const q = { ...io(), stderrIsTTY: true };
    const oq = q as CliIO & { stdout: string; stderr: string };
    oq.out = (t) => void (oq.stdout += t);
    oq.err = (t) => void (oq.stderr += t);
    expect(await main(['status', '--no-progress', '--key', '1', '/dev/scsi-pr-test-missing'], oq)).toBe(4);
    expect(oq.stderr).toBe('');
  });

  it('service over explicit missing devices: status 4, stop 1, start 1 — messages on stderr, nothing on stdout', async () => {
    const a = io();
    expect(await main(['service', 'status', '--key', '1', '--device', '/dev/scsi-pr-test-missing'], a)).toBe(4);
    expect(a.stdout).toMatch(/unknown: no device could be read/);
    const b = io();
    expect(await main(['service', 'stop', '--key', '1', '--device', '/dev/scsi-pr-test-missing'], b)).toBe(1);
    expect(b.stdout).toBe('');
    expect(b.stderr).toMatch(/stop FAILED/);
    const c = io();
    expect(await main(['service', 'start', '--key', '1', '--device', '/dev/scsi-pr-test-missing'], c)).toBe(1);
    expect(c.stdout).toBe('');
    expect(c.stderr).toMatch(/start FAILED/);
  });
});
