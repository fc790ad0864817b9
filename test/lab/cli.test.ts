/**
 * The compiled `scsi-pr` tool (dist/cli/scsi-pr.js) against the real SAN,
 * cross-checked with sg_persist on the same devices: every PR IN action's text
 * must equal `sg_persist -n`'s byte for byte, every PR OUT action's effect is
 * read back with sg_persist, and the JSON forms carry the same facts.
 * Then fence / unfence / status over 3 nodes x 3 LUNs x 2 paths.
 *
 * LUNs 1–4 are shared with other lab files (sequentially): their PR state is
 * wiped before and after.
 *
 * Runs against both lab targets (`--target lio|tgt`). Where tgt 1.0.85 refuses
 * what LIO does (READ FULL STATUS, PREEMPT AND ABORT, APTPL, ALL_TG_PT,
 * SPEC_I_PT, REGISTER AND MOVE with an SPC TransportID: see
 * target-differences.test.ts), the test expects the refusal on tgt — scsi-pr's
 * exit status equal to sg_persist's, the sense on stderr, nothing changed — and
 * then brings the LU to the state LIO's success leaves, so the story goes on
 * the same on both.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { labMap, labTarget, labTools, dev, sgPersistKeys, sgPersistReservation, type LabMap, type LabTarget } from './lab-env';

const CLI = join(__dirname, '..', '..', 'dist', 'cli', 'scsi-pr.js');
const LUNS = [1, 2, 3, 4];
const PR_LUN = 1; // single-device tests
const MULTI_LUNS = [2, 3, 4]; // fence/unfence/status
const K = { 1: '0x5c5c0001', 2: '0x5c5c0002', 3: '0x5c5c0003' } as Record<number, string>;
const TARGET = labTarget();
/** One expectation per lab target. */
const expected = <T>(t: Record<LabTarget, T>): T => t[TARGET];
/** sg_persist's (and scsi-pr's) exit status for ILLEGAL REQUEST. */
const EXIT_ILLEGAL_REQUEST = 5;
/** scsi-pr's stderr for a service action tgt 1.0.85 does not implement. */
const INVALID_FIELD_IN_CDB = /ILLEGAL REQUEST: INVALID FIELD IN CDB \(asc 0x24, ascq 0x00\)/;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run a program without blocking the event loop (vitest's worker must keep answering its RPC). */
function exec(file: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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

function cli(...args: string[]): Promise<Run> {
  return exec(process.execPath, [CLI, ...args]);
}

/**
 * Many command lines through the CLI's `main` in one Node.js process: exit
 * code, stdout and stderr of each exactly as the tool's own process gives
 * them (the bin only sets process.exitCode from main's result), without a
 * Node.js start per line (seconds each inside User-Mode Linux).
 */
async function cliBatch(argvs: string[][]): Promise<Run[]> {
  const script = `const { main } = require(${JSON.stringify(CLI)});
(async () => {
  const runs = [];
  for (const argv of JSON.parse(process.argv[1])) {
    let stdout = '', stderr = '';
    const status = await main(argv, { out: (t) => (stdout += t), err: (t) => (stderr += t), stderrIsTTY: false });
    runs.push({ status, stdout, stderr });
  }
  process.stdout.write(JSON.stringify(runs));
})();`;
  const r = await exec(process.execPath, ['-e', script, JSON.stringify(argvs)]);
  if (r.status !== 0) throw new Error(`cli batch exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Run[];
}

/** sg_persist without the INQUIRY header; UNIT ATTENTIONs (exit 6) are retried like scsi-pr does. */
async function sgp(...args: string[]): Promise<Run> {
  let r: Run = { status: -1, stdout: '', stderr: '' };
  for (let i = 0; i < 5; i++) {
    r = await exec('sg_persist', ['-n', ...args]);
    if (r.status !== 6) break;
  }
  return r;
}

function ok(r: Run, what: string): Run {
  expect(r.status, `${what}: exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  return r;
}

/** scsi-pr's PR IN text and sg_persist's must be identical. */
async function samePrIn(sg: string, flag: string): Promise<string> {
  const ours = ok(await cli(flag, sg), `scsi-pr ${flag} ${sg}`);
  const theirs = ok(await sgp(flag, sg), `sg_persist -n ${flag} ${sg}`);
  expect(ours.stdout, `scsi-pr ${flag} vs sg_persist -n ${flag} on ${sg}`).toBe(theirs.stdout);
  expect(ours.stderr).toBe('');
  return ours.stdout;
}

/**
 * A PR IN or PR OUT the target refuses with ILLEGAL REQUEST, INVALID FIELD IN
 * CDB (tgt: READ FULL STATUS, PREEMPT AND ABORT, APTPL, ALL_TG_PT, SPEC_I_PT):
 * scsi-pr exits 5 with the sense on stderr and nothing on stdout, and
 * sg_persist, sent the same, exits 5 too (pass `sgArgs: null` when sending it
 * again would change the state, e.g. a PR OUT LIO would accept).
 */
async function refused(args: string[], what: string, sgArgs: string[] | null = args): Promise<void> {
  const ours = await cli(...args);
  expect(ours.status, `${what}: scsi-pr ${args.join(' ')}\nstdout: ${ours.stdout}\nstderr: ${ours.stderr}`).toBe(EXIT_ILLEGAL_REQUEST);
  expect(ours.stderr).toMatch(INVALID_FIELD_IN_CDB);
  expect(ours.stdout).toBe('');
  if (sgArgs) expect((await sgp(...sgArgs)).status, `${what}: sg_persist -n ${sgArgs.join(' ')}`).toBe(EXIT_ILLEGAL_REQUEST);
}

/**
 * READ FULL STATUS (-s): LIO answers, and scsi-pr's text must be sg_persist's;
 * tgt 1.0.85 does not implement it and answers ILLEGAL REQUEST, INVALID FIELD IN
 * CDB (SPC-4 defines READ FULL STATUS, REPORT CAPABILITIES reports no way to
 * say it is missing), so both tools exit 5. Returns LIO's text, or null on tgt.
 */
async function fullStatus(sg: string, flag = '-s'): Promise<string | null> {
  if (expected({ lio: 'answers', tgt: 'refuses' }) === 'refuses') {
    await refused([flag, sg], 'READ FULL STATUS on tgt');
    return null;
  }
  return samePrIn(sg, flag);
}

/** Keys as sg_persist -k lists them (UNIT ATTENTION retried: a preempted node's devices report one). */
async function keysOf(sg: string): Promise<string[]> {
  const r = ok(await sgp('-k', sg), `sg_persist -k ${sg}`);
  return [...r.stdout.matchAll(/^\s+(0x[0-9a-f]+)\s*$/gim)].map((m) => m[1]!.toLowerCase());
}

const SG_TYPES: Record<string, number> = {
  'write exclusive': 1,
  'exclusive access': 3,
  'write exclusive, registrants only': 5,
  'exclusive access, registrants only': 6,
  'write exclusive, all registrants': 7,
  'exclusive access, all registrants': 8,
};

/** The reservation as sg_persist -r reports it, or null. */
async function reservationOf(sg: string): Promise<{ key: string; type: number } | null> {
  const r = ok(await sgp('-r', sg), `sg_persist -r ${sg}`);
  if (/there is NO reservation held/.test(r.stdout)) return null;
  const key = /Key=(0x[0-9a-f]+)/i.exec(r.stdout)?.[1];
  const type = /type:\s*(.+)$/im.exec(r.stdout)?.[1]?.trim().toLowerCase();
  return { key: key!.toLowerCase(), type: SG_TYPES[type!] ?? -1 };
}

function json(r: Run): any {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.status}):\n${r.stdout}\nstderr: ${r.stderr}`);
  }
}

function ioCount(hctl: string): number {
  return parseInt(readFileSync(`/sys/bus/scsi/devices/${hctl}/iorequest_cnt`, 'utf8').trim(), 16);
}

async function generation(sg: string): Promise<number> {
  const m = /PR generation=(0x[0-9a-f]+)/.exec(ok(await sgp('-k', sg), 'sg_persist -k').stdout);
  return Number(m![1]);
}

let map: LabMap;

beforeAll(async () => {
  map = labMap();
  await labTools.resetReservations(LUNS);
  expect(readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node'), 'dist/cli/scsi-pr.js is built (npx tsc)').toBe(true);
});

afterAll(async () => {
  await labTools.resetReservations(LUNS);
});

describe('scsi-pr on one device, against sg_persist', () => {
  const sg = (node: number, lun = PR_LUN, path = 0) => dev(map, node, lun, path).sg;

  it('PR IN on an empty LU prints exactly what sg_persist -n prints (-k, -r, -s, -c, long forms)', async () => {
    expect(await samePrIn(sg(1), '-k')).toMatch(/^ {2}PR generation=0x[0-9a-f]+, there are NO registered reservation keys\n$/);
    expect(await samePrIn(sg(1), '-r')).toMatch(/there is NO reservation held/);
    const full = await fullStatus(sg(1));
    if (TARGET === 'lio') expect(full).toMatch(/No full status descriptors/);
    expect(await samePrIn(sg(1), '-c')).toContain('Report capabilities response:');
    for (const f of ['--read-keys', '--read-reservation', '--report-capabilities']) await samePrIn(sg(2), f);
    await fullStatus(sg(2), '--read-full-status');
    // no action at all = READ KEYS, as with sg_persist
    expect(ok(await cli(sg(3)), 'scsi-pr DEVICE').stdout).toBe(ok(await sgp('-k', sg(3)), 'sg_persist -k').stdout);
    // -i, -n and -d are accepted as in sg_persist
    expect(ok(await cli('-i', '-n', '-k', '-d', sg(1)), 'scsi-pr -i -n -k -d').stdout).toBe(ok(await sgp('-k', sg(1)), 'sg_persist -k').stdout);
  });

  it('REGISTER (-G), REGISTER AND IGNORE (-I), RESERVE (-R): sg_persist sees the keys and the reservation', async () => {
    ok(await cli('-o', '-G', '-S', K[1]!, sg(1)), 'register node 1');
    ok(await cli('--out', '--register', `--param-sark=${K[2]}`, sg(2)), 'register node 2');
    ok(await cli('-oIS', K[3]!, sg(3)), 'register-ignore node 3 (stacked short options)');
    expect(await keysOf(sg(1))).toEqual([K[1], K[2], K[3]]);
    const keys = await samePrIn(sg(2), '-k');
    expect(keys).toMatch(/^ {2}PR generation=0x[0-9a-f]+, 3 registered reservation keys follow:\n {4}0x5c5c0001\n {4}0x5c5c0002\n {4}0x5c5c0003\n$/);

    ok(await cli('-o', '-R', '-K', K[1]!, '-T', '5', sg(1)), 'reserve node 1');
    expect(await reservationOf(sg(2))).toEqual({ key: K[1], type: 5 });
    expect(await samePrIn(sg(3), '-r')).toContain('    Key=0x5c5c0001\n    scope: LU_SCOPE,  type: Write Exclusive, registrants only\n');
    const full = await fullStatus(sg(3));
    if (TARGET === 'lio') {
      expect(full).toContain('<< Reservation holder >>');
      expect(full).toContain(`iSCSI world wide unique port id: ${map.nodes[0]!.luns.find((l) => l.lun === PR_LUN)!.transportId}`);
    }
  });

  it('--json carries the same facts as sg_persist', async () => {
    const k = json(ok(await cli('--json', '-k', sg(1)), 'json -k'));
    expect(k).toMatchObject({ device: sg(1), action: 'read-keys', keys: [K[1], K[2], K[3]], truncated: false });
    expect(k.generation).toBe(await generation(sg(1)));
    const r = json(ok(await cli('--json', '-r', sg(2)), 'json -r'));
    expect(r.reservation).toMatchObject({ key: K[1], scope: 0, type: 5, typeName: 'write-exclusive-registrants-only' });
    if (TARGET === 'lio') {
      const s = json(ok(await cli('--json', '-s', sg(3)), 'json -s'));
      expect(s.registrations.map((g: any) => g.key)).toEqual([K[1], K[2], K[3]]);
      expect(s.registrations.filter((g: any) => g.reservationHolder).map((g: any) => g.key)).toEqual([K[1]]);
      expect(s.registrations[0].transportId).toMatchObject({ protocol: 'iscsi', name: map.nodes[0]!.iqn });
    } else {
      // tgt refuses READ FULL STATUS: the JSON error carries the sense.
      const s = await cli('--json', '-s', sg(3));
      expect(s.status).toBe(EXIT_ILLEGAL_REQUEST);
      expect(json(s)).toMatchObject({ ok: false, exitCode: EXIT_ILLEGAL_REQUEST, error: { code: 'ERR_ILLEGAL_REQUEST', path: sg(3), sense: { key: 5, asc: 0x24, ascq: 0 } } });
    }
    const c = json(ok(await cli('--json', '-c', sg(1)), 'json -c'));
    const text = ok(await sgp('-c', sg(1)), 'sg_persist -c').stdout;
    expect(c.typeMaskValid).toBe(/Type Mask Valid\(TMV\): 1/.test(text));
    expect(c.specifyInitiatorPortsCapable).toBe(/SIP_C\): 1/.test(text));
    expect(c.typesSupported).toEqual([1, 3, 5, 6, 7, 8]);
    const out = json(ok(await cli('--json', '-o', '-G', '-K', K[3]!, '-S', K[3]!, sg(3)), 'json PR OUT'));
    expect(out).toMatchObject({ ok: true, device: sg(3), action: 'register' });
  });

  it('RESERVATION CONFLICT exits 24, like sg_persist, and changes nothing', async () => {
    const before = await generation(sg(1));
    const ours = await cli('-o', '-R', '-K', K[2]!, '-T', '3', sg(2));
    expect(ours.status, ours.stderr).toBe(24);
    expect(ours.stderr).toMatch(/RESERVATION CONFLICT/);
    expect(ours.stdout).toBe('');
    expect((await sgp('-o', '-R', '-K', K[2]!, '-T', '3', sg(2))).status).toBe(24);
    const j = await cli('--json', '-o', '-R', '-K', K[2]!, '-T', '3', sg(2));
    expect(j.status).toBe(24);
    expect(json(j)).toMatchObject({ ok: false, exitCode: 24, error: { code: 'ERR_RESERVATION_CONFLICT', path: sg(2) } });
    // REGISTER with a wrong current key
    expect((await cli('-o', '-G', '-K', '0x99', '-S', '0x5', sg(2))).status).toBe(24);
    expect(await generation(sg(1))).toBe(before);
  });

  it('RELEASE with the wrong type fails with the same exit status as sg_persist, and changes nothing', async () => {
    const ours = await cli('-o', '-L', '-K', K[1]!, '-T', '3', sg(1));
    const theirs = await sgp('-o', '-L', '-K', K[1]!, '-T', '3', sg(1));
    expect(ours.status, ours.stderr).toBe(theirs.status);
    // SPC says ILLEGAL REQUEST, INVALID RELEASE OF PERSISTENT RESERVATION (26h/04): tgt does; LIO answers RESERVATION CONFLICT.
    expect(ours.status).toBe(expected({ lio: 24, tgt: EXIT_ILLEGAL_REQUEST }));
    expect(ours.stderr).toMatch(expected({ lio: /RESERVATION CONFLICT/, tgt: /ILLEGAL REQUEST: .*\(asc 0x26, ascq 0x04\)/ }));
    expect(await reservationOf(sg(1))).toEqual({ key: K[1], type: 5 });
  });

  it('bad command lines exit 2 before any I/O (the device sees no command)', async () => {
    const target = dev(map, 1, PR_LUN);
    const before = ioCount(target.hctl);
    const gen = await generation(sg(2));
    const bad: string[][] = [
      ['-G', '-S', '0x1', target.sg], // PR OUT action without --out
      ['-o', target.sg], // --out without an action
      ['-o', '-G', '-R', '-S', '1', target.sg], // two actions
      ['-i', '-o', '-G', '-S', '1', target.sg], // --in and --out
      ['-o', '-R', '-K', K[1]!, target.sg], // RESERVE without type
      ['-o', '-R', '-K', K[1]!, '-T', '4', target.sg], // obsolete type
      ['-o', '-C', '-K', 'abc xyz', target.sg], // sg_persist would send 0xabc
      ['-o', '-C', '-K', '0x11112222333344445', target.sg], // 17 digits
      ['-o', '-G', '-S', '0x1', '-T', '5', target.sg], // TYPE does not apply to REGISTER
      ['-o', '-I', '-S', '0x1', '-X', 'iqn.x', target.sg], // TransportID with REGISTER AND IGNORE
      ['-o', '-M', '-K', '1', '-S', '2', '-Q', '1', target.sg], // REGISTER AND MOVE without TransportID
      ['-o', '-G', '-S', '1', '-X', 'bogus', target.sg], // bad TransportID
      ['-k', '-X', 'iqn.x', target.sg], // PR OUT parameter on PR IN
      ['-k', '-r', target.sg], // two PR IN actions
      ['-k', target.sg, sg(2)], // two devices
      ['--timeout', '0', '-k', target.sg],
      ['--bogus', target.sg],
    ];
    // One real process first (the exit status as a shell sees it), the rest in one batch.
    const first = await cli(...bad[0]!);
    expect(first.status, first.stderr).toBe(2);
    const runs = await cliBatch(bad);
    expect(runs[0]).toEqual(first);
    for (const [i, args] of bad.entries()) {
      const r = runs[i]!;
      expect(r.status, `scsi-pr ${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^scsi-pr: .+\nTry 'scsi-pr --help' for more information\.\n$/);
      expect(r.stdout).toBe('');
    }
    expect(ioCount(target.hctl), 'SCSI commands sent to the target device by the bad command lines').toBe(before);
    expect(await generation(sg(2))).toBe(gen);
  });

  it('APTPL (-Z) and ALL_TG_PT (-Y): -c and -s read back like sg_persist (tgt refuses both: exit 5, nothing changes)', async () => {
    // tgt 1.0.85: PTPL_C 0 and ATP_C 0 in REPORT CAPABILITIES; it answers INVALID FIELD IN CDB
    // (SPC-4 asks for INVALID FIELD IN PARAMETER LIST, 26h/00, for an unsupported APTPL).
    const keysBefore = await keysOf(sg(1));
    if (TARGET === 'lio') ok(await cli('-o', '-G', '-K', K[3]!, '-S', K[3]!, '-Z', sg(3)), 'register with APTPL');
    else await refused(['-o', '-G', '-K', K[3]!, '-S', K[3]!, '-Z', sg(3)], 'register with APTPL');
    expect(await samePrIn(sg(1), '-c')).toContain(`Persist Through Power Loss Active(PTPL_A): ${expected({ lio: 1, tgt: 0 })}`);
    expect(await keysOf(sg(1))).toEqual(keysBefore);
    ok(await cli('-o', '-G', '-K', K[3]!, '-S', K[3]!, sg(3)), 'register without APTPL');
    expect(await samePrIn(sg(1), '-c')).toContain('Persist Through Power Loss Active(PTPL_A): 0');
    // node 3 re-registers through all target ports
    ok(await cli('-o', '-G', '-K', K[3]!, '-S', '0', sg(3)), 'unregister node 3');
    if (TARGET === 'lio') {
      ok(await cli('-o', '-G', '-S', K[3]!, '-Y', sg(3)), 'register node 3 with ALL_TG_PT');
      const full = await samePrIn(sg(1), '-s');
      expect(full).toContain('    Key=0x5c5c0003\n      All target ports bit set\n      not reservation holder\n');
    } else {
      await refused(['-o', '-G', '-S', K[3]!, '-Y', sg(3)], 'register node 3 with ALL_TG_PT');
      expect(await keysOf(sg(1))).toEqual([K[1], K[2]]);
      // As LIO leaves it: node 3 registered (through its one I_T nexus here).
      ok(await cli('-o', '-G', '-S', K[3]!, sg(3)), 'register node 3 without ALL_TG_PT');
    }
  });

  it('PREEMPT (-P) and PREEMPT AND ABORT (-A); the preempted node\'s UNIT ATTENTION is retried', async () => {
    ok(await cli('-o', '-P', '-K', K[2]!, '-S', K[3]!, '-T', '5', sg(2)), 'node 2 preempts node 3');
    expect(await keysOf(sg(1))).toEqual([K[1], K[2]]);
    if (TARGET === 'lio') {
      ok(await cli('-o', '-A', '-K', K[2]!, '-S', K[1]!, '-T', '5', sg(2)), 'node 2 preempts-and-aborts node 1');
    } else {
      // tgt 1.0.85 has no PREEMPT AND ABORT (INVALID FIELD IN CDB) and changes nothing; PREEMPT does the rest.
      await refused(['-o', '-A', '-K', K[2]!, '-S', K[1]!, '-T', '5', sg(2)], 'node 2 preempts-and-aborts node 1', null);
      expect(await keysOf(sg(1))).toEqual([K[1], K[2]]);
      expect(await reservationOf(sg(1))).toEqual({ key: K[1], type: 5 });
      ok(await cli('-o', '-P', '-K', K[2]!, '-S', K[1]!, '-T', '5', sg(2)), 'node 2 preempts node 1');
    }
    expect(await keysOf(sg(2))).toEqual([K[2]]);
    expect(await reservationOf(sg(2))).toEqual({ key: K[2], type: 5 });
    // Node 1's next command meets a UNIT ATTENTION: SPC-4 says 2Ah/05 REGISTRATIONS PREEMPTED
    // (LIO); tgt sends 2Ah/03 RESERVATIONS PREEMPTED. scsi-pr retries it either way.
    const r = ok(await cli('-v', '-k', sg(1)), 'node 1 reads keys after being preempted');
    expect(r.stdout).toMatch(/1 registered reservation key follows:\n {4}0x5c5c0002\n/);
    expect(r.stderr).toMatch(/retried after UNIT ATTENTION/);
    expect(r.stderr).toMatch(expected({ lio: /REGISTRATIONS PREEMPTED/, tgt: /RESERVATIONS PREEMPTED/ }));
    await samePrIn(sg(3), '-r');
  });

  it('REGISTER AND MOVE (-M -X -Q -U) moves the reservation to node 1 (tgt: refused, ILLEGAL REQUEST)', async () => {
    const tid = map.nodes[0]!.luns.find((l) => l.lun === PR_LUN)!.transportId;
    const move = ['-o', '-M', '-K', K[2]!, '-S', K[1]!, '-X', tid, '-Q', '1', '-U', sg(2)];
    if (TARGET === 'tgt') {
      // tgt 1.0.85 matches the TransportID against its own malformed one (see
      // target-differences.test.ts) and cannot find node 1: INVALID FIELD IN CDB, nothing moved.
      await refused(move, 'register-and-move to node 1 on tgt', null);
      expect(await reservationOf(sg(3))).toEqual({ key: K[2], type: 5 });
      expect(await keysOf(sg(3))).toEqual([K[2]]);
      // The state the move leaves on LIO, by other means: node 1 holds type 5, node 2 unregistered.
      ok(await cli('-o', '-G', '-S', K[1]!, sg(1)), 'register node 1');
      ok(await cli('-o', '-L', '-K', K[2]!, '-T', '5', sg(2)), 'node 2 releases');
      ok(await cli('-o', '-R', '-K', K[1]!, '-T', '5', sg(1)), 'node 1 reserves');
      ok(await cli('-o', '-G', '-K', K[2]!, '-S', '0', sg(2)), 'unregister node 2');
      expect(await reservationOf(sg(3))).toEqual({ key: K[1], type: 5 });
      expect(await keysOf(sg(3))).toEqual([K[1]]);
      return;
    }
    ok(await cli(...move), 'register-and-move to node 1');
    expect(await reservationOf(sg(3))).toEqual({ key: K[1], type: 5 });
    expect(await keysOf(sg(3))).toEqual([K[1]]);
    const full = await samePrIn(sg(3), '-s');
    expect(full).toContain(`<< Reservation holder >>`);
    expect(full).toContain(tid);
  });

  it('REGISTER with TransportIDs (SPEC_I_PT, -X repeatable) registers other initiators too', async () => {
    const tid2 = map.nodes[1]!.luns.find((l) => l.lun === PR_LUN)!.transportId;
    const tid3 = map.nodes[2]!.luns.find((l) => l.lun === PR_LUN)!.transportId;
    // SPEC_I_PT is only valid from an unregistered I_T nexus
    ok(await cli('-o', '-G', '-K', K[1]!, '-S', '0', sg(1)), 'unregister node 1');
    const specIPt = ['-o', '-G', '-S', '0x77', '-X', tid2, '--transport-id', tid3, sg(1)];
    if (TARGET === 'lio') ok(await cli(...specIPt), 'register with SPEC_I_PT');
    else {
      // tgt 1.0.85: SIP_C 0, and a parameter list longer than 24 bytes is INVALID FIELD IN CDB.
      await refused(specIPt, 'register with SPEC_I_PT', null);
      expect(await keysOf(sg(2))).toEqual([]);
      for (const n of [1, 2, 3]) ok(await cli('-o', '-G', '-S', '0x77', sg(n)), `node ${n} registers 0x77 itself`);
    }
    expect(await keysOf(sg(2))).toEqual(['0x77', '0x77', '0x77']);
    await fullStatus(sg(2));
    await samePrIn(sg(2), '-k');
  });

  it('REPLACE LOST RESERVATION (--replace-lost) gets the same answer as sg_persist (neither target implements it: RLR_C 0)', async () => {
    const before = await keysOf(sg(1));
    await refused(['-o', '--replace-lost', '-S', '0x78', '-T', '5', sg(1)], 'REPLACE LOST RESERVATION');
    expect(await keysOf(sg(1))).toEqual(before);
  });

  it('CLEAR (-C) removes everything; RELEASE (-L) releases', async () => {
    ok(await cli('-o', '-C', '-K', '0x77', sg(1)), 'clear');
    expect(await samePrIn(sg(2), '-k')).toMatch(/there are NO registered reservation keys/);
    ok(await cli('-o', '-G', '-S', K[1]!, sg(1)), 'register node 1');
    ok(await cli('-o', '-R', '-K', K[1]!, '-T', 'we-ro', sg(1)), 'reserve with a type name');
    expect(await reservationOf(sg(1))).toEqual({ key: K[1], type: 5 });
    ok(await cli('-o', '-L', '-K', K[1]!, '-T', 'write-exclusive-registrants-only', sg(1)), 'release');
    expect(await reservationOf(sg(1))).toBeNull();
    ok(await cli('-o', '-G', '-K', K[1]!, '-S', '0', sg(1)), 'unregister');
    expect(await keysOf(sg(1))).toEqual([]);
  });

  it('a missing device exits 3; a block device is used through its sg node', async () => {
    const r = await cli('-k', '/dev/sg-does-not-exist');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/no such device/);
    const d = dev(map, 2, PR_LUN);
    expect(ok(await cli('-k', d.sd), 'scsi-pr -k /dev/sdX').stdout).toBe(ok(await sgp('-k', d.sg), 'sg_persist -k').stdout);
  });
});

describe('scsi-pr fence / unfence / status on 3 nodes', () => {
  /** node's devices for the multi-device LUNs on both paths (sd names, multipath-style). */
  const devicesOf = (node: number) => map.devices.filter((d) => d.node === node && MULTI_LUNS.includes(d.lun)).map((d) => d.sd);
  const sgOf = (node: number, lun: number) => dev(map, node, lun).sg;

  it('unfence registers every path of every LU and takes one reservation', async () => {
    for (const node of [1, 2, 3]) {
      const r = ok(await cli('unfence', '--key', K[node]!, ...devicesOf(node)), `unfence node ${node}`);
      expect(r.stdout).toMatch(new RegExp(`unfence: ${K[node]} registered on all 3 logical unit\\(s\\)`));
      expect(r.stderr, 'no progress line when stderr is not a terminal').toBe('');
    }
    for (const lun of MULTI_LUNS) {
      expect((await keysOf(sgOf(1, lun))).sort()).toEqual([K[1], K[1], K[2], K[2], K[3], K[3]].sort());
      expect(await reservationOf(sgOf(1, lun))).toEqual({ key: K[1], type: 5 });
    }
    const j = json(ok(await cli('unfence', '--json', '--key', K[2]!, ...devicesOf(2)), 'unfence --json (again: idempotent)'));
    expect(j).toMatchObject({ operation: 'unfence', key: K[2], ok: true });
    expect(j.devices).toHaveLength(3);
    for (const d of j.devices) expect(d).toMatchObject({ ok: true, pathsRegistered: 2, paths: 2, reservation: 'existing', holder: K[1] });
  });

  it('status: 0 when registered everywhere, 3 when nowhere; --json lists every LU', async () => {
    const r = ok(await cli('status', '--key', K[1]!, ...devicesOf(1)), 'status node 1');
    expect(r.stdout).toMatch(/status: 0x5c5c0001 registered on 3 of 3 logical unit\(s\)/);
    expect(r.stdout).toMatch(/holder/);
    const j = json(ok(await cli('status', '--json', '--key', K[2]!, ...devicesOf(2)), 'status --json'));
    expect(j.registeredEverywhere).toBe(true);
    expect(j.devices).toHaveLength(3);
    for (const d of j.devices) {
      // tgt: READ FULL STATUS refused, read with READ KEYS (whose entries still count our 2 I_T nexuses).
      expect(d).toMatchObject({ reachable: true, registered: true, registrations: 2, reservationHolder: false, reservation: { key: K[1], type: 5 }, source: expected({ lio: 'read-full-status', tgt: 'read-keys' }) });
      expect(d.keys).toHaveLength(6);
    }
    const none = await cli('status', '--key', '0x4242', ...devicesOf(2));
    expect(none.status).toBe(3);
    expect(none.stdout).toMatch(/registered on 0 of 3/);
  });

  it('fence: node 1 fences node 3 everywhere (exit 0), verified by sg_persist', async () => {
    const r = ok(await cli('fence', '--key', K[1]!, '--victim-key', K[3]!, ...devicesOf(1)), 'node 1 fences node 3');
    expect(r.stdout).toMatch(/fence: 0x5c5c0003 fenced on all 3 logical unit\(s\)/);
    // tgt refuses PREEMPT AND ABORT: fence() used PREEMPT and the summary says so (LIO: no such line).
    const withoutAbort = /fence: the target refused PREEMPT AND ABORT on (\d+) logical unit\(s\), fenced with PREEMPT/.exec(r.stdout)?.[1];
    expect(withoutAbort).toBe(expected({ lio: undefined, tgt: '3' }));
    for (const lun of MULTI_LUNS) {
      expect((await keysOf(sgOf(2, lun))).sort()).toEqual([K[1], K[1], K[2], K[2]].sort());
      expect(await reservationOf(sgOf(2, lun))).toEqual({ key: K[1], type: 5 });
    }
    const st = await cli('status', '--key', K[3]!, ...devicesOf(3));
    expect(st.status, 'node 3 is registered nowhere').toBe(3);
  });

  it('fence by a fenced node is LOST (exit 24) and changes nothing', async () => {
    const gens = await Promise.all(MULTI_LUNS.map((l) => generation(sgOf(1, l))));
    const r = await cli('fence', '--json', '--key', K[3]!, '--victim-key', K[2]!, ...devicesOf(3));
    expect(r.status, r.stderr).toBe(24);
    const j = json(r);
    expect(j).toMatchObject({ operation: 'fence', ok: false, lost: true });
    expect(j.devices.every((d: any) => d.outcome === 'lost')).toBe(true);
    expect(await Promise.all(MULTI_LUNS.map((l) => generation(sgOf(1, l))))).toEqual(gens);
    expect((await keysOf(sgOf(1, 2))).filter((k) => k === K[2])).toHaveLength(2);
  });

  it('fence with one unusable device is partial (exit 1); only unusable devices: exit 3', async () => {
    const r = await cli('fence', '--key', K[1]!, '--victim-key', K[2]!, ...devicesOf(1), '/dev/sd-missing');
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/NOT fenced: \/dev\/sd-missing/);
    for (const lun of MULTI_LUNS) expect(await keysOf(sgOf(1, lun))).toEqual([K[1], K[1]]);
    const none = await cli('fence', '--key', K[1]!, '--victim-key', K[2]!, '/dev/sd-missing', '/dev/sg-missing');
    expect(none.status, none.stdout + none.stderr).toBe(3);
    const st = await cli('status', '--key', K[1]!, '/dev/sd-missing');
    expect(st.status).toBe(4);
  });

  it('unfence after being fenced re-registers (node 2 comes back)', async () => {
    ok(await cli('unfence', '--key', K[2]!, ...devicesOf(2)), 'unfence node 2');
    ok(await cli('status', '--key', K[2]!, ...devicesOf(2)), 'status node 2');
    for (const lun of MULTI_LUNS) expect((await keysOf(sgOf(3, lun))).sort()).toEqual([K[1], K[1], K[2], K[2]].sort());
  });

  it('sub-command usage errors exit 2', async () => {
    const lines = [
      ['fence', '--key', K[1]!, ...devicesOf(1)],
      ['fence', '--key', K[1]!, '--victim-key', K[1]!, ...devicesOf(1)],
      ['unfence', ...devicesOf(1)],
      ['unfence', '--key', '0', ...devicesOf(1)],
      ['status', '--key', K[1]!],
      ['status', '--key', K[1]!, '--aptpl', ...devicesOf(1)],
      ['fence', '--key', K[1]!, '--victim-key', K[2]!, '--lvm', '/dev/sdb'],
      ['status', '--key', K[1]!, '--json', '--matrix', ...devicesOf(1)],
      ['status', '--key', K[1]!, '--matrix', '--list', ...devicesOf(1)],
      ['fence', '--key', K[1]!, '--victim-key', K[2]!, '--matrix', ...devicesOf(1)],
    ];
    const runs = await cliBatch(lines);
    for (const [i, args] of lines.entries()) {
      const r = runs[i]!;
      expect(r.status, `scsi-pr ${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`Try 'scsi-pr ${args[0]} --help'`));
    }
  });

  it('status --matrix: a split fence (the victim left on one LU) drawn as sg_persist sees it', async () => {
    // Node 3 (fenced everywhere above) comes back on one LU only, through both of its paths
    // (sgp retries the UNIT ATTENTION the preemption left for node 3).
    const splitLun = MULTI_LUNS[1]!;
    for (const path of [0, 1]) ok(await sgp('-o', '-I', '-S', K[3]!, dev(map, 3, splitLun, path).sg), `sg_persist -o -I -S ${K[3]} on node 3 path ${path}`);
    const started = performance.now();
    const m = await cli('status', '--matrix', '--key', K[1]!, ...devicesOf(1));
    const ms = performance.now() - started;
    console.log(`scsi-pr status --matrix (one process, ${ms.toFixed(0)} ms):\n${m.stdout}`);
    expect(m.status, m.stderr).toBe(0); // our key is on every LU
    expect(m.stderr).toBe('');

    const lines = m.stdout.split('\n');
    for (const l of lines) expect(l.length, `wider than 80 columns: ${l}`).toBeLessThanOrEqual(80);
    const header = lines[0]!.split(/ {2,}/);
    expect(header.slice(0, 4)).toEqual(['LU', 'WWN', 'gen', 'type']);
    // Full keys head the columns when they fit, else letters named under "keys:".
    const named = new Map([.../\b([A-Z]+) (0x[0-9a-f]+)/g[Symbol.matchAll](/^keys: [^]*?(?=\n\S)/m.exec(m.stdout)?.[0] ?? '')].map((x) => [x[1]!, x[2]!]));
    const columns = header.slice(4).map((h) => h.replace(/ ours$/, '')).map((h) => named.get(h) ?? h);
    expect(header[4], 'our key is the first key column').toMatch(/ ours$/);
    expect(columns[0]).toBe(K[1]);
    expect(new Set(columns)).toEqual(new Set([K[1], K[2], K[3]]));
    const rows = lines.slice(2, 2 + MULTI_LUNS.length).map((l) => l.split(/ {2,}/));
    const seen: number[] = [];
    for (const [label, , gen, type, ...cells] of rows) {
      const lab = map.devices.find((d) => d.node === 1 && d.sd === `/dev/${label}`);
      expect(lab, `row ${label} is one of node 1's devices`).toBeDefined();
      seen.push(lab!.lun);
      const sg = sgOf(1, lab!.lun);
      const keys = await sgPersistKeys(sg);
      const res = await sgPersistReservation(sg);
      expect(Number(gen), `generation of LUN ${lab!.lun}`).toBe(await generation(sg));
      expect(type).toBe(res ? { 1: 'WE', 3: 'EA', 5: 'WE-RO', 6: 'EA-RO', 7: 'WE-AR', 8: 'EA-AR' }[res.type] : '-');
      for (const [j, key] of columns.entries()) {
        const n = keys.filter((k) => k === key).length;
        const holder = res?.key === key ? '*' : '';
        // tgt has no READ FULL STATUS: status reads READ KEYS, which does not say which I_T
        // nexus an entry is, so the matrix shows '+' (registered, count unknown).
        const registered = expected({ lio: key === K[1] ? `${n}/2` : `${n}`, tgt: '+' });
        expect(cells[j], `LUN ${lab!.lun}, key ${key}: sg_persist lists it ${n} time(s)${holder ? ', holder' : ''}`).toBe(n === 0 ? '.' : `${registered}${holder}`);
      }
    }
    expect(seen.sort()).toEqual([...MULTI_LUNS].sort());
    const footer = lines[2 + MULTI_LUNS.length]!.trim().split(/ {2,}/);
    expect(footer).toEqual(['registered on', '3/3', '3/3', '1/3!']);
    expect(m.stdout).toMatch(new RegExp(`! ${K[3]} is registered on 1 of 3 readable LUs`));
    expect(m.stdout).toMatch(/\nstatus: 0x5c5c0001 registered on 3 of 3 logical unit\(s\)\n$/);
    // The matrix says how it read each LU: only on tgt, every LU is named as read without READ FULL STATUS.
    const noFullStatus = /^- (.+): no READ FULL STATUS on this target \(ILLEGAL REQUEST\)/m.exec(m.stdout)?.[1];
    expect(noFullStatus?.split(', ').sort() ?? []).toEqual(expected({ lio: [], tgt: rows.map((r) => r[0]!).sort() }));

    // Not a terminal and no flag: the list form as before (= --list); --json carries every registrant.
    const [plain, list, j] = await cliBatch([
      ['status', '--key', K[1]!, ...devicesOf(1)],
      ['status', '--list', '--key', K[1]!, ...devicesOf(1)],
      ['status', '--json', '--key', K[1]!, ...devicesOf(1)],
    ]);
    expect(plain).toEqual(list);
    expect(plain!.stdout).toMatch(/^\/dev\/sd\w+ +holder +2 path\(s\) with our key/);
    const lu = json(j!).devices.find((d: any) => d.keys.includes(K[3]));
    // READ KEYS (tgt) gives no per-nexus count: `nexuses` is absent from the JSON.
    expect(lu).toMatchObject({
      source: expected({ lio: 'read-full-status', tgt: 'read-keys' }),
      paths: 2,
      registrants: expect.arrayContaining(
        expected({
          lio: [{ key: K[1], nexuses: 2, reservationHolder: true }, { key: K[2], nexuses: 2, reservationHolder: false }, { key: K[3], nexuses: 2, reservationHolder: false }],
          tgt: [{ key: K[1], reservationHolder: true }, { key: K[2], reservationHolder: false }, { key: K[3], reservationHolder: false }],
        }),
      ),
    });
    expect(lu.registrants).toHaveLength(3);
    for (const g of lu.registrants) expect('nexuses' in g).toBe(TARGET === 'lio');
  });
});
