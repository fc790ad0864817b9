/**
 * Every PERSISTENT RESERVE IN / OUT service action through scsi-pr on the real
 * kernel and LIO, cross-checked after each step with sg_persist on the same LUN.
 *
 * LUN 1: the service actions one after another, then the module-level forms.
 * LUN 2: UNIT ATTENTION after preemption (and after RELEASE / CLEAR).
 * LUN 3: SPEC_I_PT, ALL_TG_PT, APTPL and REGISTER AND MOVE across nodes and target ports.
 *
 * Cross-checks read through an observer nexus (node 3, path 1 = target port 2) that
 * never registers on these LUNs, so it never has a PR UNIT ATTENTION pending.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as pr from '../../lib';
import { dev, labTools, run, type LabMap, wipeReservations } from './lab-env';
import { expectSgPersistAgrees, fromScsiPr, sgPersist, parseSgPersistKeys, sgReportCapabilities } from './sg-persist-reference';

const LUN_ACTIONS = 1;
const LUN_UA = 2;
const LUN_PORTS = 3;
const WIPE_KEY = 0x5ca1ab1en;

type FullStatus = Awaited<ReturnType<pr.Device['readFullStatus']>>;

const wipe = (d: pr.Device): Promise<void> => wipeReservations(d, WIPE_KEY);

function iqn(node: number): string {
  return labTools.initiatorIqn(node);
}

/** The full-status entry of `node` (optionally with a given ISID). */
function entryOf(fs: FullStatus, node: number, isid?: string): FullStatus['registrations'][number] {
  const e = fs.registrations.find((r) => r.transportId.protocol === 'iscsi' && r.transportId.name === iqn(node) && (isid === undefined || r.transportId.isid === isid));
  if (!e) throw new Error(`no full-status entry for node ${node}${isid ? ` ISID ${isid}` : ''}: ${JSON.stringify(pr.toJSONSafe(fs.registrations))}`);
  return e;
}

const byValue = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

async function outcome(p: Promise<unknown>): Promise<'ok' | 'conflict'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof pr.ReservationConflictError) return 'conflict';
    throw e;
  }
}

describe('every PR IN and PR OUT service action (LUN 1), cross-checked with sg_persist', () => {
  let map: LabMap;
  let n1: pr.Device, n2: pr.Device, n3: pr.Device, obs: pr.Device;
  let obsSg: string;
  let block: Buffer;
  const K1 = 0x1a2b3c4d5e6f7081n;
  const K1b = 0xa1n;
  const K1c = 0xa1cn;
  const K2 = 0x2n;
  const K2b = 0xffffffffffffff02n;
  const K3 = 0x3n;

  beforeAll(async () => {
    map = labTools.map();
    n1 = await pr.open(dev(map, 1, LUN_ACTIONS).sg);
    n2 = await pr.open(dev(map, 2, LUN_ACTIONS).sg);
    n3 = await pr.open(dev(map, 3, LUN_ACTIONS).sg);
    obsSg = dev(map, 3, LUN_ACTIONS, 1).sg;
    obs = await pr.open(obsSg);
    await wipe(n1);
    for (const d of [n1, n2, n3]) await d.readCapacity();
    block = Buffer.alloc((await n1.readCapacity()).blockSize, 0x5a);
  });

  afterAll(async () => {
    if (n1) await wipe(n1);
    for (const d of [n1, n2, n3, obs]) await d?.close();
  });

  it('REPORT CAPABILITIES: LIO supports all six types, SIP_C, ATP_C, PTPL_C and CRH, not RLR_C — as sg_persist -c reports', async () => {
    const caps = await n1.reportCapabilities();
    expect(caps).toMatchObject({
      length: 8,
      replaceLostReservationCapable: false,
      compatibleReservationHandling: true,
      specifyInitiatorPortsCapable: true,
      allTargetPortsCapable: true,
      persistThroughPowerLossCapable: true,
      typeMaskValid: true,
      allowCommands: 1,
      persistThroughPowerLossActivated: false,
      typesSupported: [1, 3, 5, 6, 7, 8],
    });
    expect(fromScsiPr.capabilities(caps)).toEqual(await sgReportCapabilities(dev(map, 1, LUN_ACTIONS).sg));
  });

  it('READ KEYS, READ RESERVATION and READ FULL STATUS of an unused LUN: nothing registered, nothing reserved', async () => {
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.keys.keys).toEqual([]);
    expect(v.reservation.reservation).toBeNull();
    expect(v.fullStatus.registrations).toEqual([]);
  });

  it('REGISTER: nodes 1 and 2 register their I_T nexuses; full status names them by TransportID with the session ISID at relative target port 1', async () => {
    const before = (await obs.readKeys()).generation;
    const r1 = await n1.register({ newKey: K1 });
    expect(r1.action).toBe('register');
    await n2.register({ newKey: K2 });
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.keys.keys).toEqual([K1, K2]);
    expect(v.keys.generation).toBe(before + 2);
    expect(v.fullStatus.registrations).toEqual([
      expect.objectContaining({ key: K1, allTargetPorts: false, reservationHolder: false, relativeTargetPortId: 1, transportId: pr.parseTransportId(map.nodes[0].luns[LUN_ACTIONS].transportId) }),
      expect.objectContaining({ key: K2, allTargetPorts: false, reservationHolder: false, relativeTargetPortId: 1, transportId: pr.parseTransportId(map.nodes[1].luns[LUN_ACTIONS].transportId) }),
    ]);
    expect(entryOf(v.fullStatus, 1).transportId).toEqual({ protocol: 'iscsi', name: iqn(1), isid: dev(map, 1, LUN_ACTIONS).isid });
  });

  it('REGISTER with a reservation key that is not the registered one is a RESERVATION CONFLICT, and changes nothing', async () => {
    const before = await obs.readKeys();
    const e = await n1.register({ key: 0xbadn, newKey: 0x5n }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(pr.ReservationConflictError);
    expect((e as pr.ReservationConflictError).code).toBe('ERR_RESERVATION_CONFLICT');
    // An unregistered nexus naming a non-zero current key conflicts too.
    await expect(n3.register({ key: K3, newKey: K3 })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    const after = await expectSgPersistAgrees(obs, obsSg);
    expect(after.keys).toMatchObject({ generation: before.generation, keys: before.keys });
  });

  it('REGISTER with the current key replaces it', async () => {
    const before = (await obs.readKeys()).generation;
    await n1.register({ key: K1, newKey: K1b });
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.keys.keys).toEqual([K1b, K2]);
    expect(v.keys.generation).toBe(before + 1);
  });

  it('REGISTER AND IGNORE EXISTING KEY sets a new key whatever the nexus had (or registers a new nexus)', async () => {
    const before = (await obs.readKeys()).generation;
    const r = await n2.registerAndIgnoreExistingKey({ newKey: K2b });
    expect(r.action).toBe('register-and-ignore-existing-key');
    await n3.registerAndIgnoreExistingKey({ newKey: K3 });
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.keys.keys).toEqual([K1b, K2b, K3]);
    expect(v.keys.generation).toBe(before + 2);
    expect(entryOf(v.fullStatus, 3).transportId).toEqual(pr.parseTransportId(map.nodes[2].luns[LUN_ACTIONS].transportId));
  });

  it('RESERVE: node 1 holds Write Exclusive; the generation does not change; READ RESERVATION and full status show the holder', async () => {
    const before = (await obs.readKeys()).generation;
    const r = await n1.reserve({ key: K1b, type: 'write-exclusive' });
    expect(r.action).toBe('reserve');
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.reservation.reservation).toEqual({ key: K1b, scope: 0, type: 1, typeName: 'write-exclusive' });
    expect(v.reservation.generation).toBe(before);
    expect(entryOf(v.fullStatus, 1)).toMatchObject({ reservationHolder: true, scope: 0, type: 1, typeName: 'write-exclusive' });
    expect(v.fullStatus.registrations.filter((x) => x.reservationHolder)).toHaveLength(1);
    // Write Exclusive in action: the holder writes, a registrant cannot.
    expect(await outcome(n1.writeBlocks(1, block))).toBe('ok');
    expect(await outcome(n2.writeBlocks(1, block))).toBe('conflict');
  });

  it('RESERVE again by the holder with the same type is a no-op; another type, or another registrant, is a RESERVATION CONFLICT', async () => {
    await n1.reserve({ key: K1b, type: 1 });
    await expect(n1.reserve({ key: K1b, type: 3 })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    await expect(n2.reserve({ key: K2b, type: 1 })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.reservation.reservation).toMatchObject({ key: K1b, type: 1 });
  });

  it('RELEASE by a registrant that does not hold the reservation completes with GOOD and releases nothing', async () => {
    const r = await n2.release({ key: K2b, type: 1 });
    expect(r.action).toBe('release');
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.reservation.reservation).toMatchObject({ key: K1b, type: 1 });
  });

  it('RELEASE by the holder with the wrong type: LIO answers RESERVATION CONFLICT (SPC-4 says ILLEGAL REQUEST, INVALID RELEASE OF PERSISTENT RESERVATION)', async () => {
    await expect(n1.release({ key: K1b, type: 'exclusive-access' })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.reservation.reservation).toMatchObject({ key: K1b, type: 1 });
  });

  it('RELEASE by the holder removes the reservation and keeps every registration; the generation does not change', async () => {
    const before = await obs.readKeys();
    await n1.release({ key: K1b, type: 'write-exclusive' });
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.reservation.reservation).toBeNull();
    expect(v.keys).toMatchObject({ generation: before.generation, keys: before.keys });
    expect(v.fullStatus.registrations.some((x) => x.reservationHolder)).toBe(false);
  });

  it('PREEMPT: node 2 removes node 1’s registration and takes over its reservation with a new type', async () => {
    await n1.reserve({ key: K1b, type: 'write-exclusive-registrants-only' });
    const before = (await obs.readKeys()).generation;
    const r = await n2.preempt({ key: K2b, preemptKey: K1b, type: 'we-ro' });
    expect(r.action).toBe('preempt');
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.keys.keys).toEqual([K2b, K3]);
    expect(v.keys.generation).toBe(before + 1);
    expect(v.reservation.reservation).toMatchObject({ key: K2b, type: 5 });
    expect(entryOf(v.fullStatus, 2)).toMatchObject({ reservationHolder: true, type: 5 });
    // Node 1 is no longer registered: its old key is refused, its writes conflict (WE-RO).
    await expect(n1.register({ key: K1b, newKey: K1b })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    expect(await outcome(n1.writeBlocks(2, block))).toBe('conflict');
    expect(await outcome(n3.writeBlocks(2, block))).toBe('ok');
  });

  it('PREEMPT AND ABORT: node 1 registers again and fences node 2 with Exclusive Access', async () => {
    await n1.register({ newKey: K1c });
    const before = (await obs.readKeys()).generation;
    const r = await n1.preemptAndAbort({ key: K1c, preemptKey: K2b, type: 'exclusive-access' });
    expect(r.action).toBe('preempt-and-abort');
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect([...v.keys.keys].sort(byValue)).toEqual([K3, K1c].sort(byValue));
    expect(v.keys.generation).toBe(before + 1);
    expect(v.reservation.reservation).toMatchObject({ key: K1c, type: 3 });
    expect(await outcome(n2.writeBlocks(3, block))).toBe('conflict');
    expect(await outcome(n2.readBlocks(3))).toBe('conflict');
    expect(await outcome(n1.writeBlocks(3, block))).toBe('ok');
  });

  it('REGISTER with newKey 0 unregisters node 3', async () => {
    await n3.register({ key: K3, newKey: 0 });
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.keys.keys).toEqual([K1c]);
    expect(v.fullStatus.registrations.map((x) => x.transportId)).toEqual([pr.parseTransportId(map.nodes[0].luns[LUN_ACTIONS].transportId)]);
  });

  it('REPLACE LOST RESERVATION: LIO does not implement it (RLR_C 0) and answers ILLEGAL REQUEST, INVALID FIELD IN CDB (a ScsiSenseError)', async () => {
    const before = await obs.readKeys();
    // From the reservation holder (or with no reservation) LIO reaches its service-action switch.
    const e = await n1.replaceLostReservation({ newKey: 0x77n, type: 'write-exclusive' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(pr.ScsiSenseError);
    const err = e as pr.ScsiSenseError;
    expect(err.code).toBe('ERR_ILLEGAL_REQUEST');
    expect(err.sense).toMatchObject({ senseKey: 5, asc: 0x24, ascq: 0x00, ascName: 'INVALID FIELD IN CDB' });
    expect(err.cdb?.[0]).toBe(0x5f);
    expect(err.cdb?.[1]).toBe(0x08);
    // LIO quirk: from a nexus that is not the holder of an existing reservation, the unknown
    // service action fails LIO's reservation check first: RESERVATION CONFLICT.
    await expect(n2.replaceLostReservation({ newKey: 0x77n, type: 1 })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.keys).toMatchObject({ generation: before.generation, keys: before.keys });
    expect(v.reservation.reservation).toMatchObject({ key: K1c, type: 3 });
  });

  it('CLEAR removes the reservation and every registration', async () => {
    await n2.register({ newKey: K2 });
    const before = (await obs.readKeys()).generation;
    const r = await n1.clear({ key: K1c });
    expect(r.action).toBe('clear');
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.keys.keys).toEqual([]);
    expect(v.keys.generation).toBe(before + 1);
    expect(v.reservation.reservation).toBeNull();
    expect(v.fullStatus.registrations).toEqual([]);
    expect(await outcome(n2.writeBlocks(4, block))).toBe('ok');
  });

  it('module-level forms: every action on a device path (opened and closed per call) or on an open Device', async () => {
    const p1 = dev(map, 1, LUN_ACTIONS).sg;
    const p2 = dev(map, 2, LUN_ACTIONS).sg;
    const caps = await pr.reportCapabilities(p1);
    expect(caps.typesSupported).toEqual([1, 3, 5, 6, 7, 8]);

    await pr.register(p1, { newKey: 0x10n });
    await pr.registerAndIgnoreExistingKey(p2, { newKey: 0x20n });
    expect((await pr.readKeys(obsSg)).keys).toEqual([0x10n, 0x20n]);
    await pr.reserve(p1, { key: 0x10n, type: 'exclusive-access-registrants-only' });
    expect((await pr.readReservation(obsSg)).reservation).toMatchObject({ key: 0x10n, type: 6 });
    await pr.release(p1, { key: 0x10n, type: 6 });
    expect((await pr.readReservation(obsSg)).reservation).toBeNull();

    await pr.reserve(p1, { key: 0x10n, type: 'write-exclusive' });
    await pr.preempt(p2, { key: 0x20n, preemptKey: 0x10n, type: 'write-exclusive' });
    expect((await pr.readReservation(obsSg)).reservation).toMatchObject({ key: 0x20n, type: 1 });

    // REGISTER AND MOVE back to node 1 (not registered any more) at relative target port 1.
    await pr.registerAndMove(p2, { key: 0x20n, newKey: 0x11n, transportId: pr.parseTransportId(map.nodes[0].luns[LUN_ACTIONS].transportId), relativeTargetPortId: 1 });
    const fs = await pr.readFullStatus(obsSg);
    expect(entryOf(fs, 1)).toMatchObject({ key: 0x11n, reservationHolder: true, type: 1 });

    await pr.preemptAndAbort(p1, { key: 0x11n, preemptKey: 0x20n, type: 'exclusive-access' });
    expect((await pr.readKeys(obsSg)).keys).toEqual([0x11n]);
    await expect(pr.replaceLostReservation(p1, { newKey: 0x12n, type: 1 })).rejects.toMatchObject({ code: 'ERR_ILLEGAL_REQUEST', sense: { senseKey: 5 } });

    // An open Device is used as is and left open.
    const viaDevice = await pr.readKeys(n1);
    expect(viaDevice.keys).toEqual([0x11n]);
    expect(n1.isClosed).toBe(false);
    // open options travel with a path.
    const strict = await pr.readFullStatus(p1, { open: { retries: { unitAttention: 2 } }, timeoutMs: 5000 });
    expect(strict.registrations).toHaveLength(1);

    await pr.clear(p1, { key: 0x11n });
    await expectSgPersistAgrees(obs, obsSg).then((v) => expect(v.keys.keys).toEqual([]));
  });
});

describe('UNIT ATTENTION after preemption (LUN 2)', () => {
  let map: LabMap;
  let n1: pr.Device, n2: pr.Device, obs: pr.Device;
  let n1Sg: string, obsSg: string;
  let block: Buffer;
  const isUa = (asc: number, ascq: number) => expect.objectContaining({ senseKey: 6, senseKeyName: 'UNIT ATTENTION', asc, ascq });

  beforeAll(async () => {
    map = labTools.map();
    n1Sg = dev(map, 1, LUN_UA).sg;
    n1 = await pr.open(n1Sg);
    n2 = await pr.open(dev(map, 2, LUN_UA).sg);
    obsSg = dev(map, 3, LUN_UA, 1).sg;
    obs = await pr.open(obsSg);
    await wipe(n1);
    // Drain whatever UNIT ATTENTION a nexus may have pending (e.g. the wipe's CLEAR).
    await n1.testUnitReady();
    await n2.testUnitReady();
    block = Buffer.alloc((await n1.readCapacity()).blockSize, 0x11);
  });

  afterAll(async () => {
    if (n2) await wipe(n2);
    for (const d of [n1, n2, obs]) await d?.close();
  });

  it('node 2 preempts node 1: node 1’s next scsi-pr call succeeds and reports 2Ah/05 REGISTRATIONS PREEMPTED in unitAttentions; its writes then conflict as SPC says', async () => {
    await n1.register({ newKey: 0x1n });
    await n2.register({ newKey: 0x2n });
    await n1.reserve({ key: 0x1n, type: 'write-exclusive-registrants-only' });
    expect(await outcome(n1.writeBlocks(0, block))).toBe('ok');
    await n2.preempt({ key: 0x2n, preemptKey: 0x1n, type: 'write-exclusive-registrants-only' });
    // (Reading through another nexus does not touch node 1's UNIT ATTENTION.)
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.reservation.reservation).toMatchObject({ key: 0x2n, type: 5 });

    const keys = await n1.readKeys();
    expect(keys.keys).toEqual([0x2n]);
    expect(keys.unitAttentions).toContainEqual(isUa(0x2a, 0x05));
    expect(keys.unitAttentions.find((u) => u.asc === 0x2a)?.ascName).toBe('REGISTRATIONS PREEMPTED');
    // The UA is gone now; node 1 is no longer a registrant of the WE-RO reservation.
    expect(await outcome(n1.readBlocks(0))).toBe('ok');
    expect(await outcome(n1.writeBlocks(0, block))).toBe('conflict');
    await expect(n1.register({ key: 0x1n, newKey: 0x1n })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    const again = await n1.readReservation();
    expect(again.unitAttentions).toEqual([]);
    expect(again.reservation).toMatchObject({ key: 0x2n, type: 5 });
  });

  it('at the same point sg_persist from node 1 fails with the UNIT ATTENTION (exit status 6) where scsi-pr succeeds; only its retry works', async () => {
    await n1.register({ newKey: 0x11n });
    await n2.preempt({ key: 0x2n, preemptKey: 0x11n, type: 'write-exclusive-registrants-only' });

    const first = await sgPersist(n1Sg, ['-k'], 0);
    expect(first.status).toBe(6);
    expect(first.stdout + first.stderr).toMatch(/Unit Attention/i);
    expect(first.stdout + first.stderr).toMatch(/Registrations preempted/i);
    const second = await sgPersist(n1Sg, ['-k'], 0);
    expect(second.status).toBe(0);
    expect(parseSgPersistKeys(second.stdout).keys).toEqual([0x2n]);
  });

  it('open(path, {retries: {unitAttention: 0}}) surfaces the UA as ScsiSenseError ERR_UNIT_ATTENTION (2Ah/05) once; the next call runs', async () => {
    await n1.register({ newKey: 0x12n });
    await n2.preemptAndAbort({ key: 0x2n, preemptKey: 0x12n, type: 'write-exclusive-registrants-only' });

    const strict = await pr.open(n1Sg, { retries: { unitAttention: 0 } });
    try {
      const e = await strict.readKeys().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(pr.ScsiSenseError);
      const err = e as pr.ScsiSenseError;
      expect(err.code).toBe('ERR_UNIT_ATTENTION');
      expect(err.sense).toMatchObject({ senseKey: 6, asc: 0x2a, ascq: 0x05, ascName: 'REGISTRATIONS PREEMPTED' });
      expect(err.cdb?.[0]).toBe(0x5e);
      const next = await strict.readKeys();
      expect(next.unitAttentions).toEqual([]);
      expect(next.keys).toEqual([0x2n]);
    } finally {
      await strict.close();
    }
  });

  it('RELEASE of a registrants-only reservation gives the other registrants 2Ah/04 RESERVATIONS RELEASED; CLEAR gives 2Ah/03 RESERVATIONS PREEMPTED', async () => {
    await n1.register({ newKey: 0x13n });
    await n2.release({ key: 0x2n, type: 'write-exclusive-registrants-only' });
    const released = await n1.readReservation();
    expect(released.reservation).toBeNull();
    expect(released.unitAttentions).toContainEqual(isUa(0x2a, 0x04));

    await n2.clear({ key: 0x2n });
    const cleared = await n1.readKeys();
    expect(cleared.keys).toEqual([]);
    expect(cleared.unitAttentions).toContainEqual(isUa(0x2a, 0x03));
    await expectSgPersistAgrees(obs, obsSg).then((v) => expect(v.keys.keys).toEqual([]));
  });

  it('REGISTER AND MOVE without `type` must report the UNIT ATTENTION absorbed by the READ RESERVATION it sends first (here 29h/03 after a LUN reset from node 2)', async () => {
    const tid1 = pr.parseTransportId(map.nodes[0].luns[LUN_UA].transportId);
    const tid2 = pr.parseTransportId(map.nodes[1].luns[LUN_UA].transportId);
    const n2Sg = dev(map, 2, LUN_UA).sg;
    await n1.register({ newKey: 0x21n });
    await n2.register({ newKey: 0x22n });
    await n1.reserve({ key: 0x21n, type: 'write-exclusive' });
    await n1.testUnitReady();
    await n2.testUnitReady();

    // Control: with `type` given, the UA the PR OUT absorbed is in the result.
    expect((await run('sg_reset', ['-d', n2Sg])).status).toBe(0); // LOGICAL UNIT RESET: 29h/03 for every nexus
    const withType = await n1.registerAndMove({ key: 0x21n, newKey: 0x23n, transportId: tid2, relativeTargetPortId: 1, type: 'write-exclusive' });
    expect(withType.unitAttentions).toContainEqual(isUa(0x29, 0x03));
    await n2.registerAndMove({ key: 0x23n, newKey: 0x24n, transportId: tid1, relativeTargetPortId: 1, type: 'write-exclusive' });
    await n1.testUnitReady();
    await n2.testUnitReady();

    expect((await run('sg_reset', ['-d', n2Sg])).status).toBe(0);
    const withoutType = await n1.registerAndMove({ key: 0x24n, newKey: 0x25n, transportId: tid2, relativeTargetPortId: 1 });
    expect((await obs.readReservation()).reservation).toMatchObject({ key: 0x25n, type: 1 });
    // The UA was consumed during that call (nothing is pending any more)…
    expect((await n1.testUnitReady()).unitAttentions).toEqual([]);
    // …so the call must report it, like every other call does.
    expect(withoutType.unitAttentions, 'registerAndMove() without type dropped the UNIT ATTENTION of its READ RESERVATION').toContainEqual(isUa(0x29, 0x03));
  });
});

describe('SPEC_I_PT, ALL_TG_PT, APTPL and REGISTER AND MOVE (LUN 3)', () => {
  let map: LabMap;
  let n1: pr.Device, n1p1: pr.Device, n2: pr.Device, n2p1: pr.Device, n3: pr.Device, obs: pr.Device;
  let obsSg: string;
  let block: Buffer;
  const tidOf = (node: number, path = 0): pr.TransportId => {
    const d = dev(map, node, LUN_PORTS, path);
    return pr.parseTransportId(`${d.initiator},i,0x${d.isid}`);
  };

  beforeAll(async () => {
    map = labTools.map();
    n1 = await pr.open(dev(map, 1, LUN_PORTS).sg);
    n1p1 = await pr.open(dev(map, 1, LUN_PORTS, 1).sg);
    n2 = await pr.open(dev(map, 2, LUN_PORTS).sg);
    n2p1 = await pr.open(dev(map, 2, LUN_PORTS, 1).sg);
    n3 = await pr.open(dev(map, 3, LUN_PORTS).sg);
    obsSg = dev(map, 3, LUN_PORTS, 1).sg;
    obs = await pr.open(obsSg);
    await wipe(n1);
    for (const d of [n1, n1p1, n2, n2p1, n3]) await d.readCapacity();
    block = Buffer.alloc((await n1.readCapacity()).blockSize, 0x33);
  });

  afterAll(async () => {
    if (n1) await wipe(n1);
    for (const d of [n1, n1p1, n2, n2p1, n3, obs]) await d?.close();
  });

  it('SPEC_I_PT: node 1 registers node 2’s and node 3’s I_T nexuses by TransportID (name,i,0x<ISID> from the lab map); both really are registered', async () => {
    const t2 = pr.parseTransportId(map.nodes[1].luns[LUN_PORTS].transportId);
    const t3 = pr.parseTransportId(map.nodes[2].luns[LUN_PORTS].transportId);
    expect(t2).toEqual({ protocol: 'iscsi', name: iqn(2), isid: dev(map, 2, LUN_PORTS).isid });
    const before = (await obs.readKeys()).generation;
    await n1.register({ newKey: 0x5e1n, transportIds: [t2, t3] });
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.keys.keys).toEqual([0x5e1n, 0x5e1n, 0x5e1n]);
    // SPC-4 bumps PRgeneration once per command; LIO bumps it once per registration it adds.
    expect(v.keys.generation).toBe(before + 3);
    for (const [node, t] of [[1, tidOf(1)], [2, t2], [3, t3]] as const) {
      expect(entryOf(v.fullStatus, node)).toMatchObject({ key: 0x5e1n, allTargetPorts: false, reservationHolder: false, relativeTargetPortId: 1, transportId: t });
    }
    // The named nexuses act as registrants: node 2 changes its key, node 3 reserves.
    await n2.register({ key: 0x5e1n, newKey: 0x5e2n });
    await n3.reserve({ key: 0x5e1n, type: 'write-exclusive' });
    const w = await expectSgPersistAgrees(obs, obsSg);
    expect(entryOf(w.fullStatus, 2).key).toBe(0x5e2n);
    expect(entryOf(w.fullStatus, 3)).toMatchObject({ reservationHolder: true, type: 1 });
    expect(await outcome(n3.writeBlocks(0, block))).toBe('ok');
    expect(await outcome(n1.writeBlocks(0, block))).toBe('conflict');
    await n3.clear({ key: 0x5e1n });
    expect((await obs.readKeys()).keys).toEqual([]);
  });

  it('SPEC_I_PT through target port 2: LIO registers the named nexus at relative target port 1, not at the port the command came in on (SPC-4), so node 2’s port-2 nexus stays unregistered', async () => {
    const t2p1 = tidOf(2, 1);
    await n1p1.register({ newKey: 0x5e3n, transportIds: [t2p1] });
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(entryOf(v.fullStatus, 1)).toMatchObject({ key: 0x5e3n, relativeTargetPortId: 2, transportId: tidOf(1, 1) });
    expect(entryOf(v.fullStatus, 2)).toMatchObject({ key: 0x5e3n, relativeTargetPortId: 1, transportId: t2p1 });
    await expect(n2p1.register({ key: 0x5e3n, newKey: 0x5e3n })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    await n1p1.clear({ key: 0x5e3n });
    expect((await obs.readKeys()).keys).toEqual([]);
  });

  it('ALL_TG_PT: node 1 registers through every target port; full status sets ALL_TG_PT, and node 1’s path through target port 2 is registered too', async () => {
    await n1.register({ newKey: 0xa77n, allTargetPorts: true });
    const v = await expectSgPersistAgrees(obs, obsSg);
    // LIO keeps one registration per target port: the issuing nexus (name + ISID) and,
    // for port 2, the initiator name alone (an iSCSI format-0 TransportID).
    expect(v.fullStatus.registrations).toEqual([
      expect.objectContaining({ key: 0xa77n, allTargetPorts: true, reservationHolder: false, transportId: tidOf(1) }),
      expect.objectContaining({ key: 0xa77n, allTargetPorts: true, reservationHolder: false, transportId: { protocol: 'iscsi', name: iqn(1) } }),
    ]);
    // The port-2 nexus acts as a registrant: it reserves, writes, and node 2 cannot write.
    await n1p1.reserve({ key: 0xa77n, type: 'write-exclusive' });
    const w = await expectSgPersistAgrees(obs, obsSg);
    expect(w.reservation.reservation).toMatchObject({ key: 0xa77n, type: 1 });
    expect(w.fullStatus.registrations.filter((x) => x.reservationHolder)).toHaveLength(1);
    expect(await outcome(n1p1.writeBlocks(1, block))).toBe('ok');
    expect(await outcome(n2.writeBlocks(1, block))).toBe('conflict');
    await n1p1.release({ key: 0xa77n, type: 'write-exclusive' });
    // Unregistering (with ALL_TG_PT, as LIO requires) removes the registrations of every port.
    await n1.register({ key: 0xa77n, newKey: 0, allTargetPorts: true });
    const x = await expectSgPersistAgrees(obs, obsSg);
    expect(x.fullStatus.registrations).toEqual([]);
    expect(x.reservation.reservation).toBeNull();
  });

  it('APTPL: REGISTER with aptpl activates persist-through-power-loss (PTPL_A); CLEAR deactivates it', async () => {
    await n1.register({ newKey: 0xa9n, aptpl: true });
    const on = await n1.reportCapabilities();
    expect(on.persistThroughPowerLossActivated).toBe(true);
    expect(fromScsiPr.capabilities(on)).toEqual(await sgReportCapabilities(obsSg));
    await n1.clear({ key: 0xa9n });
    const off = await n1.reportCapabilities();
    expect(off.persistThroughPowerLossActivated).toBe(false);
    expect(fromScsiPr.capabilities(off)).toEqual(await sgReportCapabilities(obsSg));
  });

  it('REGISTER AND MOVE: node 1 moves its reservation to node 2’s I_T nexus (TransportID and relative target port from node 2’s full-status entry)', async () => {
    await n1.register({ newKey: 0x31n });
    await n2.register({ newKey: 0x32n });
    await n1.reserve({ key: 0x31n, type: 'write-exclusive' });
    const fs = await obs.readFullStatus();
    const e2 = entryOf(fs, 2);
    expect(e2.relativeTargetPortId).toBe(1);
    const before = fs.generation;
    const r = await n1.registerAndMove({ key: 0x31n, newKey: 0x33n, transportId: e2.transportId, relativeTargetPortId: e2.relativeTargetPortId });
    expect(r.action).toBe('register-and-move');
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.reservation.reservation).toMatchObject({ key: 0x33n, type: 1 });
    expect(v.keys.generation).toBe(before + 1);
    expect(entryOf(v.fullStatus, 2)).toMatchObject({ key: 0x33n, reservationHolder: true, type: 1, relativeTargetPortId: 1, transportId: tidOf(2) });
    expect(entryOf(v.fullStatus, 1)).toMatchObject({ key: 0x31n, reservationHolder: false });
    expect(await outcome(n2.writeBlocks(2, block))).toBe('ok');
    expect(await outcome(n1.writeBlocks(2, block))).toBe('conflict');
  });

  it('REGISTER AND MOVE with unregister: the reservation moves back to node 1 and node 2’s registration disappears', async () => {
    const e1 = entryOf(await obs.readFullStatus(), 1);
    await n2.registerAndMove({ key: 0x33n, newKey: 0x34n, transportId: e1.transportId, relativeTargetPortId: e1.relativeTargetPortId, unregister: true, type: 'write-exclusive' });
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.keys.keys).toEqual([0x34n]);
    expect(v.fullStatus.registrations).toEqual([expect.objectContaining({ key: 0x34n, reservationHolder: true, type: 1, transportId: tidOf(1) })]);
    expect(await outcome(n1.writeBlocks(3, block))).toBe('ok');
    expect(await outcome(n2.writeBlocks(3, block))).toBe('conflict');
  });

  it('REGISTER AND MOVE to relative target port 2: node 2’s path through port 2 becomes the holder, its path through port 1 does not', async () => {
    await n1.registerAndMove({ key: 0x34n, newKey: 0x35n, transportId: tidOf(2, 1), relativeTargetPortId: 2 });
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.reservation.reservation).toMatchObject({ key: 0x35n, type: 1 });
    expect(entryOf(v.fullStatus, 2)).toMatchObject({ key: 0x35n, reservationHolder: true, relativeTargetPortId: 2, transportId: tidOf(2, 1) });
    expect(await outcome(n2p1.writeBlocks(4, block))).toBe('ok');
    expect(await outcome(n2.writeBlocks(4, block))).toBe('conflict');
    await n2p1.clear({ key: 0x35n });
    expect((await obs.readKeys()).keys).toEqual([]);
  });
});
