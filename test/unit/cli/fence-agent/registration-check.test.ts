/** fence_scsi_pr_check's decisions, with a scripted world: evidence fails it, doubt does not. */
import { describe, expect, it } from 'vitest';
import { CheckExit, runCheck, type CheckDeps } from '../../../../lib/cli/fence-agent/registration-check';
import type { AgentState } from '../../../../lib/cli/fence-agent/fence-agent-state';

const KEY = 0x6c9d1645n;
const OTHER = 0x6c9d1646n;
const STATE: AgentState = { key: KEY, devices: ['/dev/sdb', '/dev/sdc'], aptpl: false };

/** Each device answers from its script, one entry per read (the last one repeats): keys, or an Error. */
function world(scripts: Record<string, Array<bigint[] | Error>>, state: AgentState | null | Error = STATE) {
  const reads: string[] = [];
  const sleeps: number[] = [];
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
  };
  return { deps, reads, sleeps, stderr: () => err };
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
