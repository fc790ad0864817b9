/**
 * Every PERSISTENT RESERVE IN / OUT service action through scsi-pr on the real
 * kernel and the lab's target (LIO, or tgt 1.0.85 with `--target tgt`),
 * cross-checked after each step with sg_persist on the same LUN. Where the two
 * targets answer differently the expectation is a table `{ lio: …, tgt: … }`
 * (perTarget) with what SPC asks for; test/lab/target-differences.test.ts lists
 * the differences. What tgt refuses (READ FULL STATUS, PREEMPT AND ABORT,
 * SPEC_I_PT, ALL_TG_PT, APTPL, REGISTER AND MOVE with an SPC TransportID) is
 * asserted as a refusal: a typed error, nothing changed, sg_persist agreeing.
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
import { dev, expectRefusedChangingNothing, labTools, perTarget, run, SG_EXIT, type LabMap, wipeReservations } from './lab-env';
import { expectSgPersistAgrees, expectSgPersistAgreesOrFullStatusRefused, fromScsiPr, sgPersist, parseSgPersistKeys, sgReportCapabilities } from './sg-persist-reference';

const LUN_ACTIONS = 1;
const LUN_UA = 2;
const LUN_PORTS = 3;
const WIPE_KEY = 0x5ca1ab1en;
/** sg_persist's exit status for ILLEGAL REQUEST. */
const SG_EXIT_ILLEGAL_REQUEST = 5;

/**
 * READ FULL STATUS: SPC-4 makes it mandatory for a device server with PERSISTENT RESERVE IN;
 * LIO answers it, tgt 1.0.85 refuses it (ILLEGAL REQUEST, INVALID FIELD IN CDB). scsi-pr
 * throws ScsiSenseError ERR_ILLEGAL_REQUEST (status() falls back to READ KEYS + READ
 * RESERVATION). agree() checks that refusal through scsi-pr and sg_persist -s on tgt and
 * returns `fullStatus: null` there; the full-status checks below are then LIO's.
 */
const FULL_STATUS = perTarget({ lio: 'answered', tgt: 'refused' } as const);
const agree = (d: pr.Device, sg: string) => expectSgPersistAgreesOrFullStatusRefused(d, sg, FULL_STATUS);

/**
 * PREEMPT AND ABORT: SPC-4 makes it mandatory with PREEMPT; LIO does it; tgt 1.0.85 refuses
 * it (ILLEGAL REQUEST, INVALID FIELD IN CDB) and changes nothing. On tgt, `fence` checks
 * that refusal (scsi-pr's ScsiSenseError, sg_persist sees nothing changed) and then preempts
 * with PREEMPT, what scsi-pr's fence() falls back to, so the test goes on from the same state.
 */
const PREEMPT_AND_ABORT = perTarget({ lio: 'done', tgt: 'refused' } as const);
async function fence(call: (method: 'preemptAndAbort' | 'preempt') => Promise<pr.PrOutResult>, observerSg: string): Promise<pr.PrOutResult> {
  if (PREEMPT_AND_ABORT === 'done') return call('preemptAndAbort');
  await expectRefusedChangingNothing(() => call('preemptAndAbort'), observerSg);
  return call('preempt');
}

/**
 * What a refused call ended with: 'RESERVATION CONFLICT' or the error code with sense
 * key/ASC/ASCQ ('ERR_ILLEGAL_REQUEST 05/24/00'); 'ok' when it was not refused.
 */
async function refusal(p: Promise<unknown>): Promise<string> {
  const hex2 = (n: number) => n.toString(16).padStart(2, '0');
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof pr.ReservationConflictError) return 'RESERVATION CONFLICT';
    if (e instanceof pr.ScsiSenseError) return `${e.code} ${hex2(e.sense.senseKey)}/${hex2(e.sense.asc)}/${hex2(e.sense.ascq)}`;
    throw e;
  }
}

/**
 * REGISTER AND MOVE with an iSCSI TransportID as SPC-4 defines it (format 1,
 * "name,i,0x<ISID>"): LIO moves the reservation; tgt 1.0.85 compares it with its own
 * malformed TransportID (target-differences.test.ts) and refuses it, ILLEGAL REQUEST,
 * INVALID FIELD IN CDB, changing nothing. scsi-pr will not encode tgt's layout.
 */
const MOVE = perTarget({ lio: 'moved', tgt: 'refused' } as const);

/** `sg_persist -n --out <args> <sg>`'s exit status (UNIT ATTENTION retried). */
async function sgPersistOutStatus(sg: string, args: string[]): Promise<number> {
  return (await sgPersist(sg, ['--out', ...args])).status;
}

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

  it('REPORT CAPABILITIES: all six types, not RLR_C; LIO has SIP_C, ATP_C, PTPL_C and CRH, tgt none of them — as sg_persist -c reports', async () => {
    const caps = await n1.reportCapabilities();
    // SPC-4 leaves SIP_C, ATP_C, PTPL_C, CRH and ALLOW COMMANDS to the device server; scsi-pr
    // decodes what it says (and tgt really refuses SPEC_I_PT, ALL_TG_PT and APTPL: LUN 3 below).
    expect(caps).toMatchObject(
      perTarget({
        lio: {
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
        },
        tgt: {
          length: 8,
          replaceLostReservationCapable: false,
          compatibleReservationHandling: false,
          specifyInitiatorPortsCapable: false,
          allTargetPortsCapable: false,
          persistThroughPowerLossCapable: false,
          typeMaskValid: true,
          allowCommands: 0,
          persistThroughPowerLossActivated: false,
          typesSupported: [1, 3, 5, 6, 7, 8],
        },
      }),
    );
    expect(fromScsiPr.capabilities(caps)).toEqual(await sgReportCapabilities(dev(map, 1, LUN_ACTIONS).sg));
  });

  it('READ KEYS, READ RESERVATION and READ FULL STATUS of an unused LUN: nothing registered, nothing reserved', async () => {
    const v = await agree(obs, obsSg);
    expect(v.keys.keys).toEqual([]);
    expect(v.reservation.reservation).toBeNull();
    if (v.fullStatus) expect(v.fullStatus.registrations).toEqual([]);
  });

  it('REGISTER: nodes 1 and 2 register their I_T nexuses; full status names them by TransportID with the session ISID at relative target port 1', async () => {
    const before = (await obs.readKeys()).generation;
    const r1 = await n1.register({ newKey: K1 });
    expect(r1.action).toBe('register');
    await n2.register({ newKey: K2 });
    const v = await agree(obs, obsSg);
    expect(v.keys.keys).toEqual([K1, K2]);
    expect(v.keys.generation).toBe(before + 2);
    if (v.fullStatus) {
      expect(v.fullStatus.registrations).toEqual([
        expect.objectContaining({ key: K1, allTargetPorts: false, reservationHolder: false, relativeTargetPortId: 1, transportId: pr.parseTransportId(map.nodes[0].luns[LUN_ACTIONS].transportId) }),
        expect.objectContaining({ key: K2, allTargetPorts: false, reservationHolder: false, relativeTargetPortId: 1, transportId: pr.parseTransportId(map.nodes[1].luns[LUN_ACTIONS].transportId) }),
      ]);
      expect(entryOf(v.fullStatus, 1).transportId).toEqual({ protocol: 'iscsi', name: iqn(1), isid: dev(map, 1, LUN_ACTIONS).isid });
    }
  });

  it('REGISTER with a reservation key that is not the registered one is a RESERVATION CONFLICT, and changes nothing', async () => {
    const before = await obs.readKeys();
    const e = await n1.register({ key: 0xbadn, newKey: 0x5n }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(pr.ReservationConflictError);
    expect((e as pr.ReservationConflictError).code).toBe('ERR_RESERVATION_CONFLICT');
    // An unregistered nexus naming a non-zero current key conflicts too.
    await expect(n3.register({ key: K3, newKey: K3 })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    const after = await agree(obs, obsSg);
    expect(after.keys).toMatchObject({ generation: before.generation, keys: before.keys });
  });

  it('REGISTER with the current key replaces it', async () => {
    const before = (await obs.readKeys()).generation;
    await n1.register({ key: K1, newKey: K1b });
    const v = await agree(obs, obsSg);
    expect(v.keys.keys).toEqual([K1b, K2]);
    expect(v.keys.generation).toBe(before + 1);
  });

  it('REGISTER AND IGNORE EXISTING KEY sets a new key whatever the nexus had (or registers a new nexus)', async () => {
    const before = (await obs.readKeys()).generation;
    const r = await n2.registerAndIgnoreExistingKey({ newKey: K2b });
    expect(r.action).toBe('register-and-ignore-existing-key');
    await n3.registerAndIgnoreExistingKey({ newKey: K3 });
    const v = await agree(obs, obsSg);
    expect(v.keys.keys).toEqual([K1b, K2b, K3]);
    expect(v.keys.generation).toBe(before + 2);
    if (v.fullStatus) expect(entryOf(v.fullStatus, 3).transportId).toEqual(pr.parseTransportId(map.nodes[2].luns[LUN_ACTIONS].transportId));
  });

  it('RESERVE: node 1 holds Write Exclusive; the generation does not change; READ RESERVATION and full status show the holder', async () => {
    const before = (await obs.readKeys()).generation;
    const r = await n1.reserve({ key: K1b, type: 'write-exclusive' });
    expect(r.action).toBe('reserve');
    const v = await agree(obs, obsSg);
    expect(v.reservation.reservation).toEqual({ key: K1b, scope: 0, type: 1, typeName: 'write-exclusive' });
    expect(v.reservation.generation).toBe(before);
    if (v.fullStatus) {
      expect(entryOf(v.fullStatus, 1)).toMatchObject({ reservationHolder: true, scope: 0, type: 1, typeName: 'write-exclusive' });
      expect(v.fullStatus.registrations.filter((x) => x.reservationHolder)).toHaveLength(1);
    }
    // Write Exclusive in action: the holder writes, a registrant cannot.
    expect(await outcome(n1.writeBlocks(1, block))).toBe('ok');
    expect(await outcome(n2.writeBlocks(1, block))).toBe('conflict');
  });

  it('RESERVE again by the holder with the same type is a no-op; another type, or another registrant, is a RESERVATION CONFLICT', async () => {
    await n1.reserve({ key: K1b, type: 1 });
    await expect(n1.reserve({ key: K1b, type: 3 })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    await expect(n2.reserve({ key: K2b, type: 1 })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    const v = await agree(obs, obsSg);
    expect(v.reservation.reservation).toMatchObject({ key: K1b, type: 1 });
  });

  it('RELEASE by a registrant that does not hold the reservation completes with GOOD and releases nothing', async () => {
    const r = await n2.release({ key: K2b, type: 1 });
    expect(r.action).toBe('release');
    const v = await agree(obs, obsSg);
    expect(v.reservation.reservation).toMatchObject({ key: K1b, type: 1 });
  });

  it('RELEASE by the holder with the wrong type: LIO answers RESERVATION CONFLICT, tgt ILLEGAL REQUEST, INVALID RELEASE OF PERSISTENT RESERVATION (as SPC-4 says)', async () => {
    // SPC-4 5.14.11.2.2: TYPE differing from the reservation's -> ILLEGAL REQUEST, INVALID RELEASE OF
    // PERSISTENT RESERVATION (26h/04). scsi-pr reports either answer as a typed error.
    expect(await refusal(n1.release({ key: K1b, type: 'exclusive-access' }))).toBe(perTarget({ lio: 'RESERVATION CONFLICT', tgt: 'ERR_ILLEGAL_REQUEST 05/26/04' }));
    const v = await agree(obs, obsSg);
    expect(v.reservation.reservation).toMatchObject({ key: K1b, type: 1 });
  });

  it('RELEASE by the holder removes the reservation and keeps every registration; the generation does not change', async () => {
    const before = await obs.readKeys();
    await n1.release({ key: K1b, type: 'write-exclusive' });
    const v = await agree(obs, obsSg);
    expect(v.reservation.reservation).toBeNull();
    expect(v.keys).toMatchObject({ generation: before.generation, keys: before.keys });
    if (v.fullStatus) expect(v.fullStatus.registrations.some((x) => x.reservationHolder)).toBe(false);
  });

  it('PREEMPT: node 2 removes node 1’s registration and takes over its reservation with a new type', async () => {
    await n1.reserve({ key: K1b, type: 'write-exclusive-registrants-only' });
    const before = (await obs.readKeys()).generation;
    const r = await n2.preempt({ key: K2b, preemptKey: K1b, type: 'we-ro' });
    expect(r.action).toBe('preempt');
    const v = await agree(obs, obsSg);
    expect(v.keys.keys).toEqual([K2b, K3]);
    expect(v.keys.generation).toBe(before + 1);
    expect(v.reservation.reservation).toMatchObject({ key: K2b, type: 5 });
    if (v.fullStatus) expect(entryOf(v.fullStatus, 2)).toMatchObject({ reservationHolder: true, type: 5 });
    // Node 1 is no longer registered: its old key is refused, its writes conflict (WE-RO).
    await expect(n1.register({ key: K1b, newKey: K1b })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    expect(await outcome(n1.writeBlocks(2, block))).toBe('conflict');
    expect(await outcome(n3.writeBlocks(2, block))).toBe('ok');
  });

  it('PREEMPT AND ABORT: node 1 registers again and fences node 2 with Exclusive Access (tgt refuses it: then PREEMPT)', async () => {
    await n1.register({ newKey: K1c });
    const before = (await obs.readKeys()).generation;
    const r = await fence((m) => n1[m]({ key: K1c, preemptKey: K2b, type: 'exclusive-access' }), obsSg);
    expect(r.action).toBe(perTarget({ lio: 'preempt-and-abort', tgt: 'preempt' }));
    const v = await agree(obs, obsSg);
    expect([...v.keys.keys].sort(byValue)).toEqual([K3, K1c].sort(byValue));
    expect(v.keys.generation).toBe(before + 1);
    expect(v.reservation.reservation).toMatchObject({ key: K1c, type: 3 });
    expect(await outcome(n2.writeBlocks(3, block))).toBe('conflict');
    expect(await outcome(n2.readBlocks(3))).toBe('conflict');
    expect(await outcome(n1.writeBlocks(3, block))).toBe('ok');
  });

  it('REGISTER with newKey 0 unregisters node 3', async () => {
    await n3.register({ key: K3, newKey: 0 });
    const v = await agree(obs, obsSg);
    expect(v.keys.keys).toEqual([K1c]);
    if (v.fullStatus) expect(v.fullStatus.registrations.map((x) => x.transportId)).toEqual([pr.parseTransportId(map.nodes[0].luns[LUN_ACTIONS].transportId)]);
  });

  it('REPLACE LOST RESERVATION: neither target implements it (RLR_C 0): ILLEGAL REQUEST, INVALID FIELD IN CDB (a ScsiSenseError)', async () => {
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
    // service action fails LIO's reservation check first: RESERVATION CONFLICT. tgt answers
    // the unsupported service action as such (SPC: ILLEGAL REQUEST, INVALID FIELD IN CDB).
    expect(await refusal(n2.replaceLostReservation({ newKey: 0x77n, type: 1 }))).toBe(perTarget({ lio: 'RESERVATION CONFLICT', tgt: 'ERR_ILLEGAL_REQUEST 05/24/00' }));
    const v = await agree(obs, obsSg);
    expect(v.keys).toMatchObject({ generation: before.generation, keys: before.keys });
    expect(v.reservation.reservation).toMatchObject({ key: K1c, type: 3 });
  });

  it('CLEAR removes the reservation and every registration', async () => {
    await n2.register({ newKey: K2 });
    const before = (await obs.readKeys()).generation;
    const r = await n1.clear({ key: K1c });
    expect(r.action).toBe('clear');
    const v = await agree(obs, obsSg);
    expect(v.keys.keys).toEqual([]);
    expect(v.keys.generation).toBe(before + 1);
    expect(v.reservation.reservation).toBeNull();
    if (v.fullStatus) expect(v.fullStatus.registrations).toEqual([]);
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
    const move = () => pr.registerAndMove(p2, { key: 0x20n, newKey: 0x11n, transportId: pr.parseTransportId(map.nodes[0].luns[LUN_ACTIONS].transportId), relativeTargetPortId: 1 });
    if (MOVE === 'moved') await move();
    else {
      await expectRefusedChangingNothing(move, obsSg);
      // The same state another way: node 1 registers, node 2 releases, node 1 reserves.
      await pr.register(p1, { newKey: 0x11n });
      await pr.release(p2, { key: 0x20n, type: 1 });
      await pr.reserve(p1, { key: 0x11n, type: 1 });
    }
    expect((await pr.readReservation(obsSg)).reservation).toMatchObject({ key: 0x11n, type: 1 });
    if (FULL_STATUS === 'answered') expect(entryOf(await pr.readFullStatus(obsSg), 1)).toMatchObject({ key: 0x11n, reservationHolder: true, type: 1 });
    else await expectRefusedChangingNothing(() => pr.readFullStatus(obsSg), obsSg);

    await fence((m) => pr[m](p1, { key: 0x11n, preemptKey: 0x20n, type: 'exclusive-access' }), obsSg);
    expect((await pr.readKeys(obsSg)).keys).toEqual([0x11n]);
    await expect(pr.replaceLostReservation(p1, { newKey: 0x12n, type: 1 })).rejects.toMatchObject({ code: 'ERR_ILLEGAL_REQUEST', sense: { senseKey: 5 } });

    // An open Device is used as is and left open.
    const viaDevice = await pr.readKeys(n1);
    expect(viaDevice.keys).toEqual([0x11n]);
    expect(n1.isClosed).toBe(false);
    // open options travel with a path.
    const strict = pr.readFullStatus(p1, { open: { retries: { unitAttention: 2 } }, timeoutMs: 5000 }).then((fs) => expect(fs.registrations).toHaveLength(1));
    expect(await refusal(strict)).toBe(perTarget({ lio: 'ok', tgt: 'ERR_ILLEGAL_REQUEST 05/24/00' }));

    await pr.clear(p1, { key: 0x11n });
    await agree(obs, obsSg).then((v) => expect(v.keys.keys).toEqual([]));
  });
});

describe('UNIT ATTENTION after preemption (LUN 2)', () => {
  let map: LabMap;
  let n1: pr.Device, n2: pr.Device, obs: pr.Device;
  let n1Sg: string, obsSg: string;
  let block: Buffer;
  const isUa = (asc: number, ascq: number) => expect.objectContaining({ senseKey: 6, senseKeyName: 'UNIT ATTENTION', asc, ascq });
  /**
   * The UNIT ATTENTION of a preempted I_T nexus. SPC-4 (PREEMPT, 5.14.11.4.3): the nexus whose
   * registration was removed gets REGISTRATIONS PREEMPTED (2Ah/05); LIO sends that, tgt 1.0.85
   * RESERVATIONS PREEMPTED (2Ah/03). scsi-pr reports and names whichever came.
   */
  const PREEMPTED = perTarget({
    lio: { ascq: 0x05, name: 'REGISTRATIONS PREEMPTED', sgPersistText: /Registrations preempted/i },
    tgt: { ascq: 0x03, name: 'RESERVATIONS PREEMPTED', sgPersistText: /Reservations preempted/i },
  });

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

  it('node 2 preempts node 1: node 1’s next scsi-pr call succeeds and reports the UNIT ATTENTION (2Ah/05 REGISTRATIONS PREEMPTED; tgt 2Ah/03) in unitAttentions; its writes then conflict as SPC says', async () => {
    await n1.register({ newKey: 0x1n });
    await n2.register({ newKey: 0x2n });
    await n1.reserve({ key: 0x1n, type: 'write-exclusive-registrants-only' });
    expect(await outcome(n1.writeBlocks(0, block))).toBe('ok');
    await n2.preempt({ key: 0x2n, preemptKey: 0x1n, type: 'write-exclusive-registrants-only' });
    // (Reading through another nexus does not touch node 1's UNIT ATTENTION.)
    const v = await agree(obs, obsSg);
    expect(v.reservation.reservation).toMatchObject({ key: 0x2n, type: 5 });

    const keys = await n1.readKeys();
    expect(keys.keys).toEqual([0x2n]);
    expect(keys.unitAttentions).toContainEqual(isUa(0x2a, PREEMPTED.ascq));
    expect(keys.unitAttentions.find((u) => u.asc === 0x2a)?.ascName).toBe(PREEMPTED.name);
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
    expect(first.stdout + first.stderr).toMatch(PREEMPTED.sgPersistText);
    const second = await sgPersist(n1Sg, ['-k'], 0);
    expect(second.status).toBe(0);
    expect(parseSgPersistKeys(second.stdout).keys).toEqual([0x2n]);
  });

  it('open(path, {retries: {unitAttention: 0}}) surfaces the UA of PREEMPT AND ABORT (tgt: of PREEMPT) as ScsiSenseError ERR_UNIT_ATTENTION (2Ah/05; tgt 2Ah/03) once; the next call runs', async () => {
    await n1.register({ newKey: 0x12n });
    await fence((m) => n2[m]({ key: 0x2n, preemptKey: 0x12n, type: 'write-exclusive-registrants-only' }), obsSg);

    const strict = await pr.open(n1Sg, { retries: { unitAttention: 0 } });
    try {
      const e = await strict.readKeys().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(pr.ScsiSenseError);
      const err = e as pr.ScsiSenseError;
      expect(err.code).toBe('ERR_UNIT_ATTENTION');
      expect(err.sense).toMatchObject({ senseKey: 6, asc: 0x2a, ascq: PREEMPTED.ascq, ascName: PREEMPTED.name });
      expect(err.cdb?.[0]).toBe(0x5e);
      const next = await strict.readKeys();
      expect(next.unitAttentions).toEqual([]);
      expect(next.keys).toEqual([0x2n]);
    } finally {
      await strict.close();
    }
  });

  it('RELEASE of a registrants-only reservation gives the other registrants 2Ah/04 RESERVATIONS RELEASED (not on tgt); CLEAR gives 2Ah/03 RESERVATIONS PREEMPTED', async () => {
    await n1.register({ newKey: 0x13n });
    await n2.release({ key: 0x2n, type: 'write-exclusive-registrants-only' });
    const released = await n1.readReservation();
    expect(released.reservation).toBeNull();
    // SPC-4 5.14.11.2.2: releasing a registrants-only reservation gives every other registered
    // I_T nexus 2Ah/04. LIO does; tgt 1.0.85 sends none for types 5-8 (target-differences.test.ts).
    expect(released.unitAttentions.some((u) => u.senseKey === 6 && u.asc === 0x2a && u.ascq === 0x04)).toBe(perTarget({ lio: true, tgt: false }));

    await n2.clear({ key: 0x2n });
    const cleared = await n1.readKeys();
    expect(cleared.keys).toEqual([]);
    expect(cleared.unitAttentions).toContainEqual(isUa(0x2a, 0x03));
    await agree(obs, obsSg).then((v) => expect(v.keys.keys).toEqual([]));
  });

  it('REGISTER AND MOVE without `type` must report the UNIT ATTENTION absorbed by the READ RESERVATION it sends first (here the one of a LUN reset from node 2), whether the move is done (LIO) or refused (tgt)', async () => {
    const tid1 = pr.parseTransportId(map.nodes[0].luns[LUN_UA].transportId);
    const tid2 = pr.parseTransportId(map.nodes[1].luns[LUN_UA].transportId);
    const n2Sg = dev(map, 2, LUN_UA).sg;
    /** How the call ended and the UNIT ATTENTIONs it reports (a ScsiPrError carries them too). */
    const report = async (p: Promise<pr.PrOutResult>): Promise<{ outcome: string; unitAttentions: pr.DecodedSense[] }> => {
      try {
        return { outcome: 'ok', unitAttentions: (await p).unitAttentions };
      } catch (e) {
        if (!(e instanceof pr.ScsiPrError)) throw e;
        return { outcome: await refusal(Promise.reject(e)), unitAttentions: e.unitAttentions };
      }
    };
    const moveOutcome = perTarget({ lio: 'ok', tgt: 'ERR_ILLEGAL_REQUEST 05/24/00' }); // see MOVE
    // The UNIT ATTENTION after a LOGICAL UNIT RESET: SAM asks for 29h/03 BUS DEVICE RESET FUNCTION
    // OCCURRED, which LIO sends; tgt 1.0.85 sends the generic 29h/00 POWER ON, RESET, OR BUS
    // DEVICE RESET OCCURRED. scsi-pr retries and reports either.
    const resetUa = isUa(0x29, perTarget({ lio: 0x03, tgt: 0x00 }));
    await n1.register({ newKey: 0x21n });
    await n2.register({ newKey: 0x22n });
    await n1.reserve({ key: 0x21n, type: 'write-exclusive' });
    await n1.testUnitReady();
    await n2.testUnitReady();

    // Control: with `type` given, the UA the PR OUT absorbed is in the result (or the error).
    expect((await run('sg_reset', ['-d', n2Sg])).status).toBe(0); // LOGICAL UNIT RESET: a UA for every nexus
    const withType = await report(n1.registerAndMove({ key: 0x21n, newKey: 0x23n, transportId: tid2, relativeTargetPortId: 1, type: 'write-exclusive' }));
    expect(withType.outcome).toBe(moveOutcome);
    expect(withType.unitAttentions).toContainEqual(resetUa);
    if (MOVE === 'moved') await n2.registerAndMove({ key: 0x23n, newKey: 0x24n, transportId: tid1, relativeTargetPortId: 1, type: 'write-exclusive' });
    await n1.testUnitReady();
    await n2.testUnitReady();

    expect((await run('sg_reset', ['-d', n2Sg])).status).toBe(0);
    const key = perTarget({ lio: 0x24n, tgt: 0x21n }); // tgt: nothing moved, node 1 still holds 0x21
    const withoutType = await report(n1.registerAndMove({ key, newKey: 0x25n, transportId: tid2, relativeTargetPortId: 1 }));
    expect(withoutType.outcome).toBe(moveOutcome);
    expect((await obs.readReservation()).reservation).toMatchObject(perTarget({ lio: { key: 0x25n, type: 1 }, tgt: { key: 0x21n, type: 1 } }));
    // The UA was consumed during that call (nothing is pending any more)…
    expect((await n1.testUnitReady()).unitAttentions).toEqual([]);
    // …so the call must report it, like every other call does.
    expect(withoutType.unitAttentions, 'registerAndMove() without type dropped the UNIT ATTENTION of its READ RESERVATION').toContainEqual(resetUa);
  });
});

/**
 * SPEC_I_PT, ALL_TG_PT and APTPL are optional in SPC-4: REPORT CAPABILITIES' SIP_C, ATP_C
 * and PTPL_C say whether the device server takes them, and one it does not take is answered
 * ILLEGAL REQUEST (for APTPL SPC-4 names INVALID FIELD IN PARAMETER LIST 26h/00). LIO takes
 * all three; tgt 1.0.85 (SIP_C, ATP_C, PTPL_C 0) refuses each with INVALID FIELD IN CDB
 * (24h/00) and changes nothing. scsi-pr sends them as asked and throws the typed
 * ScsiSenseError ERR_ILLEGAL_REQUEST.
 */
const PORT_OPTIONS = perTarget({ lio: 'taken', tgt: 'refused' } as const);

// On LUN 3 the LIO paths check full status with expectSgPersistAgrees; tgt's paths end early
// (PORT_OPTIONS / MOVE 'refused') and check with agree().
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
    if (PORT_OPTIONS === 'refused') {
      await expectRefusedChangingNothing(() => n1.register({ newKey: 0x5e1n, transportIds: [t2, t3] }), obsSg);
      // sg_persist's REGISTER with a TransportID (SPEC_I_PT): the same refusal.
      expect(await sgPersistOutStatus(dev(map, 1, LUN_PORTS).sg, ['--register', '--param-sark=0x5e1', `--transport-id=${iqn(2)}`])).toBe(SG_EXIT_ILLEGAL_REQUEST);
      // The named nexuses are not registrants: the key they were to get conflicts.
      await expect(n2.register({ key: 0x5e1n, newKey: 0x5e2n })).rejects.toBeInstanceOf(pr.ReservationConflictError);
      await expect(n3.reserve({ key: 0x5e1n, type: 'write-exclusive' })).rejects.toBeInstanceOf(pr.ReservationConflictError);
      expect((await agree(obs, obsSg)).keys.keys).toEqual([]);
      return;
    }
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
    if (PORT_OPTIONS === 'refused') {
      await expectRefusedChangingNothing(() => n1p1.register({ newKey: 0x5e3n, transportIds: [t2p1] }), obsSg);
      await expect(n2p1.register({ key: 0x5e3n, newKey: 0x5e3n })).rejects.toBeInstanceOf(pr.ReservationConflictError);
      await expect(n1p1.register({ key: 0x5e3n, newKey: 0x5e3n })).rejects.toBeInstanceOf(pr.ReservationConflictError);
      expect((await agree(obs, obsSg)).keys.keys).toEqual([]);
      return;
    }
    await n1p1.register({ newKey: 0x5e3n, transportIds: [t2p1] });
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(entryOf(v.fullStatus, 1)).toMatchObject({ key: 0x5e3n, relativeTargetPortId: 2, transportId: tidOf(1, 1) });
    expect(entryOf(v.fullStatus, 2)).toMatchObject({ key: 0x5e3n, relativeTargetPortId: 1, transportId: t2p1 });
    await expect(n2p1.register({ key: 0x5e3n, newKey: 0x5e3n })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    await n1p1.clear({ key: 0x5e3n });
    expect((await obs.readKeys()).keys).toEqual([]);
  });

  it('ALL_TG_PT: node 1 registers through every target port; full status sets ALL_TG_PT, and node 1’s path through target port 2 is registered too (tgt refuses ALL_TG_PT)', async () => {
    if (PORT_OPTIONS === 'refused') {
      await expectRefusedChangingNothing(() => n1.register({ newKey: 0xa77n, allTargetPorts: true }), obsSg);
      expect(await sgPersistOutStatus(dev(map, 1, LUN_PORTS).sg, ['--register', '--param-sark=0xa77', '--param-alltgpt'])).toBe(SG_EXIT_ILLEGAL_REQUEST);
      // Neither of node 1's paths is registered.
      await expect(n1p1.reserve({ key: 0xa77n, type: 'write-exclusive' })).rejects.toBeInstanceOf(pr.ReservationConflictError);
      await expect(n1.register({ key: 0xa77n, newKey: 0xa77n })).rejects.toBeInstanceOf(pr.ReservationConflictError);
      expect((await agree(obs, obsSg)).keys.keys).toEqual([]);
      return;
    }
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

  it('APTPL: REGISTER with aptpl activates persist-through-power-loss (PTPL_A); CLEAR deactivates it (tgt refuses APTPL)', async () => {
    if (PORT_OPTIONS === 'refused') {
      await expectRefusedChangingNothing(() => n1.register({ newKey: 0xa9n, aptpl: true }), obsSg);
      expect(await sgPersistOutStatus(dev(map, 1, LUN_PORTS).sg, ['--register', '--param-sark=0xa9', '--param-aptpl'])).toBe(SG_EXIT_ILLEGAL_REQUEST);
      const caps = await n1.reportCapabilities();
      expect(caps.persistThroughPowerLossActivated).toBe(false);
      expect(fromScsiPr.capabilities(caps)).toEqual(await sgReportCapabilities(obsSg));
      expect((await agree(obs, obsSg)).keys.keys).toEqual([]);
      return;
    }
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
    if (MOVE === 'refused') {
      // Without READ FULL STATUS, node 2's TransportID from the lab map; tgt has one target port.
      await expectRefusedChangingNothing(() => n1.registerAndMove({ key: 0x31n, newKey: 0x33n, transportId: tidOf(2), relativeTargetPortId: 1 }), obsSg);
      expect(await outcome(n1.writeBlocks(2, block))).toBe('ok');
      expect(await outcome(n2.writeBlocks(2, block))).toBe('conflict');
      return;
    }
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
    if (MOVE === 'refused') {
      // tgt: node 1 still holds the reservation (0x31), node 2 is registered (0x32).
      await expectRefusedChangingNothing(() => n1.registerAndMove({ key: 0x31n, newKey: 0x34n, transportId: tidOf(2), relativeTargetPortId: 1, unregister: true, type: 'write-exclusive' }), obsSg);
      expect((await agree(obs, obsSg)).keys.keys).toEqual([0x31n, 0x32n]);
      return;
    }
    const e1 = entryOf(await obs.readFullStatus(), 1);
    await n2.registerAndMove({ key: 0x33n, newKey: 0x34n, transportId: e1.transportId, relativeTargetPortId: e1.relativeTargetPortId, unregister: true, type: 'write-exclusive' });
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.keys.keys).toEqual([0x34n]);
    expect(v.fullStatus.registrations).toEqual([expect.objectContaining({ key: 0x34n, reservationHolder: true, type: 1, transportId: tidOf(1) })]);
    expect(await outcome(n1.writeBlocks(3, block))).toBe('ok');
    expect(await outcome(n2.writeBlocks(3, block))).toBe('conflict');
  });

  it('REGISTER AND MOVE to relative target port 2: node 2’s path through port 2 becomes the holder, its path through port 1 does not', async () => {
    if (MOVE === 'refused') {
      await expectRefusedChangingNothing(() => n1.registerAndMove({ key: 0x31n, newKey: 0x35n, transportId: tidOf(2, 1), relativeTargetPortId: 2 }), obsSg);
      expect(await outcome(n2p1.writeBlocks(4, block))).toBe('conflict');
      await n1.clear({ key: 0x31n });
      expect((await obs.readKeys()).keys).toEqual([]);
      return;
    }
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
