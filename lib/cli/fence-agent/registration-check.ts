/**
 * `fence_scsi_pr_check`: the watchdog daemon's test for "this node was fenced".
 *
 * The watchdog daemon runs every executable of its test directory
 * (`/etc/watchdog.d`) with `test`; on a non-zero exit it runs it again with
 * `repair <code>`, and reboots the node unless that exits 0. This check reads
 * the fence agent's state file (this node's key and devices, written by
 * `fence_scsi_pr -o on`) and READ KEYS on every device (through its sg node):
 *
 * - exit 0 while our key is registered on **every** device;
 * - exit 1 when a device answered without our key, on every attempt
 *   (`--retries` more, `--retry-delay-ms` apart): the node was fenced;
 * - a device that cannot be read (path down, timeout) is no evidence either
 *   way: it is retried the same way, reported on stderr, and does not fail
 *   the check (rebooting does not bring a path back);
 * - no state file (never unfenced through the agent): exit 0, nothing to check.
 *
 * `repair <code>` checks again (a legitimate re-registration may have been in
 * progress) and exits 0 if the key is back everywhere, else `code`.
 *
 * `--hard-reboot` (the `fence_scsi_pr_check_hardreboot` bin): where the check
 * would fail on evidence (test or repair), it writes one line saying why and
 * calls reboot(2) at once (RB_AUTOBOOT, no sync: fence-agents'
 * fence_scsi_check_hardreboot does the same, because the watchdog daemon's
 * clean reboot can hang on I/O to fenced disks). Never for doubt (unreadable
 * devices, no or broken state, usage errors). If reboot(2) fails, the check
 * says so and exits non-zero as without the flag, so the daemon reboots.
 */
import type { AgentState } from './fence-agent-state';

/** What the check needs from the world (injected for tests). */
export interface CheckDeps {
  /** The agent's state, or null when there is no state file; throws for a broken one. */
  readState(): AgentState | null;
  /** READ KEYS of `device` (UNIT ATTENTIONs already retried by the library). */
  readKeys(device: string, timeoutMs: number): Promise<bigint[]>;
  sleep(ms: number): Promise<void>;
  stderr(text: string): void;
  /**
   * Reboot the node at once (the addon's reboot(2)). The real one does not
   * return, or throws (EPERM…); a test's fake records the call and returns.
   */
  rebootNow(): void;
}

/** The exit codes. */
export const CheckExit = { OK: 0, FENCED: 1, USAGE: 2 } as const;

interface CheckOptions {
  mode: 'test' | 'repair';
  repairCode: number;
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
  hardReboot: boolean;
}

const USAGE = `usage: fence_scsi_pr_check [test | repair CODE] [--hard-reboot] [--retries N] [--retry-delay-ms MS] [--timeout-ms MS]
  test (default)  exit 0 while this node's key is on every device of the fence
                  agent's state file, 1 when a device answered without it
  repair CODE     check again: 0 if the key is back everywhere, else CODE
  --hard-reboot   instead of failing on that evidence, reboot at once: reboot(2),
                  no sync, no clean shutdown (if reboot(2) fails: exit as without
                  it); the bin fence_scsi_pr_check_hardreboot always has it, for
                  /etc/watchdog.d, whose programs get no options
`;

function parse(argv: readonly string[]): CheckOptions {
  const o: CheckOptions = { mode: 'test', repairCode: CheckExit.FENCED, retries: 2, retryDelayMs: 1000, timeoutMs: 10_000, hardReboot: false };
  const positionals: string[] = [];
  const int = (name: string, v: string | undefined, lo: number, hi: number): number => {
    const n = v !== undefined && /^\d+$/.test(v) ? Number(v) : NaN;
    if (!(n >= lo && n <= hi)) throw new Error(`${name} must be an integer from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--retries') o.retries = int('--retries', value(), 0, 20);
    else if (flag === '--retry-delay-ms') o.retryDelayMs = int('--retry-delay-ms', value(), 0, 60_000);
    else if (flag === '--timeout-ms') o.timeoutMs = int('--timeout-ms', value(), 1, 3_600_000);
    else if (a === '--hard-reboot') o.hardReboot = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else positionals.push(a);
  }
  if (positionals[0] === 'repair') {
    o.mode = 'repair';
    o.repairCode = int('repair CODE', positionals[1], 1, 255);
    if (positionals.length > 2) throw new Error(`unexpected ${positionals.slice(2).join(' ')}`);
  } else if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'test')) {
    throw new Error(`unexpected ${positionals.join(' ')}`);
  }
  return o;
}

type DeviceOutcome = { device: string; state: 'registered' | 'absent' | 'unreadable'; detail: string };

async function checkDevice(device: string, key: bigint, o: CheckOptions, deps: CheckDeps): Promise<DeviceOutcome> {
  let last: DeviceOutcome = { device, state: 'unreadable', detail: 'not read' };
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    if (attempt > 0) await deps.sleep(o.retryDelayMs);
    try {
      const keys = await deps.readKeys(device, o.timeoutMs);
      if (keys.includes(key)) return { device, state: 'registered', detail: '' };
      last = { device, state: 'absent', detail: `keys: ${keys.length > 0 ? keys.map((k) => `0x${k.toString(16)}`).join(' ') : 'none'}` };
    } catch (e) {
      last = { device, state: 'unreadable', detail: e instanceof Error ? e.message : String(e) };
    }
  }
  return last;
}

/** Run the check; resolves with the exit code. Never throws. */
export async function runCheck(argv: readonly string[], deps: CheckDeps): Promise<number> {
  let o: CheckOptions;
  try {
    o = parse(argv);
  } catch (e) {
    deps.stderr(`fence_scsi_pr_check: ${(e as Error).message}\n${USAGE}`);
    return CheckExit.USAGE;
  }
  let state: AgentState | null;
  try {
    state = deps.readState();
  } catch (e) {
    deps.stderr(`fence_scsi_pr_check: ${(e as Error).message}; nothing checked\n`);
    return CheckExit.OK;
  }
  if (!state || state.devices.length === 0) {
    deps.stderr('fence_scsi_pr_check: no fence_scsi_pr state (this node was never unfenced by the agent); nothing to check\n');
    return CheckExit.OK;
  }
  const key = state.key;
  const outcomes = await Promise.all(state.devices.map((d) => checkDevice(d, key, o, deps)));
  for (const u of outcomes.filter((x) => x.state === 'unreadable')) {
    deps.stderr(`fence_scsi_pr_check: ${u.device}: cannot be read (${u.detail}); no evidence either way\n`);
  }
  const absent = outcomes.filter((x) => x.state === 'absent');
  if (absent.length === 0) return CheckExit.OK;
  for (const a of absent) deps.stderr(`fence_scsi_pr_check: ${a.device}: key 0x${key.toString(16)} is not registered (${a.detail}): this node was fenced\n`);
  const code = o.mode === 'repair' ? o.repairCode : CheckExit.FENCED;
  if (!o.hardReboot) return code;
  deps.stderr(
    `fence_scsi_pr_check: fenced (key 0x${key.toString(16)} not registered on ${absent.map((a) => a.device).join(', ')}): rebooting now (reboot(2), no sync)\n`,
  );
  try {
    deps.rebootNow();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    deps.stderr(`fence_scsi_pr_check: cannot reboot (${why}); exit ${code} so that the watchdog daemon reboots this node\n`);
  }
  return code;
}
