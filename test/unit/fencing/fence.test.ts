/**
 * fence() against the fake SAN: the arbiter (first LU in WWN order, alone),
 * winning and losing, the arbiter LU failing, `lost` found before and after the
 * arbiter's preempt went out, already-fenced LUs, partial failure, path
 * failover, verification, and two nodes fencing each other in many orderings.
 */
import { describe, expect, it, vi } from 'vitest';
import { fence, type FenceReport } from '../../../lib/fencing/fence';
import { AbortError, ReservationConflictError, ScsiPrError, ScsiSenseError, SyscallError, TimeoutError, TransportError } from '../../../lib/errors';
import { ArgumentTypeError } from '../../../lib/invalid-argument';
import type { Device } from '../../../lib/device';

/** `open()` of device paths, replaced per test (the fd-limit tests); undefined: the real one. */
const openStub = vi.hoisted(() => ({ fn: undefined as undefined | ((path: string) => Promise<unknown>) }));
vi.mock('../../../lib/device', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../lib/device')>();
  return { ...real, open: (path: string, options?: object) => (openStub.fn ? openStub.fn(path) : real.open(path, options)) };
});
import { FakeSan, type CommandRecord, type FakeNode } from '../support/fake-transport';
import { REGISTRATIONS_PREEMPTED, nexus, type FakeLogicalUnit } from '../support/fake-logical-unit';
import { KEY_A, KEY_B, WE_RO, twoNodeCluster } from '../support/cluster';
import { seededRandom } from '../support/event-loop';

const DID_TRANSPORT_DISRUPTED = 0x0e;
const HARDWARE_ERROR = { key: 0x4, asc: 0x44, ascq: 0x00 };

/** The report of `lu` (by WWN). */
function reportOf(r: FenceReport, lu: FakeLogicalUnit) {
  const d = r.devices.find((x) => x.wwn === lu.wwn);
  if (!d) throw new Error(`no report for ${lu.name}`);
  return d;
}

/** The name fence() reports for `lu` seen by `node`: its first path. */
const nameOf = (node: FakeNode, lu: FakeLogicalUnit) => `/dev/fake/${node.name}/${lu.name}/p1`;

const last = (records: CommandRecord[]) => Math.max(...records.map((r) => r.settledAt ?? Infinity));

describe('fence: winning', () => {
  it('preempts on the first LU in WWN order alone, then on the others, and verifies every LU', async () => {
    const san = new FakeSan();
    // Creation order, path-name order and input order all differ from WWN order.
    const c = san.addLu({ name: 'lu-1', wwn: `naa.6001405${'c'.repeat(25)}` });
    const a = san.addLu({ name: 'lu-2', wwn: `naa.6001405${'a'.repeat(25)}` });
    const b = san.addLu({ name: 'lu-3', wwn: `naa.6001405${'b'.repeat(25)}` });
    const na = san.node('a');
    const nb = san.node('b');
    na.registerEverywhere(KEY_A);
    nb.registerEverywhere(KEY_B);
    nb.reserveEverywhere(WE_RO); // the victim holds the reservation

    const r = await fence({ devices: na.devices().reverse(), key: KEY_A, victimKey: KEY_B });

    expect(r.ok).toBe(true);
    expect(r.lost).toBe(false);
    expect(r.devices.map((d) => d.wwn)).toEqual([a.wwn, b.wwn, c.wwn]);
    expect(r.fenced).toEqual([nameOf(na, a), nameOf(na, b), nameOf(na, c)]);
    expect(r.notFenced).toEqual([]);
    const outs = san.prOuts({ node: na });
    expect(outs.map((x) => [x.lu.name, x.name])).toHaveLength(3);
    const [arbiter, ...fanOut] = outs;
    expect(arbiter.lu).toBe(a);
    expect(arbiter.name).toBe('preempt-and-abort');
    expect(arbiter.prOut).toEqual({ key: KEY_A, serviceActionKey: KEY_B, type: WE_RO, aptpl: false });
    // Round trip 1: the arbiter's preempt is the first command to its LU (no check before it)
    // and goes out with the other LUs' checks, before any of them is back.
    expect(san.commands({ node: na, lu: a }).filter((x) => x.name !== 'inquiry')[0]).toBe(arbiter); // (INQUIRY: the fake has no sysfs WWN)
    const checks = san.commands({ node: na, name: 'read-keys' }).filter((x) => x.lu !== a).slice(0, 2);
    expect(new Set(checks.map((x) => x.lu))).toEqual(new Set([b, c]));
    for (const x of checks) expect(arbiter.submittedAt).toBeLessThan(x.settledAt!);
    // Round trip 2, the fan-out: nothing was preempted elsewhere before the arbiter's answer was back.
    for (const x of fanOut) expect(x.submittedAt).toBeGreaterThan(arbiter.settledAt!);
    expect(new Set(fanOut.map((x) => x.lu))).toEqual(new Set([b, c]));
    for (const lu of [a, b, c]) {
      expect(lu.distinctKeys()).toEqual([KEY_A]);
      expect(lu.reservationKey()).toEqual({ key: KEY_A, type: WE_RO });
      const d = reportOf(r, lu);
      // The arbiter LU was not checked: no generation before.
      expect(d).toMatchObject({ outcome: 'fenced', ok: true, generationAfter: 1, reservation: { key: KEY_A, type: WE_RO } });
      expect(d.generationBefore).toBe(lu === a ? undefined : 0);
      // The victim's nexuses are told why (2Ah/05) on their next command.
      for (const x of nb.nexuses()) expect(lu.pendingUnitAttentions(x)).toEqual([REGISTRATIONS_PREEMPTED]);
    }
  });

  it('fans out only once every check is back, even when the arbiter was won before', async () => {
    const { san, lus, a } = twoNodeCluster(3);
    san.script({ lu: lus[2], on: 'read-keys' }, { delayTurns: 6 });

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r.ok).toBe(true);
    const checks = [lus[1], lus[2]].map((lu) => san.commands({ node: a, lu, name: 'read-keys' })[0]);
    const [arbiter, ...fanOut] = san.prOuts({ node: a });
    expect(arbiter.lu).toBe(lus[0]);
    expect(arbiter.submittedAt).toBeLessThan(checks[1].settledAt!); // the arbiter did not wait for the slow check
    for (const x of fanOut) expect(x.submittedAt).toBeGreaterThan(last(checks));
  });

  it('reports an LU where the victim is not registered as already fenced, sends it no PR OUT, and verifies it', async () => {
    const { san, lus, a, b } = twoNodeCluster(3);
    for (const x of b.nexuses()) lus[1].registrations.delete(x.id);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r.ok).toBe(true);
    expect(reportOf(r, lus[1])).toMatchObject({ outcome: 'already-fenced', ok: true, generationBefore: 0, generationAfter: 0 });
    expect(san.prOuts({ lu: lus[1] })).toEqual([]);
    expect(reportOf(r, lus[0]).outcome).toBe('fenced');
    expect(reportOf(r, lus[2]).outcome).toBe('fenced');
  });

  it('the victim already gone everywhere: only the arbiter\'s unchecked preempt is sent, refused without a change; success', async () => {
    const { san, lus, a, b } = twoNodeCluster(2);
    for (const lu of lus) for (const x of b.nexuses()) lu.registrations.delete(x.id);
    const generations = lus.map((lu) => lu.generation);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: true, lost: false });
    expect(r.devices.map((d) => d.outcome)).toEqual(['already-fenced', 'already-fenced']);
    // The arbiter's preempt named a key nobody holds: RESERVATION CONFLICT, and its READ KEYS said why.
    expect(san.prOuts().map((x) => [x.lu, x.response?.status])).toEqual([[lus[0], 0x18]]);
    expect(lus.map((lu) => lu.generation)).toEqual(generations);
  });

  it('the victim not registered on the arbiter LU: its refused preempt and one READ KEYS make it already fenced, and the arbiter is won', async () => {
    const { san, lus, a, b } = twoNodeCluster(3);
    for (const x of b.nexuses()) lus[0].registrations.delete(x.id);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: true, lost: false });
    expect(reportOf(r, lus[0])).toMatchObject({ outcome: 'already-fenced', ok: true });
    expect(reportOf(r, lus[0]).method).toBeUndefined();
    expect(reportOf(r, lus[1])).toMatchObject({ outcome: 'fenced', ok: true, generationBefore: 0, generationAfter: 1 });
    expect(reportOf(r, lus[2])).toMatchObject({ outcome: 'fenced', ok: true });
    // The victim cannot win the arbiter LU any more: the fan-out follows, without a second arbiter.
    const [arbiter, ...fanOut] = san.prOuts();
    expect([arbiter.lu, arbiter.response?.status]).toEqual([lus[0], 0x18]);
    expect(new Set(fanOut.map((x) => x.lu))).toEqual(new Set([lus[1], lus[2]]));
    const explain = san.commands({ lu: lus[0], name: 'read-keys' })[0];
    for (const x of fanOut) expect(x.submittedAt).toBeGreaterThan(explain.settledAt!);
  });
});

describe('fence: losing', () => {
  it('fenced everywhere already (the other node won): the device refuses the arbiter\'s unchecked preempt, its READ KEYS says lost, nothing else is sent', async () => {
    const { san, lus, a, b } = twoNodeCluster(3);
    for (const lu of lus) for (const x of a.nexuses()) lu.registrations.delete(x.id);
    b.reserveEverywhere(WE_RO);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: false, lost: true, fenced: [] });
    expect(r.devices.map((d) => d.outcome)).toEqual(['lost', 'lost', 'lost']);
    expect(reportOf(r, lus[0]).error).toBeInstanceOf(ReservationConflictError);
    for (const lu of [lus[1], lus[2]]) expect((reportOf(r, lu).error as ScsiPrError).code).toBe('ERR_NOT_REGISTERED');
    expect(san.prOuts().map((x) => [x.lu, x.response?.status])).toEqual([[lus[0], 0x18]]);
    for (const lu of lus) expect(lu.distinctKeys()).toEqual([KEY_B]);
    for (const lu of lus) expect(lu.reservationKey()).toEqual({ key: KEY_B, type: WE_RO });
  });

  it('loses at the arbiter when the other node preempted there first, and touches nothing else', async () => {
    const { san, lus, a, b } = twoNodeCluster(3);
    // The checks saw both keys; b's PREEMPT AND ABORT reaches the arbiter LU just before ours.
    san.script({ lu: lus[0], node: a, on: 'preempt-and-abort' }, { before: (lu) => lu.execute(b.nexus(1), preemptCdb(), preemptList(KEY_B, KEY_A)) });

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: false, lost: true, fenced: [] });
    expect(reportOf(r, lus[0]).outcome).toBe('lost');
    expect(reportOf(r, lus[0]).error).toBeInstanceOf(ReservationConflictError);
    expect(reportOf(r, lus[1]).outcome).toBe('not-attempted');
    expect(reportOf(r, lus[2]).outcome).toBe('not-attempted');
    // Our PREEMPT AND ABORT met b's UNIT ATTENTION (2Ah/05, absorbed), then RESERVATION CONFLICT; nothing went elsewhere.
    expect(san.prOuts({ node: a }).map((x) => [x.lu.name, x.response?.status])).toEqual([['lu0', 0x02], ['lu0', 0x18]]);
    expect(lus[1].distinctKeys()).toEqual([KEY_A, KEY_B]);
    expect(lus[2].distinctKeys()).toEqual([KEY_A, KEY_B]);
  });

  it('lost found by a check before the next arbiter went out (the first arbiter LU failed): no PR OUT beyond the failed ones', async () => {
    const { san, lus, a } = twoNodeCluster(3);
    san.script({ lu: lus[0], on: 'preempt-and-abort' }, { hostStatus: DID_TRANSPORT_DISRUPTED }, Infinity);
    for (const x of a.nexuses()) lus[2].registrations.delete(x.id); // fenced on lu2 only

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: false, lost: true, fenced: [] });
    expect(reportOf(r, lus[0]).outcome).toBe('failed');
    expect(reportOf(r, lus[1]).outcome).toBe('not-attempted');
    expect(reportOf(r, lus[2]).outcome).toBe('lost');
    expect(san.prOuts().map((x) => x.lu)).toEqual([lus[0], lus[0]]); // both paths of the first arbiter LU, nothing else
    expect(lus[1].distinctKeys()).toEqual([KEY_A, KEY_B]);
  });

  it('lost found by a check after the arbiter went out: the arbiter LU is fenced and verified, nothing else is preempted', async () => {
    const { san, lus, a } = twoNodeCluster(3);
    for (const x of a.nexuses()) lus[1].registrations.delete(x.id);
    san.script({ lu: lus[1], on: 'read-keys' }, { delayTurns: 6 }); // lu1's check comes back late

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    const [arbiter] = san.prOuts();
    const lateCheck = san.commands({ lu: lus[1], name: 'read-keys' })[0];
    expect(arbiter.submittedAt).toBeLessThan(lateCheck.settledAt!); // staged as intended
    expect(r).toMatchObject({ ok: false, lost: true, fenced: [nameOf(a, lus[0])] });
    expect(reportOf(r, lus[0])).toMatchObject({ outcome: 'fenced', ok: true });
    expect(reportOf(r, lus[1]).outcome).toBe('lost');
    expect(reportOf(r, lus[2]).outcome).toBe('not-attempted');
    expect(san.prOuts().map((x) => x.lu)).toEqual([lus[0]]);
  });

  it('our own key found gone by the verification sets lost', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    // lu1: the check passes; our registrations vanish just before the verify's READ KEYS.
    san.script({ lu: lus[1], on: 'read-keys' }, { delayTurns: 0 });
    // …while another node (key C) stays registered: it removed us.
    san.script({ lu: lus[1], on: 'read-keys' }, { before: (lu) => { a.nexuses().forEach((x) => lu.registrations.delete(x.id)); lu.setRegistration(nexus('iqn.c', '00023d000001', 1), 0xcccc0003n); } });

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r.lost).toBe(true);
    expect(reportOf(r, lus[1]).ok).toBe(false);
    expect(reportOf(r, lus[1]).error?.message).toMatch(/our own key is gone/);
  });

  it('no key at all found by the verification (the target lost its PR state) is not lost', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    san.script({ lu: lus[1], on: 'read-keys' }, { delayTurns: 0 });
    san.script({ lu: lus[1], on: 'read-keys' }, { before: (lu) => { lu.registrations.clear(); lu.reservation = null; } });

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r.lost).toBe(false);
    expect(reportOf(r, lus[1])).toMatchObject({ ok: false, outcome: 'fenced' });
    expect(reportOf(r, lus[1]).error?.message).toMatch(/our own key is gone/);
    expect(reportOf(r, lus[0]).ok).toBe(true);
  });
});

describe('fence: failures', () => {
  it('moves the arbiter to the next LU when the first LU fails on every path', async () => {
    const { san, lus, a } = twoNodeCluster(3);
    san.script({ lu: lus[0], on: 'preempt-and-abort' }, { hostStatus: DID_TRANSPORT_DISRUPTED }, Infinity);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r.lost).toBe(false);
    expect(r.ok).toBe(false);
    expect(reportOf(r, lus[0])).toMatchObject({ outcome: 'failed', ok: false });
    expect(reportOf(r, lus[0]).error).toBeInstanceOf(TransportError);
    expect(reportOf(r, lus[1])).toMatchObject({ outcome: 'fenced', ok: true });
    expect(reportOf(r, lus[2])).toMatchObject({ outcome: 'fenced', ok: true });
    expect(r.fenced).toEqual([nameOf(a, lus[1]), nameOf(a, lus[2])]);
    expect(r.notFenced).toEqual([nameOf(a, lus[0])]);
    // lu0 on both paths, then lu1 alone as the arbiter, then the fan-out.
    const outs = san.prOuts();
    expect(outs.slice(0, 3).map((x) => [x.lu.name, x.nexus.port])).toEqual([['lu0', 1], ['lu0', 2], ['lu1', 1]]);
    const arbiter = outs[2];
    expect(arbiter.response?.status).toBe(0);
    for (const x of outs.slice(3)) expect(x.submittedAt).toBeGreaterThan(arbiter.settledAt!);
    expect(outs.filter((x) => x.lu === lus[2])).toHaveLength(1);
  });

  it('moves the arbiter to the next LU when nobody is registered on the first (its preempt refused, its READ KEYS empty)', async () => {
    const { san, lus, a } = twoNodeCluster(3);
    lus[0].registrations.clear();
    lus[0].reservation = null;

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r.lost).toBe(false);
    expect(reportOf(r, lus[0]).outcome).toBe('failed');
    expect((reportOf(r, lus[0]).error as ScsiPrError).code).toBe('ERR_NO_REGISTRATIONS');
    const outs = san.prOuts();
    expect(outs.map((x) => x.lu)).toEqual([lus[0], lus[1], lus[2]]);
    expect(outs[2].submittedAt).toBeGreaterThan(outs[1].settledAt!); // lu1 was the arbiter, alone
    expect(r.fenced).toEqual([nameOf(a, lus[1]), nameOf(a, lus[2])]);
  });

  it('reports partial failure truthfully: one LU refuses the preempt, the others are fenced', async () => {
    const { san, lus, a } = twoNodeCluster(3);
    san.script({ lu: lus[2], on: 'preempt-and-abort' }, { sense: HARDWARE_ERROR }, Infinity);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: false, lost: false, fenced: [nameOf(a, lus[0]), nameOf(a, lus[1])], notFenced: [nameOf(a, lus[2])] });
    const bad = reportOf(r, lus[2]);
    expect(bad).toMatchObject({ outcome: 'failed', ok: false });
    expect(bad.error).toBeInstanceOf(ScsiSenseError);
    expect((bad.error as ScsiSenseError).code).toBe('ERR_HARDWARE_ERROR');
    // A SCSI answer is final: the second path was not tried.
    expect(san.prOuts({ lu: lus[2] }).map((x) => x.nexus.port)).toEqual([1]);
    expect(lus[2].distinctKeys()).toEqual([KEY_A, KEY_B]);
  });

  it('fails an LU nobody is registered on, without calling it lost', async () => {
    const { lus, a } = twoNodeCluster(2);
    lus[1].registrations.clear();
    lus[1].reservation = null;

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r.lost).toBe(false);
    expect(reportOf(r, lus[1]).outcome).toBe('failed');
    expect((reportOf(r, lus[1]).error as ScsiPrError).code).toBe('ERR_NO_REGISTRATIONS');
    expect(reportOf(r, lus[0]).ok).toBe(true);
  });

  it('fails over to the next path of the LU on a transport error', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    const devices = a.devices();
    a.path(lus[0], 1).script('preempt-and-abort', { hostStatus: DID_TRANSPORT_DISRUPTED });

    const r = await fence({ devices, key: KEY_A, victimKey: KEY_B });

    expect(r.ok).toBe(true);
    const outs = san.prOuts({ lu: lus[0] });
    expect(outs.map((x) => [x.nexus.port, x.response?.hostStatus])).toEqual([[1, DID_TRANSPORT_DISRUPTED], [2, 0]]);
    expect(lus[0].distinctKeys()).toEqual([KEY_A]);
  });

  it('fails over to the next path when a command hangs past its timeout', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    const devices = a.devices();
    a.path(lus[1], 1).script('read-keys', { hang: true });

    const r = await fence({ devices, key: KEY_A, victimKey: KEY_B, timeoutMs: 50 });

    expect(r.ok).toBe(true);
    const checks = san.commands({ lu: lus[1], name: 'read-keys' });
    expect(checks.slice(0, 2).map((x) => [x.nexus.port, x.outcome, x.timeoutMs])).toEqual([[1, 'timed-out', 50], [2, 'answered', 50]]);
  });

  it('reports a timeout on every path as a failed LU', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    san.script({ lu: lus[1], on: 'preempt-and-abort' }, { hang: true }, Infinity);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B, timeoutMs: 50 });

    expect(reportOf(r, lus[1]).outcome).toBe('failed');
    expect(reportOf(r, lus[1]).error).toBeInstanceOf(TimeoutError);
    expect(reportOf(r, lus[0]).ok).toBe(true);
  });
});

describe('fence: verification', () => {
  it('catches a target that answers GOOD but leaves the victim registered', async () => {
    const { san, lus, a } = twoNodeCluster(3);
    san.script({ lu: lus[1], on: 'preempt-and-abort' }, { status: 0 });

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r.ok).toBe(false);
    expect(r.lost).toBe(false);
    const d = reportOf(r, lus[1]);
    expect(d).toMatchObject({ outcome: 'fenced', ok: false, generationBefore: 0, generationAfter: 0 });
    expect((d.error as ScsiPrError).code).toBe('ERR_FENCE_NOT_VERIFIED');
    expect(d.error?.message).toMatch(/the victim key is still registered/);
    expect(d.error?.message).toMatch(/the generation did not advance/);
    // A holds the reservation: the message names the target bug that does this (nvmet 7.2).
    expect(d.error?.message).toMatch(/we hold the reservation: a target that takes the holder's preempt as a change of reservation type only, as Linux nvmet 7\.2 does/);
    expect(r.notFenced).toEqual([nameOf(a, lus[1])]);
    expect(r.fenced).toEqual([nameOf(a, lus[0]), nameOf(a, lus[2])]);
  });

  it('catches an LU left without a reservation', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    // The preempt runs; then the reservation vanishes before the verify reads it.
    san.script({ lu: lus[1], on: 'read-reservation' }, { before: (lu) => void (lu.reservation = null) });

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    const d = reportOf(r, lus[1]);
    expect(d.ok).toBe(false);
    expect(d.reservation).toBeNull();
    expect(d.error?.message).toMatch(/no reservation is held/);
  });
});

/** PREEMPT AND ABORT CDB with type WE_RO, for set-ups that act on the model directly. */
function preemptCdb(): Buffer {
  return Buffer.from([0x5f, 0x05, WE_RO, 0, 0, 0, 0, 0, 24, 0]);
}

function preemptList(key: bigint, victim: bigint): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64BE(key, 0);
  b.writeBigUInt64BE(victim, 8);
  return b;
}

/**
 * The stale state of fence_scsi's #517/#558: `node`'s key is registered on
 * `ports` of every LU in `lus` only through the I_T nexus of an earlier iSCSI
 * session (another ISID); the current nexus of that port is not registered.
 */
function makeStale(node: FakeNode, key: bigint, lus: readonly FakeLogicalUnit[], ports: readonly number[]): void {
  for (const lu of lus) {
    for (const port of ports) {
      lu.registrations.delete(node.nexus(port).id);
      lu.setRegistration(nexus(node.initiator, `40000000000${port}`, port), key);
    }
  }
}

describe('fence: our key registered only through stale I_T nexuses (a session that came back with a new ISID)', () => {
  /** a and b registered everywhere, b holds the reservation; a's current nexuses unregistered on `stalePorts`. */
  function staleCluster(stalePorts: number[], staleLus?: (lus: FakeLogicalUnit[]) => FakeLogicalUnit[]) {
    const san = new FakeSan();
    const lus = [san.addLu(), san.addLu(), san.addLu()];
    const a = san.node('a');
    const b = san.node('b');
    a.registerEverywhere(KEY_A);
    b.registerEverywhere(KEY_B);
    b.reserveEverywhere(WE_RO);
    makeStale(a, KEY_A, staleLus ? staleLus(lus) : lus, stalePorts);
    return { san, lus, a, b };
  }

  it('stale on every path: the arbiter LU fails with ERR_NOT_REGISTERED, not lost; nothing is re-registered or preempted elsewhere', async () => {
    const { san, lus, a } = staleCluster([1, 2]);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: false, lost: false, fenced: [] });
    const d = reportOf(r, lus[0]);
    expect(d.outcome).toBe('failed');
    expect(d.error).toBeInstanceOf(ScsiPrError);
    expect((d.error as ScsiPrError).code).toBe('ERR_NOT_REGISTERED');
    expect(d.error?.message).toMatch(/is registered, but not through \/dev\/fake\/a\/lu0\/p1, \/dev\/fake\/a\/lu0\/p2: a stale registration/);
    expect((d.error as ScsiPrError).cause).toBeInstanceOf(ReservationConflictError);
    // The arbiter stops: the other LUs are not attempted (no move to the next LU).
    expect(reportOf(r, lus[1]).outcome).toBe('not-attempted');
    expect(reportOf(r, lus[2]).outcome).toBe('not-attempted');
    // Both paths of the arbiter LU tried, each conflict explained by a READ KEYS; no REGISTER of any kind.
    expect(san.prOuts({ node: a }).map((x) => [x.lu.name, x.nexus.port, x.name, x.response?.status])).toEqual([
      ['lu0', 1, 'preempt-and-abort', 0x18],
      ['lu0', 2, 'preempt-and-abort', 0x18],
    ]);
    for (const lu of lus) {
      expect(new Set(lu.distinctKeys())).toEqual(new Set([KEY_A, KEY_B]));
      expect(lu.keys().filter((k) => k === KEY_A)).toHaveLength(2); // the stale registrations, untouched
    }
  });

  it('stale on one path only: the preempt goes through the other, registered, path of every LU and is verified', async () => {
    const { san, lus, a } = staleCluster([1]);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: true, lost: false });
    for (const lu of lus) {
      expect(reportOf(r, lu)).toMatchObject({ outcome: 'fenced', ok: true, reservation: { key: KEY_A, type: WE_RO } });
      expect(san.prOuts({ lu }).map((x) => [x.nexus.port, x.response?.status])).toEqual([[1, 0x18], [2, 0]]);
      expect(lu.distinctKeys()).toEqual([KEY_A]);
    }
  });

  it('stale on a fan-out LU only: that LU fails with ERR_NOT_REGISTERED, the others are fenced, not lost', async () => {
    const { lus, a } = staleCluster([1, 2], (l) => [l[2]]);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: false, lost: false, fenced: [nameOf(a, lus[0]), nameOf(a, lus[1])], notFenced: [nameOf(a, lus[2])] });
    expect(reportOf(r, lus[2]).outcome).toBe('failed');
    expect((reportOf(r, lus[2]).error as ScsiPrError).code).toBe('ERR_NOT_REGISTERED');
    expect(new Set(lus[2].distinctKeys())).toEqual(new Set([KEY_A, KEY_B]));
  });

  it('a conflict whose READ KEYS cannot be read: the LU fails with the conflict, neither lost nor stale claimed, and the arbiter stops', async () => {
    const { san, lus, a } = staleCluster([1, 2]);
    // lu0 (the arbiter, not checked): the READ KEYS after its conflict fails on every path.
    san.script({ lu: lus[0], on: 'read-keys' }, { hostStatus: DID_TRANSPORT_DISRUPTED }, Infinity);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: false, lost: false, fenced: [] });
    expect(reportOf(r, lus[0]).outcome).toBe('failed');
    expect(reportOf(r, lus[0]).error).toBeInstanceOf(ReservationConflictError);
    expect(reportOf(r, lus[1]).outcome).toBe('not-attempted');
    expect(san.prOuts({ node: a })).toHaveLength(1);
  });

  it('fenced between the check and the preempt, while stale: lost (the re-read finds our key gone)', async () => {
    const { san, lus, a, b } = staleCluster([1, 2]);
    san.script({ lu: lus[0], node: a, on: 'preempt-and-abort' }, { before: (lu) => lu.execute(b.nexus(1), preemptCdb(), preemptList(KEY_B, KEY_A)) });

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: false, lost: true });
    expect(reportOf(r, lus[0]).outcome).toBe('lost');
    expect(lus[0].distinctKeys()).toEqual([KEY_B]);
  });
});

/** A target without PREEMPT AND ABORT (tgt 1.0.85): ILLEGAL REQUEST, INVALID FIELD IN CDB. */
const NO_PREEMPT_AND_ABORT = { sense: { key: 0x5, asc: 0x24, ascq: 0x00 } };

describe('fence: a target without PREEMPT AND ABORT', () => {
  it('falls back to PREEMPT on the same path, LU by LU, verifies, and says which LUs were not aborted', async () => {
    const { san, lus, a, b } = twoNodeCluster(3);
    // lus[1] implements PREEMPT AND ABORT, the others do not.
    for (const lu of [lus[0], lus[2]]) san.script({ lu, on: 'preempt-and-abort' }, NO_PREEMPT_AND_ABORT, Infinity);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: true, lost: false, withoutAbort: [nameOf(a, lus[0]), nameOf(a, lus[2])] });
    expect(r.fenced).toHaveLength(3);
    expect(reportOf(r, lus[0])).toMatchObject({ outcome: 'fenced', ok: true, method: 'preempt' });
    expect(reportOf(r, lus[1])).toMatchObject({ outcome: 'fenced', ok: true, method: 'preempt-and-abort' });
    expect(reportOf(r, lus[2])).toMatchObject({ outcome: 'fenced', ok: true, method: 'preempt' });
    for (const lu of lus) {
      expect(lu.distinctKeys()).toEqual([KEY_A]);
      expect(lu.reservationKey()).toEqual({ key: KEY_A, type: WE_RO });
    }
    // The arbiter LU: the refused PREEMPT AND ABORT, then PREEMPT through the same path (port 1), then nothing else there.
    expect(san.prOuts({ lu: lus[0] }).map((x) => [x.name, x.nexus.port])).toEqual([['preempt-and-abort', 1], ['preempt', 1]]);
    // The fan-out still waited for the arbiter (PREEMPT) to be back.
    const arbiterPreempt = san.prOuts({ lu: lus[0] })[1]!;
    for (const lu of [lus[1], lus[2]]) for (const x of san.prOuts({ lu })) expect(x.submittedAt).toBeGreaterThan(arbiterPreempt.settledAt!);
    expect(san.prOuts({ node: b })).toEqual([]);
  });

  it('requireAbort: the LU fails with ERR_ABORT_UNSUPPORTED and nothing but the refused command reaches it; the arbiter moves on', async () => {
    const { san, lus, a } = twoNodeCluster(3);
    san.script({ lu: lus[0], on: 'preempt-and-abort' }, NO_PREEMPT_AND_ABORT, Infinity);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B, requireAbort: true });

    expect(r).toMatchObject({ ok: false, lost: false, withoutAbort: [], notFenced: [nameOf(a, lus[0])] });
    const bad = reportOf(r, lus[0]);
    expect(bad.outcome).toBe('failed');
    expect((bad.error as ScsiPrError).code).toBe('ERR_ABORT_UNSUPPORTED');
    expect(bad.error?.message).toMatch(/refuses PREEMPT AND ABORT \(INVALID FIELD IN CDB\) and requireAbort is set/);
    expect((bad.error as ScsiPrError & { cause?: unknown }).cause).toBeInstanceOf(ScsiSenseError);
    expect(san.prOuts({ lu: lus[0] }).map((x) => x.name)).toEqual(['preempt-and-abort']);
    expect(lus[0].distinctKeys()).toEqual([KEY_A, KEY_B]);
    // The other LUs do abort: fenced with PREEMPT AND ABORT (the arbiter moved to lus[1]).
    for (const lu of [lus[1], lus[2]]) expect(reportOf(r, lu)).toMatchObject({ outcome: 'fenced', ok: true, method: 'preempt-and-abort' });
  });

  it('another ILLEGAL REQUEST (a bad parameter list) is not taken for "unsupported": no PREEMPT is sent', async () => {
    const { san, lus, a } = twoNodeCluster(1);
    san.script({ lu: lus[0], on: 'preempt-and-abort' }, { sense: { key: 0x5, asc: 0x26, ascq: 0x00 } }, Infinity);

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: false, withoutAbort: [] });
    expect((reportOf(r, lus[0]).error as ScsiPrError).code).toBe('ERR_ILLEGAL_REQUEST');
    expect(san.prOuts({ lu: lus[0] }).map((x) => x.name)).toEqual(['preempt-and-abort']);
  });

  it('lost on a target without PREEMPT AND ABORT: the PREEMPT\'s RESERVATION CONFLICT with our key gone is lost', async () => {
    const { san, lus, a, b } = twoNodeCluster(2);
    san.script({ lu: lus[0], on: 'preempt-and-abort' }, NO_PREEMPT_AND_ABORT, Infinity);
    // b's PREEMPT lands on the arbiter LU just before a's PREEMPT (after a's refused PREEMPT AND ABORT).
    san.script({ lu: lus[0], on: 'preempt', node: a }, { before: (lu) => lu.execute(b.nexus(1), preemptCdb(), preemptList(KEY_B, KEY_A)) });

    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: false, lost: true, fenced: [], withoutAbort: [] });
    expect(reportOf(r, lus[0]).outcome).toBe('lost');
    expect(san.prOuts({ node: a, lu: lus[1] })).toEqual([]);
  });

  it(`two nodes fencing each other through PREEMPT leave exactly one survivor over 40 seeded orderings`, async () => {
    const winners = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const r = await raceRound(seed, (san) => san.script({ on: 'preempt-and-abort' }, NO_PREEMPT_AND_ABORT, Infinity));
      winners.add(r.winnerName);
      expect(r.winner.withoutAbort, r.context).toHaveLength(4);
    }
    expect(winners).toEqual(new Set(['a', 'b']));
  });
});

/**
 * One round of two nodes fencing each other on 4 LUs with seeded random delays
 * (after `prepare` scripts the SAN): checks that exactly one key survives, the
 * same on every LU, that the winner is verified and the loser `lost` with
 * nothing fenced; returns both reports for the caller's own checks.
 */
async function raceRound(seed: number, prepare: (san: FakeSan) => void = () => {}) {
  const { san, lus, a, b } = twoNodeCluster(4, 1);
  prepare(san);
  const random = seededRandom(seed);
  // PR commands only: the INQUIRYs of the open phase order nothing.
  san.delay = (x) => (x.name === 'inquiry' ? { arrive: 0, reply: 0 } : { arrive: Math.floor(random() * 4), reply: Math.floor(random() * 4) });
  const [ra, rb] = await Promise.all([
    fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B }),
    fence({ devices: b.devices(), key: KEY_B, victimKey: KEY_A }),
  ]);
  const context = `seed ${seed}`;
  const survivors = lus.map((lu) => lu.distinctKeys());
  for (const s of survivors) expect(s, context).toHaveLength(1);
  const survivor = survivors[0]![0]!;
  expect(survivors.every((s) => s[0] === survivor), context).toBe(true);
  const [winner, loser, loserNode] = survivor === KEY_A ? [ra, rb, b] : [rb, ra, a];
  expect(winner, context).toMatchObject({ ok: true, lost: false });
  expect(loser, context).toMatchObject({ ok: false, lost: true, fenced: [] });
  return { san, lus, survivor, winner, loserNode, winnerName: survivor === KEY_A ? 'a' : 'b', context };
}

describe('fence: two nodes fencing each other', () => {
  const SEEDS = 100;
  it(`leaves exactly one survivor, the same on every LU, over ${SEEDS} seeded orderings`, async () => {
    const winners = new Set<string>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const { san, lus, survivor, loserNode, winnerName, context } = await raceRound(seed);
      winners.add(winnerName);
      // The loser sent at most its arbiter PREEMPT AND ABORT, on the first LU in WWN order.
      expect(san.prOuts({ node: loserNode }).every((x) => x.lu === lus[0]), context).toBe(true);
      for (const lu of lus) expect(lu.reservationKey(), context).toEqual({ key: survivor, type: WE_RO });
    }
    expect(winners).toEqual(new Set(['a', 'b'])); // the orderings really differed
  });
});

describe('fence: faults in the middle of the fan-out', () => {
  it('a PREEMPT that ran though its answer was lost with its path: the next path meets RESERVATION CONFLICT, the LU is fenced (not stale) and verified', async () => {
    const { san, lus, a } = twoNodeCluster(3);
    const devices = a.devices();
    // Path 1's PREEMPT AND ABORT "runs" (applied on the LU when path 2's arrives) but answers with a transport failure.
    a.path(lus[0], 1).script('preempt-and-abort', { hostStatus: DID_TRANSPORT_DISRUPTED });
    a.path(lus[0], 2).script('preempt-and-abort', { before: (lu) => lu.execute(a.nexus(1), preemptCdb(), preemptList(KEY_A, KEY_B)) });

    const r = await fence({ devices, key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: true, lost: false, aborted: false, notFenced: [] });
    expect(reportOf(r, lus[0])).toMatchObject({ outcome: 'fenced', ok: true, method: 'preempt-and-abort', reservation: { key: KEY_A, type: WE_RO } });
    expect(reportOf(r, lus[0]).pathFailures?.map((f) => f.path)).toEqual(['/dev/fake/a/lu0/p1']);
    expect(san.prOuts({ node: a, lu: lus[0] }).map((x) => [x.nexus.port, x.response?.hostStatus, x.response?.status])).toEqual([[1, DID_TRANSPORT_DISRUPTED, 0], [2, 0, 0x18]]);
    // The arbiter was won: the fan-out went on.
    for (const lu of lus) expect(lu.distinctKeys()).toEqual([KEY_A]);
  });

  it('a PREEMPT the initiator re-sent after recovering its session (the first one ran): RESERVATION CONFLICT on the same path, the LU is fenced', async () => {
    const { lus, a } = twoNodeCluster(2);
    const devices = a.devices();
    a.path(lus[1], 1).script('preempt-and-abort', { before: (lu) => lu.execute(a.nexus(1), preemptCdb(), preemptList(KEY_A, KEY_B)) });

    const r = await fence({ devices, key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: true, lost: false });
    expect(reportOf(r, lus[1])).toMatchObject({ outcome: 'fenced', ok: true });
  });

  it('the target lost its PR state mid-fence (tgt restarted): the LU fails with ERR_NO_REGISTRATIONS, not lost; the others are fenced', async () => {
    const { lus, a } = twoNodeCluster(3);
    const devices = a.devices();
    a.path(lus[2], 1).script('preempt-and-abort', { before: (lu) => { lu.registrations.clear(); lu.reservation = null; } });

    const r = await fence({ devices, key: KEY_A, victimKey: KEY_B });

    expect(r).toMatchObject({ ok: false, lost: false, fenced: [nameOf(a, lus[0]), nameOf(a, lus[1])], notFenced: [nameOf(a, lus[2])] });
    expect(reportOf(r, lus[2]).outcome).toBe('failed');
    expect((reportOf(r, lus[2]).error as ScsiPrError).code).toBe('ERR_NO_REGISTRATIONS');
    expect((reportOf(r, lus[2]).error as ScsiPrError).cause).toBeInstanceOf(ReservationConflictError);
  });

  it('a path that failed goes last: the LU\'s later commands start on the path that answered', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    const devices = a.devices();
    a.path(lus[1], 1).script('read-keys', { hostStatus: DID_TRANSPORT_DISRUPTED });

    const r = await fence({ devices, key: KEY_A, victimKey: KEY_B });

    expect(r.ok).toBe(true);
    expect(reportOf(r, lus[1]).pathFailures?.map((f) => [f.path, f.error.constructor.name])).toEqual([['/dev/fake/a/lu1/p1', 'TransportError']]);
    expect(reportOf(r, lus[0]).pathFailures).toBeUndefined();
    expect(san.commands({ lu: lus[1], node: a }).filter((x) => x.name !== 'inquiry').map((x) => [x.name, x.nexus.port])).toEqual([
      ['read-keys', 1],
      ['read-keys', 2],
      ['preempt-and-abort', 2],
      ['read-keys', 2],
      ['read-reservation', 2],
    ]);
  });

  it('a hung path costs one timeout per LU, not one per command: the preempt and the verify skip it', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    const devices = a.devices();
    a.path(lus[0], 1).script('read-keys', { hang: true }); // the check, on the first path
    const r = await fence({ devices, key: KEY_A, victimKey: KEY_B, timeoutMs: 50 });
    expect(r.ok).toBe(true);
    expect(san.commands({ lu: lus[0], node: a }).filter((x) => x.outcome === 'timed-out')).toHaveLength(1);
  });
});

describe('fence: AbortSignal', () => {
  it('already aborted: AbortError, nothing sent', async () => {
    const { san, a } = twoNodeCluster(2);
    const devices = a.devices();
    await expect(fence({ devices, key: KEY_A, victimKey: KEY_B, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(san.log).toEqual([]);
  });

  it('a signal that is not an AbortSignal: ArgumentTypeError, nothing sent', async () => {
    const { san, a } = twoNodeCluster(2);
    await expect(fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B, signal: {} as AbortSignal })).rejects.toBeInstanceOf(ArgumentTypeError);
    expect(san.log).toEqual([]);
  });

  it('aborted once the arbiter is won: no fan-out; the arbiter LU is verified, the others not-attempted with AbortError; nothing pending', async () => {
    const { san, lus, a } = twoNodeCluster(4);
    const ac = new AbortController();
    const devices = a.devices();
    const r = await fence({ devices, key: KEY_A, victimKey: KEY_B, signal: ac.signal, onProgress: (e) => e.phase === 'arbiter' && ac.abort() });

    expect(r).toMatchObject({ ok: false, lost: false, aborted: true, fenced: [nameOf(a, lus[0])] });
    expect(reportOf(r, lus[0])).toMatchObject({ outcome: 'fenced', ok: true });
    for (const lu of lus.slice(1)) {
      expect(reportOf(r, lu).outcome).toBe('not-attempted');
      expect(reportOf(r, lu).error).toBeInstanceOf(AbortError);
      expect(new Set(lu.distinctKeys())).toEqual(new Set([KEY_A, KEY_B])); // the report says not fenced, and it is not
    }
    expect(san.prOuts({ node: a }).map((x) => x.lu)).toEqual([lus[0]]);
    expect(san.commands().every((x) => x.outcome !== 'pending')).toBe(true);
  });

  it('aborted mid-fan-out: every preempt already out is finished and verified; the report matches every LU', async () => {
    const { san, lus, a } = twoNodeCluster(5);
    const ac = new AbortController();
    const r = await fence({ devices: a.devices(), key: KEY_A, victimKey: KEY_B, signal: ac.signal, onProgress: (e) => e.phase === 'preempt' && ac.abort() });

    expect(r.aborted).toBe(true);
    for (const lu of lus) {
      const d = reportOf(r, lu);
      expect(d.ok).toBe(!lu.distinctKeys().includes(KEY_B));
    }
    expect(san.commands().every((x) => x.outcome !== 'pending')).toBe(true);
  });

  it('aborted while the arbiter\'s preempt hangs on its first path: that LU is finished on its other path (the preempt may have run) and verified; no other LU is preempted', async () => {
    const { san, lus, a } = twoNodeCluster(3);
    const ac = new AbortController();
    const devices = a.devices();
    a.path(lus[0], 1).script('preempt-and-abort', { hang: true });
    a.path(lus[0], 1).script('read-keys', { delayTurns: 0 }); // the check
    setTimeout(() => ac.abort(), 10);

    const r = await fence({ devices, key: KEY_A, victimKey: KEY_B, timeoutMs: 100, signal: ac.signal });

    expect(r.aborted).toBe(true);
    expect(reportOf(r, lus[0])).toMatchObject({ outcome: 'fenced', ok: true });
    expect(san.prOuts({ node: a }).map((x) => [x.lu.name, x.nexus.port, x.outcome])).toEqual([['lu0', 1, 'timed-out'], ['lu0', 2, 'answered']]);
    expect(reportOf(r, lus[1]).outcome).toBe('not-attempted');
    expect(reportOf(r, lus[2]).error).toBeInstanceOf(AbortError);
  });
});

describe('fence: out of file descriptors', () => {
  it('EMFILE opening a path: every path opened is closed again, a SyscallError EMFILE says how many are needed, nothing is sent', async () => {
    const { san, a } = twoNodeCluster(3);
    const fakes = a.devices();
    const names = fakes.map((_, i) => `/dev/sg${100 + i}`);
    openStub.fn = async (path: string) => {
      const i = names.indexOf(path);
      if (i >= 4) throw new SyscallError(`${path}: open: too many open files`, { code: 'EMFILE', errno: -24, syscall: 'open' }, { path });
      return fakes[i];
    };
    try {
      const e = await fence({ devices: names, key: KEY_A, victimKey: KEY_B }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(SyscallError);
      expect((e as SyscallError).code).toBe('EMFILE');
      expect((e as Error).message).toMatch(/cannot open 2 of 6 device paths: out of file descriptors \(EMFILE\).*one descriptor per path at once \(6\).*Nothing was sent/);
      expect(fakes.slice(0, 4).every((d: Device) => d.isClosed)).toBe(true);
      expect(san.log).toEqual([]);
    } finally {
      openStub.fn = undefined;
    }
  });
});
