/** fence_scsi_pr_check's decisions, with a scripted world: evidence fails it, doubt does not. */
import { describe, expect, it } from 'vitest';
import { CheckExit, runCheck, type CheckDeps } from '../../../../lib/cli/fence-agent/registration-check';
import type { AgentState } from '../../../../lib/cli/fence-agent/fence-agent-state';

const KEY = 0x6c9d1645n;
const OTHER = 0x6c9d1646n;
const STATE: AgentState = { key: KEY, devices: ['/dev/sdb', '/dev/sdc'], aptpl: false };

/**
 * Each device answers from its script, one entry per read (the last one repeats): keys, or an Error.
 * `rebootNow` is a fake that records the call (and what stderr held by then) and returns, or throws `rebootError`.
 */
function world(scripts: Record<string, Array<bigint[] | Error>>, state: AgentState | null | Error = STATE, rebootError?: Error) {
  const reads: string[] = [];
  const sleeps: number[] = [];
  const reboots: Array<{ stderrBefore: string; readsBefore: number }> = [];
  let err = '';
  const deps: CheckDeps = {
    readState: () => {
      if (state instanceof Error) throw state;
      return state;
    },
    readKeys: async (device) => {
      const script = scripts[device] ?? [[KEY]];
      const n = reads.filter((d) => d === device).length;
      reads.push(device);
      const r = script[Math.min(n, script.length - 1)]!;
      if (r instanceof Error) throw r;
      return r;
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    stderr: (t) => {
      err += t;
    },
    rebootNow: () => {
      reboots.push({ stderrBefore: err, readsBefore: reads.length });
      if (rebootError) throw rebootError;
    },
  };
  return { deps, reads, sleeps, reboots, stderr: () => err };
}

describe('fence_scsi_pr_check', () => {
  it('exits 0 while our key is on every device, reading each once', async () => {
    const w = world({});
    expect(await runCheck(['test'], w.deps)).toBe(CheckExit.OK);
    expect(await runCheck([], w.deps)).toBe(CheckExit.OK);
    expect(w.reads).toEqual(['/dev/sdb', '/dev/sdc', '/dev/sdb', '/dev/sdc']);
    expect(w.sleeps).toEqual([]);
  });

  it('exits 1 when one device answers without our key on every attempt (the others still have it)', async () => {
    const w = world({ '/dev/sdc': [[OTHER]] });
    expect(await runCheck(['test', '--retries', '2', '--retry-delay-ms', '500'], w.deps)).toBe(CheckExit.FENCED);
    expect(w.reads.filter((d) => d === '/dev/sdc')).toHaveLength(3);
    expect(w.sleeps).toEqual([500, 500]);
    expect(w.stderr()).toMatch(/\/dev\/sdc: key 0x6c9d1645 is not registered \(keys: 0x6c9d1646\): this node was fenced/);
  });

  it('a key missing for one read only (a re-registration in progress) does not fail it', async () => {
    const w = world({ '/dev/sdb': [[OTHER], [KEY]] });
    expect(await runCheck(['test'], w.deps)).toBe(CheckExit.OK);
  });

  it('a device that cannot be read on any attempt is reported and does not fail the check', async () => {
    const w = world({ '/dev/sdb': [new Error('no path')] });
    expect(await runCheck(['test', '--retries=1'], w.deps)).toBe(CheckExit.OK);
    expect(w.reads.filter((d) => d === '/dev/sdb')).toHaveLength(2);
    expect(w.stderr()).toMatch(/\/dev\/sdb: cannot be read \(no path\); no evidence either way/);
  });

  it('repair CODE: 0 when the key is back everywhere, else CODE', async () => {
    expect(await runCheck(['repair', '7'], world({}).deps)).toBe(0);
    expect(await runCheck(['repair', '7'], world({ '/dev/sdb': [[]] }).deps)).toBe(7);
  });

  it('no state file, or a broken one: nothing to check, exit 0 with the reason', async () => {
    const none = world({}, null);
    expect(await runCheck(['test'], none.deps)).toBe(CheckExit.OK);
    expect(none.reads).toEqual([]);
    const broken = world({}, new Error('state file /x is not valid JSON'));
    expect(await runCheck(['test'], broken.deps)).toBe(CheckExit.OK);
    expect(broken.stderr()).toMatch(/not valid JSON; nothing checked/);
  });

  it('refuses a bad command line with exit 2 before reading anything', async () => {
    for (const argv of [['check'], ['repair'], ['repair', '0'], ['test', '--retries', '-1'], ['--bogus'], ['test', 'extra']]) {
      const w = world({});
      expect(await runCheck(argv, w.deps), argv.join(' ')).toBe(CheckExit.USAGE);
      expect(w.reads).toEqual([]);
    }
  });
});

describe('fence_scsi_pr_check --hard-reboot (fence_scsi_pr_check_hardreboot)', () => {
  const REBOOTING = /^fence_scsi_pr_check: fenced \(key 0x6c9d1645 not registered on \/dev\/sdc\): rebooting now \(reboot\(2\), no sync\)$/m;

  it('on evidence, after every retry: one line saying why, then reboot(2), once', async () => {
    const w = world({ '/dev/sdc': [[OTHER]] });
    expect(await runCheck(['test', '--hard-reboot', '--retries', '2'], w.deps)).toBe(CheckExit.FENCED); // only a fake returns
    expect(w.reboots).toHaveLength(1);
    expect(w.reboots[0]!.readsBefore).toBe(w.reads.length); // no read after the reboot call
    expect(w.reads.filter((d) => d === '/dev/sdc')).toHaveLength(3);
    expect(w.reboots[0]!.stderrBefore).toMatch(/\/dev\/sdc: key 0x6c9d1645 is not registered \(keys: 0x6c9d1646\): this node was fenced\n/);
    expect(w.reboots[0]!.stderrBefore).toMatch(REBOOTING);
    expect(w.reboots[0]!.stderrBefore.match(/rebooting now/g)).toHaveLength(1);
    expect(w.stderr()).toBe(w.reboots[0]!.stderrBefore); // nothing written after the call
  });

  it('evidence on one device is enough, whatever the others (unreadable, registered)', async () => {
    const w = world({ '/dev/sdb': [new Error('no path')], '/dev/sdc': [[]] });
    await runCheck(['--hard-reboot'], w.deps);
    expect(w.reboots).toHaveLength(1);
    expect(w.stderr()).toMatch(/fenced \(key 0x6c9d1645 not registered on \/dev\/sdc\): rebooting now/);
  });

  it('repair CODE: reboots only if still fenced', async () => {
    const still = world({ '/dev/sdc': [[OTHER]] });
    expect(await runCheck(['repair', '7', '--hard-reboot'], still.deps)).toBe(7);
    expect(still.reboots).toHaveLength(1);
    const back = world({});
    expect(await runCheck(['repair', '7', '--hard-reboot'], back.deps)).toBe(0);
    expect(back.reboots).toEqual([]);
  });

  it('never on doubt: key everywhere, a key missing for one read only, unreadable devices', async () => {
    const doubts: Array<Record<string, Array<bigint[] | Error>>> = [{}, { '/dev/sdb': [[OTHER], [KEY]] }, { '/dev/sdb': [new Error('no path')], '/dev/sdc': [new Error('timeout')] }];
    for (const scripts of doubts) {
      const w = world(scripts);
      expect(await runCheck(['test', '--hard-reboot'], w.deps)).toBe(CheckExit.OK);
      expect(w.reboots, JSON.stringify(Object.keys(scripts))).toEqual([]);
      expect(w.stderr()).not.toMatch(/rebooting/);
    }
  });

  it('never without a usable state: no state file, a broken one, an empty device list', async () => {
    for (const state of [null, new Error('state file /x is not valid JSON'), { ...STATE, devices: [] }]) {
      const w = world({ '/dev/sdb': [[]], '/dev/sdc': [[]] }, state);
      expect(await runCheck(['test', '--hard-reboot'], w.deps)).toBe(CheckExit.OK);
      expect(w.reboots).toEqual([]);
    }
  });

  it('never on a usage error, even with every device fenced', async () => {
    for (const argv of [['--hard-reboot', 'check'], ['--hard-reboot', 'repair'], ['--hard-reboot=1'], ['--hard-reboot', '--retries', 'x']]) {
      const w = world({ '/dev/sdb': [[]], '/dev/sdc': [[]] });
      expect(await runCheck(argv, w.deps), argv.join(' ')).toBe(CheckExit.USAGE);
      expect(w.reboots).toEqual([]);
      expect(w.stderr()).toMatch(/--hard-reboot {3}instead of failing on that evidence, reboot at once/);
    }
  });

  it('never without the flag, even when fenced', async () => {
    const w = world({ '/dev/sdb': [[]], '/dev/sdc': [[]] });
    expect(await runCheck(['test'], w.deps)).toBe(CheckExit.FENCED);
    expect(await runCheck(['repair', '3'], w.deps)).toBe(3);
    expect(w.reboots).toEqual([]);
  });

  it('reboot(2) fails (EPERM): says so and exits non-zero as without the flag, so the watchdog daemon reboots', async () => {
    const eperm = Object.assign(new Error('EPERM: operation not permitted, reboot'), { code: 'EPERM', errno: -1, syscall: 'reboot' });
    const w = world({ '/dev/sdc': [[]] }, STATE, eperm);
    expect(await runCheck(['test', '--hard-reboot'], w.deps)).toBe(CheckExit.FENCED);
    expect(w.reboots).toHaveLength(1);
    expect(w.stderr()).toMatch(/^fence_scsi_pr_check: cannot reboot \(EPERM: operation not permitted, reboot\); exit 1 so that the watchdog daemon reboots this node$/m);
    const r = world({ '/dev/sdc': [[]] }, STATE, eperm);
    expect(await runCheck(['repair', '9', '--hard-reboot'], r.deps)).toBe(9);
    expect(r.stderr()).toMatch(/cannot reboot \(EPERM.*\); exit 9 so that/);
  });
});
