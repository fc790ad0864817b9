/**
 * The fake SAN itself: its bytes parse with lib/scsi's parsers (through real
 * Devices), its PR rules follow SPC-4, and its scripts, delays and log behave
 * as the fencing tests assume.
 */
import { describe, expect, it } from 'vitest';
import { parseReadFullStatus, parseReadKeys, parseReadReservation, parseReportCapabilities } from '../../../lib/scsi/pr-in-parsers';
import { AbortError, DeviceClosedError, ReservationConflictError, ScsiSenseError, TimeoutError, TransportError } from '../../../lib/errors';
import { FakeSan } from './fake-transport';
import { nexus, RESERVATIONS_PREEMPTED, RESERVATIONS_RELEASED, REGISTRATIONS_PREEMPTED, type FakeLogicalUnit, type Nexus } from './fake-logical-unit';
import { settle, turns } from './event-loop';
import { KEY_A, KEY_B, WE_RO, twoNodeCluster } from './cluster';

/** Run one command on the model directly and return the data-in bytes. */
function dataIn(lu: FakeLogicalUnit, n: Nexus, cdb: number[]): Buffer {
  const r = lu.execute(n, Buffer.from(cdb), null);
  expect(r.status).toBe(0);
  return r.data!;
}

describe('fake SAN: SPC bytes', () => {
  it('answers the four PR IN actions in layouts the library parses', () => {
    const { lus, a, b } = twoNodeCluster(1);
    const lu = lus[0];
    const x = a.nexus(1);
    const keys = dataIn(lu, x, [0x5e, 0, 0, 0, 0, 0, 0, 0x04, 0, 0]);
    expect(parseReadKeys(keys, keys.length)).toMatchObject({ generation: 0, keys: [KEY_A, KEY_A, KEY_B, KEY_B], truncated: false });
    const res = dataIn(lu, x, [0x5e, 1, 0, 0, 0, 0, 0, 0, 24, 0]);
    expect(parseReadReservation(res, res.length).reservation).toMatchObject({ key: KEY_A, scope: 0, type: WE_RO });
    const caps = dataIn(lu, x, [0x5e, 2, 0, 0, 0, 0, 0, 0, 8, 0]);
    expect(parseReportCapabilities(caps, caps.length)).toMatchObject({ typeMaskValid: true, typesSupported: [1, 3, 5, 6, 7, 8], persistThroughPowerLossCapable: true });
    const full = dataIn(lu, x, [0x5e, 3, 0, 0, 0, 0, 0, 0xff, 0xff, 0]);
    const regs = parseReadFullStatus(full, full.length).registrations;
    expect(regs.map((g) => [g.key, g.reservationHolder, g.relativeTargetPortId, g.transportId])).toEqual([
      [KEY_A, true, 1, { protocol: 'iscsi', name: a.initiator, isid: '23d000000001' }],
      [KEY_A, false, 2, { protocol: 'iscsi', name: a.initiator, isid: '23d000000002' }],
      [KEY_B, false, 1, { protocol: 'iscsi', name: b.initiator, isid: '23d000000001' }],
      [KEY_B, false, 2, { protocol: 'iscsi', name: b.initiator, isid: '23d000000002' }],
    ]);
    expect(regs[0].type).toBe(WE_RO);
  });

  it('answers INQUIRY with the LU name, serial, WWN and target port', async () => {
    const san = new FakeSan();
    const lu = san.addLu({ wwn: `naa.6001405${'ab'.repeat(12)}c`, serial: 'SER1' });
    const d = san.node('a').open(lu, 2).device();
    const q = await d.inquiry();
    expect(q).toMatchObject({ vendor: 'FAKESAN', product: 'LU lu0', peripheralDeviceType: 0, serialNumber: 'SER1', wwn: lu.wwn });
    expect(q.designators.find((g) => g.designatorType === 'relative-target-port')?.relativeTargetPort).toBe(2);
    const none = san.addLu({ wwn: null });
    expect((await san.node('b').open(none, 1).device().inquiry()).wwn).toBeUndefined();
  });

  it('truncates data-in to the allocation and reports the residue, so long key lists are re-read', async () => {
    const san = new FakeSan();
    const lu = san.addLu();
    const n = san.node('many', { ports: 1 });
    for (let i = 0; i < 200; i++) lu.setRegistration(nexus(`iqn.2024-01.test.san:n${i}`, '1', 1), BigInt(i + 1));
    const r = await n.open(lu, 1).device().readKeys();
    expect(r.keys).toHaveLength(200);
    const reads = san.commands({ name: 'read-keys' });
    expect(reads.length).toBeGreaterThan(1); // 1024 bytes hold 127 keys: re-issued larger
  });
});

describe('fake SAN: PR rules (SPC-4 5.12)', () => {
  it('PREEMPT AND ABORT of the holder moves the reservation, removes every nexus of the victim, and tells each one', async () => {
    const { lus, a, b } = twoNodeCluster(1);
    const lu = lus[0];
    lu.setReservation(b.nexus(2), WE_RO);
    const d = a.open(lu, 1).device();
    await d.preemptAndAbort({ key: KEY_A, preemptKey: KEY_B, type: WE_RO });
    expect(lu.keys()).toEqual([KEY_A, KEY_A]);
    expect(lu.reservationKey()).toEqual({ key: KEY_A, type: WE_RO });
    expect(lu.generation).toBe(1);
    for (const x of b.nexuses()) expect(lu.pendingUnitAttentions(x)).toEqual([REGISTRATIONS_PREEMPTED]);
    expect(lu.pendingUnitAttentions(a.nexus(2))).toEqual([]); // type unchanged: nothing to tell the other registrant
    const victim = b.open(lu, 1).device();
    const seen = await victim.readKeys(); // the UA is reported once, absorbed by the retry policy
    expect(seen.unitAttentions.map((s) => [s.asc, s.ascq])).toEqual([[0x2a, 0x05]]);
    await expect(victim.writeBlocks(0, Buffer.alloc(512))).rejects.toBeInstanceOf(ReservationConflictError);
    await expect(victim.readBlocks(0)).resolves.toHaveLength(512); // Write Exclusive: reads stay allowed
  });

  it('PREEMPT with a type change tells the remaining registrants the reservation was released', () => {
    const { lus, a, b } = twoNodeCluster(1);
    const lu = lus[0];
    lu.setReservation(b.nexus(1), WE_RO);
    const c = nexus('iqn.2024-01.test.san:c', '1', 1);
    lu.setRegistration(c, 0xcn);
    lu.execute(a.nexus(1), Buffer.from([0x5f, 0x04, 1, 0, 0, 0, 0, 0, 24, 0]), list(KEY_A, KEY_B));
    expect(lu.reservationKey()).toEqual({ key: KEY_A, type: 1 });
    expect(lu.pendingUnitAttentions(c)).toEqual([RESERVATIONS_RELEASED]);
    expect(lu.pendingUnitAttentions(a.nexus(2))).toEqual([RESERVATIONS_RELEASED]);
  });

  it('answers RESERVATION CONFLICT to an unregistered nexus, a wrong key, and a preempt of a key nobody holds', async () => {
    const { san, lus, a, b } = twoNodeCluster(1);
    const lu = lus[0];
    const d = a.open(lu, 1).device();
    await expect(d.register({ key: 0x99n, newKey: 1n })).rejects.toBeInstanceOf(ReservationConflictError);
    await expect(d.reserve({ key: KEY_B, type: WE_RO })).rejects.toBeInstanceOf(ReservationConflictError);
    for (const x of b.nexuses()) lu.registrations.delete(x.id);
    await expect(d.preempt({ key: KEY_A, preemptKey: KEY_B, type: WE_RO })).rejects.toBeInstanceOf(ReservationConflictError);
    const stranger = san.node('stranger', { ports: 1 }).open(lu, 1).device();
    await expect(stranger.readKeys()).resolves.toMatchObject({ keys: [KEY_A, KEY_A] });
    await expect(stranger.clear({ key: 1n })).rejects.toBeInstanceOf(ReservationConflictError);
    expect(lu.generation).toBe(0);
  });

  it('CLEAR removes everything and tells the others 2Ah/03; RELEASE of a registrants-only type tells them 2Ah/04', async () => {
    const { lus, a, b } = twoNodeCluster(2);
    const d0 = a.open(lus[0], 1).device();
    await d0.release({ key: KEY_A, type: WE_RO });
    expect(lus[0].reservation).toBeNull();
    expect(lus[0].pendingUnitAttentions(b.nexus(1))).toEqual([RESERVATIONS_RELEASED]);
    expect(lus[0].pendingUnitAttentions(a.nexus(1))).toEqual([]);
    const d1 = a.open(lus[1], 1).device();
    await d1.clear({ key: KEY_A });
    expect(lus[1].keys()).toEqual([]);
    expect(lus[1].pendingUnitAttentions(b.nexus(2))).toEqual([RESERVATIONS_PREEMPTED]);
  });

  it('REGISTER AND IGNORE EXISTING KEY replaces a stale key on the nexus and bumps the generation', async () => {
    const san = new FakeSan();
    const lu = san.addLu();
    const n = san.node('a', { ports: 1 });
    lu.setRegistration(n.nexus(1), 0x5a1en);
    await n.open(lu, 1).device().registerAndIgnoreExistingKey({ newKey: KEY_A, aptpl: true });
    expect(lu.keys()).toEqual([KEY_A]);
    expect(lu.generation).toBe(1);
    expect(lu.ptplActivated).toBe(true);
  });
});

describe('fake SAN: scripts, delays and the log', () => {
  it('applies a path script to the next N matching commands only', async () => {
    const { san, lus, a } = twoNodeCluster(1);
    const p = a.open(lus[0], 1);
    const d = p.device();
    p.script('read-keys', { hostStatus: 0x0e }, 2);
    await expect(d.readKeys()).rejects.toBeInstanceOf(TransportError);
    await expect(d.testUnitReady()).resolves.toBeDefined(); // another command: not scripted
    await expect(d.readKeys()).rejects.toBeInstanceOf(TransportError);
    await expect(d.readKeys()).resolves.toBeDefined();
    expect(san.log.map((x) => [x.name, x.executed])).toEqual([
      ['read-keys', false],
      ['test-unit-ready', true],
      ['read-keys', false],
      ['read-keys', true],
    ]);
  });

  it('answers scripted statuses and sense without touching the LU', async () => {
    const { lus, a } = twoNodeCluster(1);
    const p = a.open(lus[0], 1);
    const d = p.device({ retries: { busy: 0 } });
    p.script('register', { sense: { key: 0x2, asc: 0x04, ascq: 0x01 } });
    const e = await settle(d.register({ key: KEY_A, newKey: 7n }));
    expect(e.error).toBeInstanceOf(ScsiSenseError);
    expect(e.error?.code).toBe('ERR_NOT_READY');
    p.script('*', { status: 0x08 });
    expect((await settle(d.testUnitReady())).error?.code).toBe('ERR_BUSY');
    expect(lus[0].keys()).toContain(KEY_A);
  });

  it('delays in event-loop turns: a delayed command is answered after a later one', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    const [d0, d1] = [a.open(lus[0], 1).device(), a.open(lus[1], 1).device()];
    san.script({ lu: lus[0] }, { delayTurns: 3 });
    const order: string[] = [];
    await Promise.all([d0.readKeys().then(() => order.push('lu0')), d1.readKeys().then(() => order.push('lu1'))]);
    expect(order).toEqual(['lu1', 'lu0']);
    const [r0, r1] = san.log;
    expect(r0.submittedAt).toBeLessThan(r1.submittedAt);
    expect(r0.settledAt).toBeGreaterThan(r1.settledAt!);
  });

  it('a hung command is timed out like the kernel does it (DID_TIME_OUT), and an abort or close settles it at once', async () => {
    const { san, lus, a } = twoNodeCluster(1);
    const p = a.open(lus[0], 1);
    const d = p.device({ timeoutMs: 40 });
    p.script('*', { hang: true }, 3);
    expect((await settle(d.testUnitReady())).error).toBeInstanceOf(TimeoutError);
    const ac = new AbortController();
    const aborted = settle(d.testUnitReady({ signal: ac.signal, timeoutMs: 60_000 }));
    await turns(2);
    expect(p.inFlight).toBe(1);
    ac.abort(new Error('enough'));
    expect((await aborted).error).toBeInstanceOf(AbortError);
    expect(p.inFlight).toBe(1); // abandoned, not handed back
    const closed = settle(d.testUnitReady({ timeoutMs: 60_000 }));
    await turns(2);
    await d.close();
    expect((await closed).error).toBeInstanceOf(DeviceClosedError);
    expect(san.log.map((x) => x.outcome)).toEqual(['timed-out', 'aborted', 'closed']);
  });
});

function list(key: bigint, saKey: bigint): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64BE(key, 0);
  b.writeBigUInt64BE(saKey, 8);
  return b;
}
