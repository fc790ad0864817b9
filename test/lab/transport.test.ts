/**
 * The transports on the real kernel: the sg v3 async channel (/dev/sgN) and the
 * SG_IO ioctl path (/dev/sdX) under load, close, dead paths, aborts, syscall
 * failures and UNIT ATTENTION accounting. Real LIO target, real open-iscsi
 * initiators, no mocks. This file owns LUNs 9, 10 and 11 and nothing else; the
 * SAN-wide disruptions it causes (netem delay/loss on loopback) are undone and
 * every iSCSI session is back before the file ends.
 *
 * Only "settles before a generous bound" is timed: hanging is the failure mode.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as pr from '../../lib';
import { labMap, dev, labTools, run, type LabMap } from './lab-env';

const ROOT = join(__dirname, '..', '..');
const SCRATCH = join(ROOT, '.lab', 'transport-test');
const VITE_NODE = join(ROOT, 'node_modules', 'vite-node', 'vite-node.mjs');
const NODES = [1, 2, 3] as const;
const LUNS = [9, 10, 11] as const;
/** The sg driver's per-fd limit (SG_MAX_QUEUE in scsi/sg.h). */
const SG_MAX_QUEUE = 16;

// ---- helpers -------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Rejects with a "hung" error if `p` does not settle within `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not settle within ${ms} ms (hang)`)), ms);
  });
  return Promise.race([p, hung]).finally(() => clearTimeout(timer));
}

type Outcome<T> = { ok: true; value: T; atMs: number } | { ok: false; error: unknown; atMs: number };

/** Settle `p` into an Outcome stamped with the time since `t0`. */
function outcome<T>(p: Promise<T>, t0 = performance.now()): Promise<Outcome<T>> {
  return p.then(
    (value) => ({ ok: true as const, value, atMs: Math.round(performance.now() - t0) }),
    (error: unknown) => ({ ok: false as const, error, atMs: Math.round(performance.now() - t0) }),
  );
}

function describeOutcome(o: Outcome<unknown>): string {
  if (o.ok) return 'ok';
  const e = o.error as { name?: string; code?: string; hostStatusName?: string; syscall?: string };
  return [e.name, e.code, e.hostStatusName, e.syscall].filter(Boolean).join(':');
}

function tally(os: Outcome<unknown>[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const o of os) t[describeOutcome(o)] = (t[describeOutcome(o)] ?? 0) + 1;
  return t;
}

/** Commands the transport has handed to the kernel and not yet got back (abandoned ones included). */
function inFlight(d: pr.Device): number {
  // Test scaffolding: Device → its CommandLoop (private `commands`) → the transport.
  return (d as unknown as { commands: { transport: { inFlight: number } } }).commands.transport.inFlight;
}

async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string, stepMs = 100): Promise<void> {
  const end = performance.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (performance.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await sleep(stepMs);
  }
}

function readText(p: string): string {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
}

function sessionStates(): string[] {
  const dir = '/sys/class/iscsi_session';
  return readdirSync(dir)
    .filter((s) => /^session\d+$/.test(s))
    .map((s) => readText(join(dir, s, 'state')));
}

function scsiDeviceState(hctl: string): string {
  return readText(`/sys/class/scsi_device/${hctl}/device/state`);
}

/** Run a TypeScript file in a child node (vite-node), as the lab's node with the same environment. */
async function runChild(name: string, source: string, args: string[], opts: { uid?: number; gid?: number } = {}) {
  mkdirSync(SCRATCH, { recursive: true });
  const file = join(SCRATCH, `${name}.ts`);
  writeFileSync(file, source);
  const r = await run(process.execPath, [VITE_NODE, file, ...args], { timeoutMs: 120_000, ...opts });
  return { status: r.signal ? null : r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** What a sanitizer (ASan/UBSan build, see scripts/test-sanitizers.sh) or a native crash leaves on stderr. */
const NATIVE_TROUBLE = /AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|LeakSanitizer|Segmentation fault|Assertion|FATAL ERROR|Abort/;

const KEY = (n: number) => 0x7a5_0000_0000n + BigInt(n);

// ---- the SAN: state owned by this file ----------------------------------------------

let map: LabMap;
const sg = (node: number, lun: number, path = 0) => dev(map, node, lun, path).sg;
const sd = (node: number, lun: number, path = 0) => dev(map, node, lun, path).sd;

/** Undo list for SAN-wide changes, run by afterAll even when a test failed half-way. */
const undo = {
  netem: false,
  removedLuns: new Set<number>(),
  /** A LUN was unmapped/mapped: LIO queued REPORTED LUNS DATA HAS CHANGED on every LUN of every ACL. */
  lunInventoryChanged: false,
  deleted: [] as Array<{ hctl: string; lun: number }>,
};

async function setNetem(o: { delayMs?: number; lossPct?: number }): Promise<void> {
  undo.netem = Boolean(o.delayMs || o.lossPct);
  await labTools.setNetem(o);
}

/** Remove every registration and the reservation of `lun` (through node 1, path 0). */
async function clearLun(lun: number): Promise<void> {
  const d = await pr.open(sg(1, lun), { timeoutMs: 10_000 });
  try {
    await d.registerAndIgnoreExistingKey({ newKey: KEY(0xc1ea) });
    await d.clear({ key: KEY(0xc1ea) });
  } finally {
    await d.close();
  }
}

/** TEST UNIT READY on every node and path of `lun` until it passes; returns the UAs absorbed per device. */
async function drainUnitAttentions(lun: number, deadlineMs = 60_000): Promise<Record<string, pr.DecodedSense[]>> {
  const seen: Record<string, pr.DecodedSense[]> = {};
  for (const d of map.devices.filter((x) => x.lun === lun)) {
    await until(
      async () => {
        try {
          const h = await pr.open(d.sg, { timeoutMs: 5_000 });
          try {
            const r = await h.testUnitReady();
            seen[`n${d.node}p${d.path}`] = [...(seen[`n${d.node}p${d.path}`] ?? []), ...r.unitAttentions];
            return true;
          } finally {
            await h.close();
          }
        } catch {
          return false;
        }
      },
      deadlineMs,
      `TEST UNIT READY on ${d.sg} (node ${d.node} LUN ${lun} path ${d.path})`,
      500,
    );
  }
  return seen;
}

/**
 * Unmapping or mapping a LUN makes LIO queue the UNIT ATTENTION REPORTED LUNS
 * DATA HAS CHANGED (3Fh/0Eh) for every other LUN of every initiator ACL
 * (target_luns_data_has_changed), i.e. on LUNs other files own. Files that use
 * sg3_utils (which never retries a UA) would then fail on their first command.
 * So after removeLun/restoreLun, every nexus gets TEST UNIT READY until that UA
 * (ours) is consumed or the unit is ready: a no-op command that changes no state
 * other than the UA this file caused.
 */
async function consumeLunsChangedUa(): Promise<void> {
  for (const d of map.devices) {
    if (!d.sg || !existsSync(d.sg)) continue;
    const h = await pr.open(d.sg, { timeoutMs: 10_000, retries: { unitAttention: 0 } });
    try {
      for (let i = 0; i < 8; i++) {
        const o = await outcome(h.testUnitReady());
        if (o.ok) break;
        const e = o.error;
        if (!(e instanceof pr.ScsiSenseError) || e.sense.senseKey !== 6) throw e;
        if (e.sense.asc === 0x3f && e.sense.ascq === 0x0e) break;
      }
    } finally {
      await h.close();
    }
  }
  undo.lunInventoryChanged = false;
}

/**
 * Wait until the SAN is as the lab built it: every iSCSI session logged in,
 * every SCSI device of the map running (read from sysfs only: other LUNs are
 * not touched), and every device of our LUNs answering.
 */
async function waitForHealthySan(deadlineMs = 180_000): Promise<void> {
  const sessions = map.options.nodes * map.options.paths;
  await until(
    () => {
      const s = sessionStates();
      return s.length === sessions && s.every((x) => x === 'LOGGED_IN');
    },
    deadlineMs,
    `all ${sessions} iSCSI sessions LOGGED_IN (now: ${sessionStates().join(', ')})`,
    250,
  );
  await until(() => map.devices.every((d) => scsiDeviceState(d.hctl) === 'running'), deadlineMs, 'every SCSI device of the lab running', 250);
  for (const lun of LUNS) await drainUnitAttentions(lun, deadlineMs);
}

beforeAll(async () => {
  map = labMap();
  expect(map.options.nodes).toBeGreaterThanOrEqual(3);
  expect(map.options.luns).toBeGreaterThanOrEqual(12);
  expect(map.options.paths).toBeGreaterThanOrEqual(2);
  for (const lun of LUNS) await clearLun(lun);
});

afterAll(async () => {
  if (undo.netem) await labTools.setNetem({});
  for (const lun of undo.removedLuns) labTools.restoreLun(lun);
  for (const { hctl } of undo.deleted.splice(0)) rescanLun(hctl);
  map = labTools.map(); // rewrites SCSI_PR_LAB_MAP for the files after this one
  await waitForHealthySan();
  if (undo.lunInventoryChanged) await consumeLunsChangedUa();
  for (const lun of LUNS) await clearLun(lun);
});

function rescanLun(hctl: string): void {
  const [host, channel, target, lun] = hctl.split(':');
  writeFileSync(`/sys/class/scsi_host/host${host}/scan`, `${channel} ${target} ${lun}`);
}

// ---- 1. many commands in flight -------------------------------------------------------

describe('many commands in flight', () => {
  it(`200 concurrent readKeys on one /dev/sgN (more than the driver's ${SG_MAX_QUEUE}) all resolve with the same answer`, async () => {
    const devs = await Promise.all(NODES.map((n) => pr.open(sg(n, 9))));
    try {
      await Promise.all(devs.map((d, i) => d.register({ newKey: KEY(0x100 + i) })));
      const d = devs[0]!;
      expect(d.info.transport).toBe('sg-async');
      const calls = Array.from({ length: 200 }, () => d.readKeys());
      // Submission is synchronous: the kernel holds exactly its limit, the rest wait in the channel's queue.
      expect(inFlight(d)).toBe(SG_MAX_QUEUE);
      const results = await within(Promise.all(calls), 60_000, '200 readKeys');
      const expected = { generation: results[0]!.generation, keys: [KEY(0x100), KEY(0x101), KEY(0x102)], truncated: false, unitAttentions: [] };
      expect(expected.generation).toBeGreaterThanOrEqual(3);
      for (const r of results) expect(r).toMatchObject(expected);
      expect(inFlight(d)).toBe(0);
    } finally {
      await Promise.all(devs.map((d) => d.close()));
      await clearLun(9);
    }
  });

  it('200 mixed PR IN commands in flight on one fd: every completion reaches its own caller (pack ids)', async () => {
    const a = await pr.open(sg(1, 9));
    const b = await pr.open(sg(2, 9));
    try {
      await a.register({ newKey: KEY(0x201) });
      await b.register({ newKey: KEY(0x202) });
      await a.reserve({ key: KEY(0x201), type: 'write-exclusive-registrants-only' });
      const [keys, reservation, caps, full] = await Promise.all([a.readKeys(), a.readReservation(), a.reportCapabilities(), a.readFullStatus()]);
      const kinds = ['keys', 'reservation', 'caps', 'full'] as const;
      const calls = Array.from({ length: 200 }, (_, i) => {
        const kind = kinds[i % 4]!;
        const p: Promise<unknown> = kind === 'keys' ? a.readKeys() : kind === 'reservation' ? a.readReservation() : kind === 'caps' ? a.reportCapabilities() : a.readFullStatus();
        return p.then((value) => ({ kind, value }));
      });
      const results = await within(Promise.all(calls), 60_000, '200 mixed PR IN');
      const want = { keys, reservation, caps, full };
      for (const r of results) expect(r.value).toEqual(want[r.kind]);
      expect(reservation.reservation).toMatchObject({ key: KEY(0x201), type: 5 });
      expect(full.registrations.map((x) => [x.key, x.reservationHolder])).toEqual([
        [KEY(0x201), true],
        [KEY(0x202), false],
      ]);
    } finally {
      await a.close();
      await b.close();
      await clearLun(9);
    }
  });

  it('concurrency across LUNs 9–11, 3 nodes and 2 paths at once (18 fds, 450 commands)', async () => {
    const targets = map.devices.filter((d) => (LUNS as readonly number[]).includes(d.lun) && d.node <= 3);
    expect(targets).toHaveLength(18);
    const devs = await Promise.all(targets.map((t) => pr.open(t.sg)));
    const keyOf = (i: number) => KEY(0x300 + targets[i]!.node * 16 + targets[i]!.path);
    try {
      await within(Promise.all(devs.map((d, i) => d.register({ newKey: keyOf(i) }))), 60_000, '18 concurrent REGISTERs');
      const all = devs.map((d) => Promise.all([...Array.from({ length: 20 }, () => d.readKeys()), ...Array.from({ length: 5 }, () => d.readFullStatus())]));
      const results = await within(Promise.all(all), 120_000, '450 PR IN across 18 fds');
      const keysOfLun = (lun: number) =>
        targets
          .map((t, i) => [t, keyOf(i)] as const)
          .filter(([t]) => t.lun === lun)
          .map(([, k]) => k)
          .sort((x, y) => (x < y ? -1 : 1));
      results.forEach((perDevice, i) => {
        const lun = targets[i]!.lun;
        for (const r of perDevice) {
          if ('keys' in r) expect([...r.keys].sort((x, y) => (x < y ? -1 : 1))).toEqual(keysOfLun(lun));
          else {
            expect(r.registrations).toHaveLength(6);
            // one registration per I_T nexus: each node through both target ports
            expect(new Set(r.registrations.map((x) => x.relativeTargetPortId)).size).toBe(2);
          }
        }
      });
      for (const d of devs) expect(inFlight(d)).toBe(0);
    } finally {
      await Promise.all(devs.map((d) => d.close()));
      for (const lun of LUNS) await clearLun(lun);
    }
  });
});

// ---- 2. close with commands in flight ------------------------------------------------------

describe('close with commands in flight', () => {
  for (const iface of ['sg', 'block'] as const) {
    it(`${iface}: close() right after 50 readKeys: every call settles (result or DeviceClosedError), close twice is fine, the path reopens`, async () => {
      const path = iface === 'sg' ? sg(1, 10) : sd(1, 10);
      const d = await pr.open(path, { interface: iface });
      expect(d.info.transport).toBe(iface === 'sg' ? 'sg-async' : 'sg-io-ioctl');
      const calls = Array.from({ length: 50 }, () => outcome(d.readKeys()));
      await d.close();
      const outcomes = await within(Promise.all(calls), 30_000, '50 readKeys after close');
      for (const o of outcomes) {
        if (!o.ok) {
          expect(o.error).toBeInstanceOf(pr.DeviceClosedError);
          expect(o.error).toMatchObject({ code: 'ERR_DEVICE_CLOSED' });
        }
      }
      expect(outcomes.filter((o) => !o.ok).length).toBeGreaterThan(0);
      expect(d.isClosed).toBe(true);
      await d.close();
      await expect(d.readKeys()).rejects.toBeInstanceOf(pr.DeviceClosedError);
      const again = await pr.open(path, { interface: iface });
      try {
        expect(await again.readKeys()).toMatchObject({ keys: [], unitAttentions: [] });
      } finally {
        await again.close();
      }
    });
  }

  it('close() while the kernel still holds the commands (200 ms netem delay): all settle, the fd is reusable at once', async () => {
    const d = await pr.open(sg(2, 10));
    await setNetem({ delayMs: 200 });
    try {
      const calls = Array.from({ length: 50 }, () => outcome(d.readKeys()));
      await sleep(50);
      expect(inFlight(d)).toBe(SG_MAX_QUEUE);
      await d.close();
      const outcomes = await within(Promise.all(calls), 30_000, '50 readKeys closed in flight');
      expect(tally(outcomes)).toEqual({ 'DeviceClosedError:ERR_DEVICE_CLOSED': 50 });
      // A new fd (most likely the same number) works while the old one's commands finish in the kernel.
      const again = await pr.open(sg(2, 10));
      try {
        expect(await within(again.readKeys(), 30_000, 'readKeys on the reopened device')).toMatchObject({ keys: [] });
      } finally {
        await again.close();
      }
    } finally {
      await setNetem({});
    }
  });

  it('`await using` closes the device at the end of the scope', async () => {
    let escaped: pr.Device | undefined;
    {
      await using d = await pr.open(sg(3, 10));
      escaped = d;
      expect(await d.readKeys()).toMatchObject({ keys: [] });
      expect(d.isClosed).toBe(false);
    }
    expect(escaped.isClosed).toBe(true);
    await expect(escaped.readKeys()).rejects.toBeInstanceOf(pr.DeviceClosedError);
  });

  it('a process that ends without closing its devices exits cleanly (also with commands in flight, and via process.exit)', async () => {
    const child = `
      import * as pr from ${JSON.stringify(join(ROOT, 'lib'))};
      const [how, sgPath, sdPath] = process.argv.slice(2);
      (async () => {
        const d = await pr.open(sgPath);
        const b = await pr.open(sdPath, { interface: 'block' });
        if (how === 'natural') {
          await Promise.all([d.readKeys(), b.readKeys()]);
          console.log('done');
        } else if (how === 'in-flight') {
          // never awaited: the loop stays alive until the completions are read, then ends
          Promise.all(Array.from({ length: 40 }, () => d.readKeys())).then(() => console.log('done'));
          b.readKeys();
        } else {
          for (let i = 0; i < 40; i++) d.readKeys().catch(() => {});
          for (let i = 0; i < 8; i++) b.readKeys().catch(() => {});
          setImmediate(() => process.exit(0));
        }
      })().catch((e) => { console.error('child failed', e); process.exit(3); });
    `;
    for (const how of ['natural', 'in-flight', 'exit']) {
      const r = await runChild('exit-with-open-device', child, [how, sg(1, 11), sd(1, 11)]);
      expect({ how, status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ how, status: 0, signal: null, stderr: expect.not.stringMatching(NATIVE_TROUBLE) });
      if (how !== 'exit') expect(r.stdout).toContain('done');
    }
  });
});

// ---- 3. timeouts and dead paths ---------------------------------------------------

describe('a LUN that disappears at the target', () => {
  it('commands fail with ILLEGAL REQUEST / LOGICAL UNIT NOT SUPPORTED (ScsiSenseError) on both transports, and work again once it is mapped back', async () => {
    const d = await pr.open(sg(1, 10));
    const b = await pr.open(sd(2, 10), { interface: 'block' });
    try {
      await d.readKeys();
      undo.removedLuns.add(10);
      undo.lunInventoryChanged = true;
      labTools.removeLun(10);
      for (const [h, path] of [[d, sg(1, 10)], [b, sd(2, 10)]] as const) {
        const e = await within(outcome(h.readKeys()), 30_000, 'readKeys on an unmapped LUN');
        expect(e.ok).toBe(false);
        const err = (e as { error: unknown }).error;
        expect(err).toBeInstanceOf(pr.ScsiSenseError);
        expect(err).toMatchObject({
          code: 'ERR_ILLEGAL_REQUEST',
          path,
          sense: { senseKey: 5, asc: 0x25, ascq: 0x00, ascName: 'LOGICAL UNIT NOT SUPPORTED' },
        });
        expect((err as Error).message).toContain('LOGICAL UNIT NOT SUPPORTED');
      }
      await expect(d.testUnitReady()).rejects.toMatchObject({ code: 'ERR_ILLEGAL_REQUEST', sense: { asc: 0x25 } });
    } finally {
      labTools.restoreLun(10);
      undo.removedLuns.delete(10);
    }
    try {
      // Mapped back: the same fds work again (a UA such as REPORTED LUNS DATA HAS CHANGED is absorbed).
      expect(await within(d.readKeys(), 30_000, 'readKeys after restore')).toMatchObject({ keys: [] });
      expect(await within(b.readKeys(), 30_000, 'readKeys after restore (block)')).toMatchObject({ keys: [] });
      // LIO announced the change on every other LUN of the ACLs, e.g. our LUN 9 (see consumeLunsChangedUa).
      const n9 = await pr.open(sg(1, 9), { retries: { unitAttention: 0 } });
      try {
        const seen: number[][] = [];
        for (let i = 0; i < 8; i++) {
          const o = await outcome(n9.testUnitReady());
          if (o.ok) break;
          const e = o.error as pr.ScsiSenseError;
          expect(e).toMatchObject({ code: 'ERR_UNIT_ATTENTION' });
          seen.push([e.sense.asc, e.sense.ascq]);
        }
        expect(seen).toContainEqual([0x3f, 0x0e]);
      } finally {
        await n9.close();
      }
    } finally {
      await d.close();
      await b.close();
      await consumeLunsChangedUa();
    }
  });
});

describe('a dead path: 100% packet loss on the SAN for a few seconds (timeoutMs 1500)', () => {
  const TIMEOUT_MS = 1500;
  /** How long the path stays dead at most. A call that outlives it waited past its own timeout. */
  const DEAD_FOR_MS = 8_000;
  const SG_CALLS = 20; // 16 go to the kernel, 4 wait in the channel's queue
  const BLOCK_CALLS = 6; // more than the 4 libuv pool threads
  let d: pr.Device;
  let b: pr.Device;
  let sgOutcomes: Outcome<unknown>[] = [];
  let blockOutcomes: Outcome<unknown>[] = [];
  let sgSettledWhileDead: boolean[] = [];
  let blockSettledWhileDead: boolean[] = [];
  let deadForMs = 0;
  let recovery: { afterMs: number; attempts: string[] } = { afterMs: -1, attempts: [] };

  beforeAll(async () => {
    d = await pr.open(sg(1, 10), { timeoutMs: TIMEOUT_MS });
    b = await pr.open(sd(2, 10), { interface: 'block', timeoutMs: TIMEOUT_MS });
    await d.readKeys();
    await b.readKeys();
    await setNetem({ lossPct: 100 });
    const t0 = performance.now();
    const sgCalls = Array.from({ length: SG_CALLS }, () => outcome(d.readKeys(), t0));
    const blockCalls = Array.from({ length: BLOCK_CALLS }, () => outcome(b.readKeys(), t0));
    const sgDone = sgCalls.map(() => false);
    const blockDone = blockCalls.map(() => false);
    sgCalls.forEach((p, i) => void p.then(() => (sgDone[i] = true)));
    blockCalls.forEach((p, i) => void p.then(() => (blockDone[i] = true)));
    try {
      await until(() => sgDone.every(Boolean) && blockDone.every(Boolean), DEAD_FOR_MS, 'all calls settled', 50).catch(() => undefined);
    } finally {
      deadForMs = Math.round(performance.now() - t0);
      sgSettledWhileDead = [...sgDone];
      blockSettledWhileDead = [...blockDone];
      await setNetem({});
    }
    sgOutcomes = await within(Promise.all(sgCalls), 180_000, 'sg calls after the path came back');
    blockOutcomes = await within(Promise.all(blockCalls), 180_000, 'block calls after the path came back');
    // iSCSI recovery: the first calls after the outage may still fail (DID_TIME_OUT, DID_TRANSPORT_DISRUPTED…).
    const t1 = performance.now();
    await until(
      async () => {
        const o = await outcome(Promise.all([d.readKeys(), b.readKeys()]));
        recovery.attempts.push(describeOutcome(o));
        return o.ok;
      },
      180_000,
      'the device answering again after the outage',
      500,
    );
    recovery.afterMs = Math.round(performance.now() - t1);
    console.log(
      `[transport] dead path, timeoutMs ${TIMEOUT_MS}: path dead for ${deadForMs} ms; ` +
        `sg: ${sgOutcomes.map((o) => `${describeOutcome(o)}@${o.atMs}`).join(' ')}; ` +
        `block: ${blockOutcomes.map((o) => `${describeOutcome(o)}@${o.atMs}`).join(' ')}; ` +
        `recovery after ${recovery.afterMs} ms via ${recovery.attempts.join(' -> ')}`,
    );
  });

  afterAll(async () => {
    await setNetem({});
    await d?.close();
    await b?.close();
    await waitForHealthySan();
  });

  it('every command the kernel accepted rejects with TimeoutError or TransportError while the path is dead (no hang)', () => {
    const accepted = [...sgOutcomes.slice(0, SG_MAX_QUEUE), ...blockOutcomes];
    const settled = [...sgSettledWhileDead.slice(0, SG_MAX_QUEUE), ...blockSettledWhileDead];
    expect(settled.every(Boolean)).toBe(true);
    for (const o of accepted) {
      expect(o.ok).toBe(false);
      const e = (o as { error: unknown }).error;
      expect(e instanceof pr.TimeoutError || e instanceof pr.TransportError).toBe(true);
      if (e instanceof pr.TimeoutError) expect(e).toMatchObject({ code: 'ERR_TIMEOUT', timeoutMs: TIMEOUT_MS });
    }
  });

  it(`calls queued behind ${SG_MAX_QUEUE} stuck commands honour timeoutMs too (they settle while the path is still dead)`, () => {
    const queued = sgOutcomes.slice(SG_MAX_QUEUE).map((o, i) => ({ settledWhileDead: sgSettledWhileDead[SG_MAX_QUEUE + i], outcome: describeOutcome(o), atMs: o.atMs }));
    expect(queued).toHaveLength(SG_CALLS - SG_MAX_QUEUE);
    for (const q of queued) expect(q).toMatchObject({ settledWhileDead: true, outcome: expect.stringMatching(/^(TimeoutError|TransportError)/) });
  });

  it('the devices work again once the path is back, and every abandoned command is handed back and swallowed', async () => {
    expect(recovery.afterMs).toBeGreaterThanOrEqual(0);
    expect(await d.readKeys()).toMatchObject({ keys: [] });
    expect(await b.readKeys()).toMatchObject({ keys: [] });
    await until(() => inFlight(d) === 0 && inFlight(b) === 0, 120_000, 'nothing left in flight');
  });
});

// ---- 4. AbortSignal --------------------------------------------------------------

describe('AbortSignal', () => {
  it('aborted before the call: AbortError with the reason as cause, and nothing reaches the device', async () => {
    for (const iface of ['sg', 'block'] as const) {
      const d = await pr.open(iface === 'sg' ? sg(1, 11) : sd(1, 11), { interface: iface });
      try {
        const ac = new AbortController();
        const reason = new Error('cancelled by the test');
        ac.abort(reason);
        const e = await outcome(d.register({ newKey: KEY(0x401), signal: ac.signal }));
        expect(e.ok).toBe(false);
        const err = (e as { error: unknown }).error;
        expect(err).toBeInstanceOf(pr.AbortError);
        expect(err).toMatchObject({ code: 'ABORT_ERR', cause: reason });
        expect(inFlight(d)).toBe(0);
        await expect(d.readKeys({ signal: ac.signal })).rejects.toBeInstanceOf(pr.AbortError);
        // The REGISTER was never sent.
        expect(await d.readKeys()).toMatchObject({ keys: [] });
      } finally {
        await d.close();
      }
    }
  });

  it('aborted in flight (200 ms netem delay): AbortError before the kernel hands the commands back; the device keeps working', async () => {
    for (const iface of ['sg', 'block'] as const) {
      const d = await pr.open(iface === 'sg' ? sg(2, 11) : sd(2, 11), { interface: iface });
      await setNetem({ delayMs: 200 });
      try {
        await d.readKeys();
        const n = iface === 'sg' ? 31 : 8; // sg: 16 in the kernel + 15 queued; block: 4 in pool threads + 4 queued
        const controllers = Array.from({ length: n }, () => new AbortController());
        const calls = controllers.map((ac) => outcome(d.readKeys({ signal: ac.signal })));
        await sleep(50);
        const heldByKernel = inFlight(d);
        expect(heldByKernel).toBeGreaterThan(0);
        for (const ac of controllers) ac.abort();
        const outcomes = await within(Promise.all(calls), 5_000, 'aborted calls');
        expect(tally(outcomes)).toEqual({ 'AbortError:ABORT_ERR': n });
        // Settled promptly: the commands are still in the kernel, abandoned, not waited for.
        expect(inFlight(d)).toBeGreaterThan(0);
        expect(await within(d.readKeys(), 30_000, 'readKeys after the abort')).toMatchObject({ keys: [] });
        await until(() => inFlight(d) === 0, 30_000, 'abandoned commands handed back');
      } finally {
        await setNetem({});
        await d.close();
      }
    }
  });

  it('AbortError abandons the wait, not the command: a PR OUT aborted in flight still takes effect', async () => {
    const d = await pr.open(sg(3, 11));
    await setNetem({ delayMs: 200 });
    try {
      const ac = new AbortController();
      const reg = outcome(d.register({ newKey: KEY(0x403), signal: ac.signal }));
      await sleep(50);
      ac.abort();
      const o = await within(reg, 5_000, 'aborted REGISTER');
      expect(o.ok).toBe(false);
      expect((o as { error: unknown }).error).toBeInstanceOf(pr.AbortError);
      await until(() => inFlight(d) === 0, 30_000, 'REGISTER handed back');
      await setNetem({});
      expect((await d.readKeys()).keys).toEqual([KEY(0x403)]);
    } finally {
      await setNetem({});
      await d.close();
      await clearLun(11);
    }
  });

  it('one AbortSignal shared by many concurrent calls (e.g. a fence-wide deadline) raises no MaxListenersExceededWarning', async () => {
    const devs = await Promise.all(LUNS.map((lun) => pr.open(sg(1, lun))));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const deadline = new AbortController();
      await within(Promise.all(devs.flatMap((d) => Array.from({ length: 20 }, () => d.readKeys({ signal: deadline.signal })))), 60_000, '60 calls sharing a signal');
      await sleep(20); // process.emitWarning is asynchronous
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await Promise.all(devs.map((d) => d.close()));
    }
  });
});

// ---- 5. the SG_IO ioctl path --------------------------------------------------------

describe('SG_IO ioctl on the block device', () => {
  it("open(sd, {interface: 'block'}) uses SG_IO; the same PR sequence gives the same answers as the sg path", async () => {
    const k = await pr.open(sd(1, 11), { interface: 'block' });
    const s = await pr.open(sg(1, 11), { interface: 'sg' });
    const auto = await pr.open(sd(1, 11));
    const other = await pr.open(sg(2, 11));
    try {
      expect(k.info).toMatchObject({ transport: 'sg-io-ioctl', via: 'block', openPath: sd(1, 11), blockPath: sd(1, 11) });
      expect(s.info).toMatchObject({ transport: 'sg-async', via: 'sg', openPath: sg(1, 11) });
      expect(auto.info).toMatchObject({ transport: 'sg-async', openPath: sg(1, 11) });

      // sd and sg are the same I_T nexus: what one registers the other reads.
      await k.register({ newKey: KEY(0x501) });
      await other.register({ newKey: KEY(0x502) });
      await k.reserve({ key: KEY(0x501), type: 'exclusive-access-registrants-only' });
      const read = (h: pr.Device) => Promise.all([h.readKeys(), h.readReservation(), h.readFullStatus(), h.reportCapabilities()]);
      const viaBlock = await read(k);
      const viaSg = await read(s);
      expect(viaBlock).toEqual(viaSg);
      expect(viaBlock[0].keys).toEqual([KEY(0x501), KEY(0x502)]);
      expect(viaBlock[1].reservation).toMatchObject({ key: KEY(0x501), typeName: 'exclusive-access-registrants-only' });

      // More calls than libuv pool threads: all resolve, all equal.
      const many = await within(Promise.all(Array.from({ length: 24 }, () => k.readKeys())), 60_000, '24 SG_IO readKeys');
      for (const r of many) expect(r).toEqual(viaBlock[0]);
      await until(() => inFlight(k) === 0, 10_000, 'SG_IO calls finished');

      // Fenced from node 2: the block path reports the UA like the sg path does.
      await other.preemptAndAbort({ key: KEY(0x502), preemptKey: KEY(0x501), type: 'exclusive-access-registrants-only' });
      const after = await k.readKeys();
      expect(after.keys).toEqual([KEY(0x502)]);
      expect(after.unitAttentions.map((u) => [u.senseKey, u.asc, u.ascq])).toContainEqual([6, 0x2a, 0x05]);
      await expect(k.readBlocks(0, 1)).rejects.toBeInstanceOf(pr.ReservationConflictError);
    } finally {
      await Promise.all([k, s, auto, other].map((h) => h.close()));
      await clearLun(11);
    }
  });
});

// ---- 6. syscall errors -------------------------------------------------------------

describe('system call failures look like fs errors', () => {
  it('open(2) refused (an unprivileged process): SyscallError with code EACCES, errno, syscall and path', async () => {
    const path = sg(1, 9);
    const child = `
      import * as pr from ${JSON.stringify(join(ROOT, 'lib'))};
      pr.open(process.argv[2]).then(
        () => console.log(JSON.stringify({ opened: true })),
        (e) => console.log(JSON.stringify({ name: e.name, isSyscallError: e instanceof pr.SyscallError, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, message: e.message })),
      );
    `;
    const r = await runChild('open-unprivileged', child, [path], { uid: 65534, gid: 65534 });
    expect(r.status, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    expect(e).toEqual({
      name: 'SyscallError',
      isSyscallError: true,
      code: 'EACCES',
      errno: -13,
      syscall: 'open',
      path,
      message: `EACCES: permission denied, open '${path}'`,
    });
  });

  const victim = { node: 3, lun: 11, path: 0 };

  it('the device is deleted under in-flight commands: each settles; the next call fails with SyscallError ENODEV (write)', async () => {
    const v = dev(map, victim.node, victim.lun, victim.path);
    const d = await pr.open(v.sg);
    await setNetem({ delayMs: 200 });
    try {
      const calls = Array.from({ length: 30 }, () => outcome(d.readKeys()));
      await sleep(50);
      undo.deleted.push({ hctl: v.hctl, lun: v.lun });
      writeFileSync(`/sys/class/scsi_device/${v.hctl}/device/delete`, '1');
      const outcomes = await within(Promise.all(calls), 60_000, 'calls in flight when the device was deleted');
      console.log(`[transport] device deleted with 30 calls in flight: ${JSON.stringify(tally(outcomes))}`);
      expect(inFlight(d)).toBe(0);
      for (const o of outcomes) {
        if (o.ok) continue;
        const e = o.error;
        expect(e instanceof pr.TransportError || e instanceof pr.SyscallError || e instanceof pr.ScsiSenseError).toBe(true);
        if (e instanceof pr.SyscallError) expect(e).toMatchObject({ code: 'ENODEV', errno: -19, syscall: expect.stringMatching(/^(write|read)$/), path: v.sg });
      }
      await setNetem({});
      const next = await outcome(d.readKeys());
      expect(next.ok).toBe(false);
      const err = (next as { error: unknown }).error;
      expect(err).toBeInstanceOf(pr.SyscallError);
      expect(err).toMatchObject({ code: 'ENODEV', errno: -19, syscall: 'write', path: v.sg });
      expect((err as Error).message).toBe(`ENODEV: no such device, write '${v.sg}'`);
      await d.close();
      await d.close();
    } finally {
      await setNetem({});
    }
  });

  it('opening the deleted device node fails with a typed error carrying code, errno, syscall and path', async () => {
    const v = dev(map, victim.node, victim.lun, victim.path);
    expect(existsSync(v.sg)).toBe(false);
    for (const path of [v.sg, v.sd, '/dev/sg999']) {
      const o = await outcome(pr.open(path));
      expect(o.ok).toBe(false);
      const e = (o as { error: unknown }).error;
      expect(e instanceof pr.DeviceError || e instanceof pr.SyscallError).toBe(true);
      // fs-style: what failed, how, and where
      expect(e).toMatchObject({ path, errno: -2, syscall: expect.any(String) });
      expect(['ENOENT', 'ERR_DEVICE_NOT_FOUND']).toContain((e as pr.ScsiPrError).code);
    }
  });

  it('the deleted device comes back with a rescan and works', async () => {
    const v = dev(map, victim.node, victim.lun, victim.path);
    for (const { hctl } of undo.deleted.splice(0)) rescanLun(hctl);
    await until(() => {
      map = labTools.map();
      const back = map.devices.find((x) => x.node === victim.node && x.lun === victim.lun && x.path === victim.path);
      return Boolean(back?.sg && back.sd && existsSync(back.sg));
    }, 60_000, 'the deleted LUN rescanned');
    const back = dev(map, victim.node, victim.lun, victim.path);
    expect(back.serial).toBe(v.serial);
    const d = await pr.open(back.sg);
    try {
      expect(await within(d.readKeys(), 30_000, 'readKeys on the rescanned device')).toMatchObject({ keys: [] });
    } finally {
      await d.close();
    }
  });
});

// ---- 7. UNIT ATTENTION accounting ---------------------------------------------------------

describe('UNIT ATTENTION accounting', () => {
  const ua = (s: pr.DecodedSense) => [s.senseKey, s.asc, s.ascq];

  it('after a preemption the preempted node reports 2Ah/05 REGISTRATIONS PREEMPTED once, and the call still succeeds', async () => {
    await drainUnitAttentions(9);
    const a = await pr.open(sg(1, 9));
    const b = await pr.open(sg(2, 9));
    const strict = await pr.open(sg(1, 9, 1), { retries: { unitAttention: 0 } });
    try {
      await a.register({ newKey: KEY(0x701) });
      await strict.register({ newKey: KEY(0x711) });
      await b.register({ newKey: KEY(0x702) });
      await a.reserve({ key: KEY(0x701), type: 'write-exclusive-registrants-only' });
      await b.preempt({ key: KEY(0x702), preemptKey: KEY(0x701), type: 'write-exclusive-registrants-only' });
      const first = await a.readKeys();
      expect(first.keys).toEqual([KEY(0x711), KEY(0x702)]);
      expect(first.unitAttentions.map(ua)).toEqual([[6, 0x2a, 0x05]]);
      expect(first.unitAttentions[0]).toMatchObject({ senseKeyName: 'UNIT ATTENTION', ascName: 'REGISTRATIONS PREEMPTED' });
      expect((await a.readKeys()).unitAttentions).toEqual([]);
      expect((await b.readKeys()).unitAttentions).toEqual([]);

      // With retries.unitAttention = 0 the UA surfaces as the error, once.
      for (let i = 0; i < 4 && !(await outcome(strict.readKeys())).ok; i++); // whatever the first preemption left for this nexus
      await b.preempt({ key: KEY(0x702), preemptKey: KEY(0x711), type: 'write-exclusive-registrants-only' });
      const surfaced = await outcome(strict.readKeys());
      expect(surfaced.ok).toBe(false);
      const err = (surfaced as { error: unknown }).error;
      expect(err).toBeInstanceOf(pr.ScsiSenseError);
      expect(err).toMatchObject({ code: 'ERR_UNIT_ATTENTION', sense: { senseKey: 6, asc: 0x2a, ascq: 0x05 } });
      expect(await strict.readKeys()).toMatchObject({ keys: [KEY(0x702)], unitAttentions: [] });
    } finally {
      await Promise.all([a, b, strict].map((h) => h.close()));
      await clearLun(9);
    }
  });

  it('after a LOGICAL UNIT RESET from another node, the next call on each nexus reports 29h (both transports)', async () => {
    await drainUnitAttentions(9);
    const a = await pr.open(sg(1, 9));
    const c = await pr.open(sd(3, 9), { interface: 'block' });
    try {
      const r = await run('sg_reset', ['--device', '--no-esc', sg(2, 9)]);
      expect(r.status, r.stderr).toBe(0);
      for (const h of [a, c]) {
        const first = await h.readKeys();
        expect(first.keys).toEqual([]);
        expect(first.unitAttentions).toHaveLength(1);
        expect(first.unitAttentions[0]).toMatchObject({ senseKey: 6, asc: 0x29 });
        expect((await h.readKeys()).unitAttentions).toEqual([]);
      }
    } finally {
      await a.close();
      await c.close();
      await drainUnitAttentions(9);
    }
  });
});
