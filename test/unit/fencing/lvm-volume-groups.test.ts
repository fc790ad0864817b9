/**
 * LVM discovery: vgs/lvs report parsing against recorded and synthesized
 * output (test/fixtures/lvm), sharedVolumeGroupDevices with a fake runner and
 * with a fake vgs binary, and execFileRunner.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseVgsReport,
  parseLvsDevicesReport,
  sharedVolumeGroupDevices,
  DeviceDiscoveryError,
  VGS_ARGS,
  type VgsRecord,
} from '../../../lib/fencing/lvm-volume-groups';
import { execFileRunner, type Runner, type RunResult } from '../../../lib/fencing/command-runner';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { ScsiPrError } from '../../../lib/errors';
import { thrown, rejection } from '../support/thrown';

const LVM = join(__dirname, '..', '..', 'fixtures', 'lvm');
const lvm = (name: string): string => readFileSync(join(LVM, name), 'utf8');

function rec(vg: string, attr: string, pv: string, missing = false): VgsRecord {
  return { vg, attr, pv, clustered: attr[5] === 'c', shared: attr[5] === 's', missing };
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'scsi-pr-discovery-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
describe('parseVgsReport — recorded lvm2 2.03.16 output', () => {
  it('all VGs (--shared): local and shared, several PVs per VG', () => {
    expect(parseVgsReport(lvm('vgs-2.03.16-all.stdout'))).toEqual([
      rec('vglocal', 'wz--n-', '/dev/loop2'),
      rec('vgmiss', 'wz--n-', '/dev/loop4'),
      rec('vgmiss', 'wz--n-', '/dev/loop5'),
      rec('vgshared', 'wz--ns', '/dev/loop0'),
      rec('vgshared', 'wz--ns', '/dev/loop1'),
    ]);
  });

  it('stderr is never needed: its messages are skipped if mixed into the text', () => {
    const mixed = lvm('vgs-2.03.16-missing-pv.stderr') + lvm('vgs-2.03.16-missing-pv.stdout') + lvm('vgs-2.03.16-lvmlockd-not-running.stderr');
    expect(parseVgsReport(mixed)).toEqual(parseVgsReport(lvm('vgs-2.03.16-missing-pv.stdout')));
  });

  it('without --shared the shared VG is absent (why sharedVolumeGroupDevices passes it)', () => {
    expect(parseVgsReport(lvm('vgs-2.03.16-no-shared-flag.stdout')).some((r) => r.shared)).toBe(false);
    expect(parseVgsReport(lvm('vgs-2.03.16-lvmlockd-not-running.stdout')).filter((r) => r.shared).map((r) => r.pv)).toEqual(['/dev/loop0', '/dev/loop1']);
  });

  it('missing PV: "[unknown]" and attr partial', () => {
    const r = parseVgsReport(lvm('vgs-2.03.16-missing-pv.stdout'));
    expect(r.filter((x) => x.vg === 'vgmiss')).toEqual([rec('vgmiss', 'wz-pn-', '/dev/loop4'), rec('vgmiss', 'wz-pn-', '[unknown]', true)]);
  });

  it('missing PV with two_word_unknown_device: "unknown device"', () => {
    const r = parseVgsReport(lvm('vgs-2.03.16-missing-pv-two-word.stdout'));
    expect(r.find((x) => x.missing)).toEqual(rec('vgmiss', 'wz-pn-', 'unknown device', true));
  });

  it("fence_scsi's own command: vg_attr:pv_name with ':' and warnings on stderr", () => {
    expect(parseVgsReport(lvm('vgs-2.03.16-fence-scsi-command.stdout'), { separator: ':' })).toEqual([
      rec('', 'wz--n-', '/dev/loop2'),
      rec('', 'wz--n-', '/dev/loop5'),
      rec('', 'wz--n-', '/dev/loop4'),
    ]);
    // its stderr, had it been merged, contains ':' — still recognized as messages
    const merged = lvm('vgs-2.03.16-fence-scsi-command.stderr') + lvm('vgs-2.03.16-fence-scsi-command.stdout');
    expect(parseVgsReport(merged, { separator: ':' })).toHaveLength(3);
  });

  it('named VG not found (exit 5): the found ones still parse', () => {
    expect(parseVgsReport(lvm('vgs-2.03.16-named-vg-not-found.stdout'))).toEqual([rec('vglocal', 'wz--n-', '/dev/loop2')]);
  });
});

describe('parseVgsReport — synthesized cases', () => {
  it('clvmd clustered VG on /dev/mapper multipath maps (lvm2 2.02)', () => {
    const r = parseVgsReport(lvm('vgs-2.02-clvmd-clustered.stdout'));
    expect(r).toEqual([rec('rhel_node1', 'wz--n-', '/dev/sda2'), rec('vg_cluster', 'wz--nc', '/dev/mapper/mpatha'), rec('vg_cluster', 'wz--nc', '/dev/mapper/mpathb')]);
    expect(r[1]!.clustered && !r[1]!.shared).toBe(true);
  });

  it('shared VGs on multipath and dm names; local VGs', () => {
    const r = parseVgsReport(lvm('vgs-multipath-shared.stdout'));
    expect(r.filter((x) => x.shared).map((x) => `${x.vg}:${x.pv}`)).toEqual(['vg_db:/dev/mapper/mpatha', 'vg_db:/dev/mapper/mpathb', 'vg_logs:/dev/dm-5']);
    expect(r.filter((x) => !x.shared && !x.clustered).map((x) => x.pv)).toEqual(['/dev/sda3', '/dev/nvme0n1']);
  });

  it('7-character vg_attr of lvm2 ≥ 2.03.37 (persistent reservation)', () => {
    const r = parseVgsReport(lvm('vgs-2.03.37-pr-attr.stdout'));
    expect(r.map((x) => [x.vg, x.attr, x.shared])).toEqual([
      ['vg_pr', 'wz--nsp', true],
      ['vg_pr', 'wz--nsp', true],
      ['vg_pr_stopped', 'wz--nsP', true],
      ['vg_local', 'wz--n--', false],
    ]);
  });

  it('whitespace variations', () => {
    expect(parseVgsReport(lvm('vgs-whitespace.stdout'))).toEqual([rec('vg_a', 'wz--ns', '/dev/sdb'), rec('vg_a', 'wz--ns', '/dev/sdc'), rec('vg_b', 'wz--n-', '/dev/sdd')]);
  });

  it('empty output', () => {
    expect(parseVgsReport(lvm('vgs-empty.stdout'))).toEqual([]);
    expect(parseVgsReport('\n  \n')).toEqual([]);
  });

  it('shared VG with a missing PV', () => {
    expect(parseVgsReport(lvm('vgs-shared-missing-pv.stdout'))).toEqual([rec('vg_db', 'wz-pns', '/dev/mapper/mpatha'), rec('vg_db', 'wz-pns', '[unknown]', true)]);
  });

  it('de-duplicates (vg, pv) pairs', () => {
    expect(parseVgsReport('  v|wz--ns|/dev/sdb\n  v|wz--ns|/dev/sdb\n')).toHaveLength(1);
  });

  it('tolerates an lvs-style devices column', () => {
    expect(parseVgsReport('  v|wz--ns|/dev/sdb(0),/dev/sdc(0)\n')).toEqual([rec('v', 'wz--ns', '/dev/sdb'), rec('v', 'wz--ns', '/dev/sdc')]);
  });

  it('rejects malformed records, with the line number', () => {
    for (const text of ['  vg|wz--ns\n  vg|notattr|/dev/sdb\n', 'vg|wz--ns|/dev/sdb|extra\n', 'vg x|wz--ns|/dev/sdb\n', 'data|wz|/dev/sdb']) {
      const e = thrown(() => parseVgsReport(text));
      expect(e, text).toBeInstanceOf(DeviceDiscoveryError);
      expect(e.code).toBe('ERR_MALFORMED_OUTPUT');
      expect(e.message).toMatch(/line \d+/);
    }
  });

  it('validates arguments', () => {
    expect(thrown(() => parseVgsReport(undefined as never))).toBeInstanceOf(ArgumentTypeError);
    expect(thrown(() => parseVgsReport(Buffer.from('x') as never)).code).toBe('ERR_INVALID_OPTION');
    expect(thrown(() => parseVgsReport('', { separator: '' }))).toBeInstanceOf(ArgumentRangeError);
    expect(thrown(() => parseVgsReport('', { separator: ' ' }))).toBeInstanceOf(ArgumentRangeError);
  });
});

describe('parseLvsDevicesReport', () => {
  it('recorded lvs -o vg_name,vg_attr,devices: segments collapse into PVs', () => {
    expect(parseLvsDevicesReport(lvm('lvs-2.03.16-devices.stdout'))).toEqual([
      rec('vglocal', 'wz--n-', '/dev/loop2'),
      rec('vgmiss', 'wz--n-', '/dev/loop4'),
      rec('vgmiss', 'wz--n-', '/dev/loop5'),
      rec('vgshared', 'wz--ns', '/dev/loop0'),
      rec('vgshared', 'wz--ns', '/dev/loop1'),
    ]);
  });

  it('recorded, with a missing PV: "[unknown](0)"', () => {
    expect(parseLvsDevicesReport(lvm('lvs-2.03.16-devices-missing-pv.stdout')).filter((r) => r.vg === 'vgmiss')).toEqual([
      rec('vgmiss', 'wz-pn-', '/dev/loop4'),
      rec('vgmiss', 'wz-pn-', '[unknown]', true),
    ]);
  });

  it('RAID/thin sub-LVs and empty devices columns are skipped', () => {
    expect(parseLvsDevicesReport(lvm('lvs-raid-thin-devices.stdout'))).toEqual([
      rec('vg_db', 'wz--ns', '/dev/sdb'),
      rec('vg_db', 'wz--ns', '/dev/sdc'),
      rec('vg_db', 'wz--ns', '/dev/sdd'),
      rec('vg_root', 'wz--n-', '/dev/sda2'),
    ]);
  });

  it('two-column form -o vg_attr,devices', () => {
    expect(parseLvsDevicesReport('  wz--ns|/dev/sdb(0),/dev/sdc(12)\n')).toEqual([rec('', 'wz--ns', '/dev/sdb'), rec('', 'wz--ns', '/dev/sdc')]);
  });
});

// ---------------------------------------------------------------------------
describe('sharedVolumeGroupDevices (fake runner)', () => {
  interface Call {
    file: string;
    args: readonly string[];
    timeoutMs: number;
    env: NodeJS.ProcessEnv;
  }
  function fakeRunner(results: Array<RunResult | Error>): { run: Runner; calls: Call[] } {
    const calls: Call[] = [];
    const run: Runner = async (file, args, options) => {
      calls.push({ file, args, timeoutMs: options.timeoutMs, env: options.env });
      const r = results[Math.min(calls.length - 1, results.length - 1)]!;
      if (r instanceof Error) throw r;
      return r;
    };
    return { run, calls };
  }
  const ok = (stdout: string, stderr = ''): RunResult => ({ stdout, stderr, exitCode: 0, signal: null });
  const identity = async (p: string): Promise<string> => p;

  it('runs vgs with an argument array, LC_ALL=C, --nolocking and --shared', async () => {
    const { run, calls } = fakeRunner([ok(lvm('vgs-2.03.16-all.stdout'), lvm('vgs-2.03.16-all.stderr'))]);
    const r = await sharedVolumeGroupDevices({ run, realpath: identity });
    expect(r).toEqual([
      { vg: 'vgshared', pv: '/dev/loop0', device: '/dev/loop0' },
      { vg: 'vgshared', pv: '/dev/loop1', device: '/dev/loop1' },
    ]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.file).toBe('vgs');
    expect(calls[0]!.args).toEqual([...VGS_ARGS, '--shared']);
    expect(calls[0]!.args).toEqual(['--noheadings', '--nosuffix', '--separator', '|', '--nolocking', '--sort', 'vg_name,pv_name', '-o', 'vg_name,vg_attr,pv_name', '--shared']);
    expect(calls[0]!.env.LC_ALL).toBe('C');
    expect(calls[0]!.env.LVM_SUPPRESS_FD_WARNINGS).toBe('1');
    expect(calls[0]!.timeoutMs).toBe(30_000);
  });

  it('passes vgsPath, timeoutMs and extraArgs; never puts VG names on the command line', async () => {
    const { run, calls } = fakeRunner([ok(lvm('vgs-multipath-shared.stdout'))]);
    await sharedVolumeGroupDevices({ run, vgsPath: '/usr/sbin/vgs', timeoutMs: 5000, extraArgs: ['--config', 'devices { scan_lvs = 0 }'], vgs: ['vg_db'], realpath: identity });
    expect(calls[0]!.file).toBe('/usr/sbin/vgs');
    expect(calls[0]!.timeoutMs).toBe(5000);
    expect(calls[0]!.args.slice(-2)).toEqual(['--config', 'devices { scan_lvs = 0 }']);
    expect(calls[0]!.args).not.toContain('vg_db');
  });

  it('clustered (clvmd) and shared VGs; device is the PV after symlinks', async () => {
    const { run } = fakeRunner([ok(lvm('vgs-2.02-clvmd-clustered.stdout'))]);
    const links: Record<string, string> = { '/dev/mapper/mpatha': '/dev/dm-3', '/dev/mapper/mpathb': '/dev/dm-4' };
    const r = await sharedVolumeGroupDevices({ run, realpath: async (p) => links[p] ?? p });
    expect(r).toEqual([
      { vg: 'vg_cluster', pv: '/dev/mapper/mpatha', device: '/dev/dm-3' },
      { vg: 'vg_cluster', pv: '/dev/mapper/mpathb', device: '/dev/dm-4' },
    ]);
  });

  it('keeps the PV path when realpath fails', async () => {
    const { run } = fakeRunner([ok(lvm('vgs-multipath-shared.stdout'))]);
    const r = await sharedVolumeGroupDevices({
      run,
      realpath: async () => {
        throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      },
    });
    expect(r.map((x) => x.device)).toEqual(['/dev/mapper/mpatha', '/dev/mapper/mpathb', '/dev/dm-5']);
  });

  it('only the named VGs', async () => {
    const { run } = fakeRunner([ok(lvm('vgs-multipath-shared.stdout'))]);
    expect((await sharedVolumeGroupDevices({ run, vgs: ['vg_logs'], realpath: identity })).map((x) => x.pv)).toEqual(['/dev/dm-5']);
  });

  it('a named VG that does not exist, or is local, is an error', async () => {
    const { run } = fakeRunner([ok(lvm('vgs-multipath-shared.stdout'))]);
    const nf = await rejection(sharedVolumeGroupDevices({ run, vgs: ['vg_db', 'vg_nope'] }));
    expect(nf).toBeInstanceOf(DeviceDiscoveryError);
    expect(nf.code).toBe('ERR_VG_NOT_FOUND');
    expect(nf.message).toContain('vg_nope');
    const local = await rejection(sharedVolumeGroupDevices({ run, vgs: ['vg_root'] }));
    expect(local.code).toBe('ERR_VG_NOT_SHARED');
    expect(local.message).toMatch(/vg_root.*neither clustered nor shared.*wz--n-/);
  });

  it('no shared VGs: empty list', async () => {
    const { run } = fakeRunner([ok(lvm('vgs-2.03.16-no-shared-flag.stdout'))]);
    expect(await sharedVolumeGroupDevices({ run })).toEqual([]);
    const { run: empty } = fakeRunner([ok('')]);
    expect(await sharedVolumeGroupDevices({ run: empty })).toEqual([]);
  });

  it('a missing PV of a shared VG fails unless allowMissingPvs', async () => {
    const { run } = fakeRunner([ok(lvm('vgs-shared-missing-pv.stdout'))]);
    const e = await rejection(sharedVolumeGroupDevices({ run, realpath: identity }));
    expect(e.code).toBe('ERR_PV_MISSING');
    expect(e.message).toMatch(/1 physical volume\(s\) of vg_db are missing/);
    expect(await sharedVolumeGroupDevices({ run, realpath: identity, allowMissingPvs: true })).toEqual([{ vg: 'vg_db', pv: '/dev/mapper/mpatha', device: '/dev/mapper/mpatha' }]);
  });

  it('a missing PV of a local VG does not matter', async () => {
    const { run } = fakeRunner([ok(lvm('vgs-2.03.16-missing-pv.stdout'), lvm('vgs-2.03.16-missing-pv.stderr'))]);
    expect((await sharedVolumeGroupDevices({ run, realpath: identity })).map((x) => x.pv)).toEqual(['/dev/loop0', '/dev/loop1']);
  });

  it('ENOENT: lvm2 is not installed', async () => {
    const { run } = fakeRunner([Object.assign(new Error('spawn vgs ENOENT'), { code: 'ENOENT', errno: -2, syscall: 'spawn vgs' })]);
    const e = await rejection(sharedVolumeGroupDevices({ run }));
    expect(e).toBeInstanceOf(DeviceDiscoveryError);
    expect(e).toBeInstanceOf(ScsiPrError);
    expect(e.code).toBe('ERR_LVM_NOT_INSTALLED');
    expect(e.message).toMatch(/lvm2 is not installed/);
    expect(e.command).toContain('vgs --noheadings');
    expect((e as Error).cause).toBeInstanceOf(Error);
  });

  it('timeout and other spawn failures', async () => {
    const t = await rejection(sharedVolumeGroupDevices({ run: fakeRunner([Object.assign(new Error('x'), { code: 'ETIMEDOUT' })]).run, timeoutMs: 100 }));
    expect(t.code).toBe('ERR_COMMAND_TIMEOUT');
    expect(t.message).toMatch(/100 ms/);
    const a = await rejection(sharedVolumeGroupDevices({ run: fakeRunner([Object.assign(new Error('spawn vgs EACCES'), { code: 'EACCES' })]).run }));
    expect(a.code).toBe('ERR_COMMAND_FAILED');
    expect(a.message).toMatch(/EACCES/);
  });

  it('non-zero exit: ERR_COMMAND_FAILED with stderr', async () => {
    const { run } = fakeRunner([{ stdout: lvm('vgs-2.03.16-named-vg-not-found.stdout'), stderr: lvm('vgs-2.03.16-named-vg-not-found.stderr'), exitCode: 5, signal: null }]);
    const e = await rejection(sharedVolumeGroupDevices({ run }));
    expect(e.code).toBe('ERR_COMMAND_FAILED');
    expect(e.exitCode).toBe(5);
    expect(e.message).toMatch(/exited with status 5: Volume group "nosuchvg" not found/);
    expect(e.stderr).toContain('Cannot process volume group nosuchvg');
    const { run: killed } = fakeRunner([{ stdout: '', stderr: '', exitCode: null, signal: 'SIGSEGV' }]);
    expect((await rejection(sharedVolumeGroupDevices({ run: killed }))).message).toMatch(/killed by SIGSEGV/);
  });

  it('retries without --shared when this vgs does not know it', async () => {
    const { run, calls } = fakeRunner([
      { stdout: '', stderr: "vgs: unrecognized option '--shared'\n  Error during parsing of command line.\n", exitCode: 3, signal: null },
      ok(lvm('vgs-2.02-clvmd-clustered.stdout')),
    ]);
    const r = await sharedVolumeGroupDevices({ run, realpath: identity });
    expect(r.map((x) => x.pv)).toEqual(['/dev/mapper/mpatha', '/dev/mapper/mpathb']);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.args).toContain('--shared');
    expect(calls[1]!.args).toEqual([...VGS_ARGS]);
  });

  it('malformed output is reported with the command', async () => {
    const { run } = fakeRunner([ok('  vg|bogus|/dev/sdb\n')]);
    const e = await rejection(sharedVolumeGroupDevices({ run }));
    expect(e.code).toBe('ERR_MALFORMED_OUTPUT');
    expect(e.command).toMatch(/^vgs /);
  });

  it('validates options', async () => {
    for (const bad of [{ vgs: 'vg' }, { vgs: [''] }, { run: 'x' }, { vgsPath: '' }, { timeoutMs: 0 }, { timeoutMs: Number.NaN }, { extraArgs: [1] }]) {
      const e = await rejection(sharedVolumeGroupDevices(bad as never));
      expect(e.code, JSON.stringify(bad)).toBe('ERR_INVALID_OPTION');
    }
    expect(await rejection(sharedVolumeGroupDevices(null as never))).toBeInstanceOf(ArgumentTypeError);
  });
});

describe('execFileRunner and sharedVolumeGroupDevices with a fake vgs binary', () => {
  function script(name: string, body: string): string {
    const p = join(tmp, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  }

  it('runs without a shell: arguments arrive verbatim', async () => {
    const echo = script('echo-args', 'for a in "$@"; do printf "<%s>\\n" "$a"; done; printf "%s" "$LC_ALL" >&2');
    const r = await execFileRunner(echo, ['a b', '|', '$(touch x)', "it's"], { timeoutMs: 5000, env: { ...process.env, LC_ALL: 'C' } });
    expect(r).toEqual({ stdout: '<a b>\n<|>\n<$(touch x)>\n<it\'s>\n', stderr: 'C', exitCode: 0, signal: null });
  });

  it('resolves with the exit status of a failing process', async () => {
    const fail = script('fail', 'echo out; echo err >&2; exit 5');
    expect(await execFileRunner(fail, [], { timeoutMs: 5000, env: process.env })).toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 5, signal: null });
  });

  it('rejects with ENOENT for a missing binary and ETIMEDOUT on timeout', async () => {
    const e = await rejection(execFileRunner(join(tmp, 'no-such-vgs'), [], { timeoutMs: 5000, env: process.env }));
    expect(e.code).toBe('ENOENT');
    const slow = script('slow', 'exec sleep 10');
    const t0 = Date.now();
    const t = await rejection(execFileRunner(slow, [], { timeoutMs: 200, env: process.env }));
    expect(t.code).toBe('ETIMEDOUT');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('end to end with a fake vgs printing a recorded report', async () => {
    const fixture = join(LVM, 'vgs-2.03.16-all.stdout');
    const stderr = join(LVM, 'vgs-2.03.16-all.stderr');
    const vgs = script('vgs', `[ "$LC_ALL" = C ] || exit 9\ncat '${fixture}'; cat '${stderr}' >&2`);
    const r = await sharedVolumeGroupDevices({ vgsPath: vgs, realpath: async (p) => p });
    expect(r.map((x) => x.pv)).toEqual(['/dev/loop0', '/dev/loop1']);
    const missing = await rejection(sharedVolumeGroupDevices({ vgsPath: join(tmp, 'bin', 'vgs') }));
    expect(missing.code).toBe('ERR_LVM_NOT_INSTALLED');
    const slow = script('slow-vgs', 'exec sleep 10');
    expect((await rejection(sharedVolumeGroupDevices({ vgsPath: slow, timeoutMs: 200 }))).code).toBe('ERR_COMMAND_TIMEOUT');
  });
});
