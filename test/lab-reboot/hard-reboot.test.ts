/**
 * fence_scsi_pr_check_hardreboot really reboots a fenced node — the lab's UML
 * guest, never the host — and only a fenced one.
 *
 * One 2-node × 2-LUN lab boot runs guest/hard-reboot.js: both nodes unfenced
 * through fence_scsi_pr (node 1's state file is what the check reads), the
 * hard-reboot check while not fenced, node 2 fencing node 1, the check with
 * doubt only and with reboot(2) refused, and last the check that must reboot.
 * On reboot(2) UML execs itself again with the same command line
 * (arch/um/os-Linux/main.c: linux_main() returns non-zero, then execvp(argv[0])):
 * the same host process boots a second kernel, whose guest-init.sh finds the
 * run dir's "booted" marker, writes "rebooted" and halts (lab exit 123).
 *
 * Runs on the host (it boots the lab itself): `npm run test:lab-reboot`.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../lab/lab-env';

const ROOT = resolve(__dirname, '..', '..');
const LAB = join(ROOT, 'scripts', 'lab.js');
/** scripts/lab.js's exit status when the guest rebooted. */
const LAB_REBOOTED = 123;

interface Step {
  status: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}
type Steps = Record<'on1' | 'on2' | 'notFencedBin' | 'notFencedFlag' | 'notFencedRepair' | 'off' | 'fencedNoFlag' | 'unreadable' | 'rebootRefused', Step> & {
  state1: { key: string; devices: string[] };
};

const REBOOTING = /^fence_scsi_pr_check: fenced \(key 0x4b1d0001 not registered on \/dev\/sd\w+, \/dev\/sd\w+\): rebooting now \(reboot\(2\), no sync\)$/m;

describe('fence_scsi_pr_check_hardreboot in the lab guest: reboots at once when fenced, and only then', () => {
  let dir: string;
  let lab: { status: number; stdout: string; stderr: string; ms: number };
  let steps: Steps;
  let runDir: string;
  const out = (name: string) => join(dir, name);
  const json = <T>(name: string): T => JSON.parse(readFileSync(out(name), 'utf8')) as T;

  beforeAll(async () => {
    mkdirSync(join(ROOT, '.lab'), { recursive: true });
    dir = mkdtempSync(join(ROOT, '.lab', 'hard-reboot-'));
    const t0 = performance.now();
    // Not spawnSync: a blocked worker cannot answer vitest's RPC (see test/lab/event-loop-watch.ts).
    const r = await run(process.execPath, [LAB, 'run', '--nodes', '2', '--luns', '2', '--timeout', '300', '--env', `OUT=${dir}`, '--', process.execPath, join(__dirname, 'guest', 'hard-reboot.js')], {
      timeoutMs: 400_000,
    });
    lab = { ...r, ms: performance.now() - t0 };
    steps = json<Steps>('steps.json');
    runDir = json<{ runDir: string }>('run.json').runDir;
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('set-up: both nodes unfenced through fence_scsi_pr (node 1’s state file has its key and devices), then node 2 fenced node 1', () => {
    expect(steps.on1.status, steps.on1.stderr).toBe(0);
    expect(steps.on2.status, steps.on2.stderr).toBe(0);
    expect(steps.state1).toMatchObject({ key: '0x4b1d0001', devices: [expect.stringMatching(/^\/dev\/sd/), expect.stringMatching(/^\/dev\/sd/)] });
    expect(steps.off.status, steps.off.stderr).toBe(0);
    expect(steps.fencedNoFlag.status).toBe(1);
    expect(steps.fencedNoFlag.stderr).toMatch(/key 0x4b1d0001 is not registered \(keys: 0x4b1d0002\): this node was fenced/);
  });

  it('not fenced: the hard-reboot bin, the --hard-reboot flag and repair all exit 0, and the guest went on', () => {
    for (const s of [steps.notFencedBin, steps.notFencedFlag, steps.notFencedRepair]) {
      expect(s.status, s.stderr).toBe(0);
      expect(s.stderr).not.toMatch(/rebooting/);
    }
  });

  it('fenced, but its only device cannot be read: exit 0, no reboot (no evidence)', () => {
    expect(steps.unreadable.status).toBe(0);
    expect(steps.unreadable.stderr).toMatch(/cannot be read .*no evidence either way/);
    expect(steps.unreadable.stderr).not.toMatch(/rebooting/);
  });

  it('fenced, reboot(2) refused (CAP_SYS_BOOT dropped): the reason on stderr and exit 1, so the watchdog daemon reboots', () => {
    expect(steps.rebootRefused.status).toBe(1);
    expect(steps.rebootRefused.stderr).toMatch(REBOOTING);
    expect(steps.rebootRefused.stderr).toMatch(/^fence_scsi_pr_check: cannot reboot \(EPERM: operation not permitted, reboot\); exit 1 so that the watchdog daemon reboots this node$/m);
  });

  it('fenced: the check wrote why and rebooted the guest at once; it never returned, and the guest booted a second time', () => {
    expect(lab.status, `${lab.stdout}\n${lab.stderr}`).toBe(LAB_REBOOTED);
    expect(lab.stderr).toMatch(/the guest rebooted \(reboot\(2\)\) before the command ended/);
    const before = json<{ atMs: number }>('before-reboot.json');
    const stderr = readFileSync(out('check.stderr'), 'utf8');
    expect(stderr).toMatch(REBOOTING);
    expect(stderr.match(/rebooting now/g)).toHaveLength(1);
    expect(stderr.trimEnd().split('\n').at(-1)).toMatch(REBOOTING); // nothing after it
    expect(existsSync(out('check-returned.json'))).toBe(false);
    // The run dir: the first boot's marker, then the second boot's; its console shows the restart and two UML starts.
    const bootedNs = BigInt(readFileSync(join(runDir, 'booted'), 'utf8').trim());
    const rebootedNs = BigInt(readFileSync(join(runDir, 'rebooted'), 'utf8').trim());
    expect(bootedNs < BigInt(before.atMs) * 1_000_000n).toBe(true);
    expect(rebootedNs > BigInt(before.atMs) * 1_000_000n).toBe(true);
    expect(readFileSync(join(runDir, 'status'), 'utf8').trim()).toBe('rebooted');
    const console_ = readFileSync(join(runDir, 'console.log'), 'utf8');
    expect(console_.match(/reboot: Restarting system/g)).toHaveLength(1);
    expect(console_.match(/Checking that ptrace can change system call numbers/g)).toHaveLength(2);
    expect(console_.match(/=== scsi-pr lab ready/g)).toHaveLength(1);
    expect(console_.indexOf('reboot: System halted')).toBeGreaterThan(console_.indexOf('reboot: Restarting system'));
    const rebootMs = Number(rebootedNs / 1_000_000n) - before.atMs;
    console.log(
      `hard reboot: check started → second boot's init ${rebootMs} ms (guest clock; Node.js start, 2 devices, one retry 200 ms later, UML re-exec); ` +
        `refused-reboot check ${steps.rebootRefused.ms} ms; lab wall ${(lab.ms / 1000).toFixed(1)} s`,
    );
  });
});
