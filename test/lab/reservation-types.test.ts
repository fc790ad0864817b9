/**
 * The six persistent reservation types on the real kernel and the lab's target
 * (LIO, or tgt 1.0.85 with `--target tgt`): who may READ and WRITE (real
 * READ(10)/WRITE(10) through Device.readBlocks/writeBlocks) from the holder,
 * another registrant and a non-registrant node, what READ RESERVATION / READ
 * FULL STATUS report (all-registrants types: key 0, every registrant a holder),
 * cross-checked with sg_persist. Then what the target does where it departs from
 * SPC. Where LIO and tgt differ the expectation is a table `{ lio: …, tgt: … }`
 * (perTarget) with what SPC asks for (test/lab/target-differences.test.ts lists them).
 *
 * LUN 4: the type matrix and the all-registrants / registrants-only lifecycles.
 * LUN 5: the target against SPC in corner cases (where it departs, and where it does not).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as pr from '../../lib';
import { dev, expectRefusedChangingNothing, labTarget, labTools, perTarget, type LabMap, wipeReservations } from './lab-env';
import { expectSgPersistAgreesOrFullStatusRefused } from './sg-persist-reference';

const LUN_TYPES = 4;
const LUN_LIO = 5;
const WIPE_KEY = 0x5ca1ab1e4n;

const TARGET = labTarget();

const wipe = (d: pr.Device): Promise<void> => wipeReservations(d, WIPE_KEY);

/**
 * READ FULL STATUS: SPC-4 makes it mandatory for a device server with PERSISTENT RESERVE IN;
 * LIO answers it, tgt 1.0.85 refuses it (ILLEGAL REQUEST, INVALID FIELD IN CDB). scsi-pr
 * throws ScsiSenseError ERR_ILLEGAL_REQUEST. agree() checks that refusal through scsi-pr and
 * sg_persist -s on tgt and returns `fullStatus: null` there; the full-status checks are LIO's.
 */
const FULL_STATUS = perTarget({ lio: 'answered', tgt: 'refused' } as const);
const agree = (d: pr.Device, sg: string) => expectSgPersistAgreesOrFullStatusRefused(d, sg, FULL_STATUS);

type Access = 'ok' | 'conflict';

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

async function outcome(p: Promise<unknown>): Promise<Access> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof pr.ReservationConflictError) return 'conflict';
    throw e;
  }
}

interface TypeCase {
  code: 1 | 3 | 5 | 6 | 7 | 8;
  name: pr.ReservationTypeName;
  allRegistrants: boolean;
  /** SPC-4 access for a registrant that does not hold the reservation (for all-registrants types it does). */
  registrant: { read: Access; write: Access };
  /** SPC-4 access for an I_T nexus that is not registered. */
  other: { read: Access; write: Access };
}

// SPC-4 "Persistent reservations type codes" / SBC-3 access tables: READ is a read
// command, WRITE a write command; the holder may always do both.
const TYPES: TypeCase[] = [
  { code: 1, name: 'write-exclusive', allRegistrants: false, registrant: { read: 'ok', write: 'conflict' }, other: { read: 'ok', write: 'conflict' } },
  { code: 3, name: 'exclusive-access', allRegistrants: false, registrant: { read: 'conflict', write: 'conflict' }, other: { read: 'conflict', write: 'conflict' } },
  { code: 5, name: 'write-exclusive-registrants-only', allRegistrants: false, registrant: { read: 'ok', write: 'ok' }, other: { read: 'ok', write: 'conflict' } },
  { code: 6, name: 'exclusive-access-registrants-only', allRegistrants: false, registrant: { read: 'ok', write: 'ok' }, other: { read: 'conflict', write: 'conflict' } },
  { code: 7, name: 'write-exclusive-all-registrants', allRegistrants: true, registrant: { read: 'ok', write: 'ok' }, other: { read: 'ok', write: 'conflict' } },
  { code: 8, name: 'exclusive-access-all-registrants', allRegistrants: true, registrant: { read: 'ok', write: 'ok' }, other: { read: 'conflict', write: 'conflict' } },
];

const KH = 0xc0ffee01n; // holder (node 1)
const KR = 0xc0ffee02n; // other registrant (node 2)

describe('the six reservation types (LUN 4): access from holder, registrant and non-registrant; what READ RESERVATION and READ FULL STATUS report', () => {
  let map: LabMap;
  let holder: pr.Device, registrant: pr.Device, other: pr.Device, obs: pr.Device;
  let obsSg: string;
  let blockSize: number;
  const pattern = (byte: number) => Buffer.alloc(blockSize, byte);

  beforeAll(async () => {
    map = labTools.map();
    holder = await pr.open(dev(map, 1, LUN_TYPES).sg);
    registrant = await pr.open(dev(map, 2, LUN_TYPES).sg);
    other = await pr.open(dev(map, 3, LUN_TYPES).sg);
    obsSg = dev(map, 3, LUN_TYPES, 1).sg;
    obs = await pr.open(obsSg);
    await wipe(holder);
    // READ CAPACITY before any reservation: readBlocks/writeBlocks then send only READ/WRITE
    // (LIO refuses READ CAPACITY to non-holders under Exclusive Access; see LUN 5).
    for (const d of [holder, registrant, other]) blockSize = (await d.readCapacity()).blockSize;
  });

  afterAll(async () => {
    if (holder) await wipe(holder);
    for (const d of [holder, registrant, other, obs]) await d?.close();
  });

  it.each(TYPES)('type $code $name: access, READ RESERVATION and READ FULL STATUS as SPC-4 specifies', async (t) => {
    await holder.register({ newKey: KH });
    await registrant.register({ newKey: KR });
    await holder.reserve({ key: KH, type: t.name });

    const v = await agree(obs, obsSg);
    // All-registrants types report reservation key 0; the others the holder's key.
    expect(v.reservation.reservation).toEqual({ key: t.allRegistrants ? 0n : KH, scope: 0, type: t.code, typeName: t.name });
    if (v.fullStatus) {
      const holders = v.fullStatus.registrations.filter((r) => r.reservationHolder);
      if (t.allRegistrants) {
        // Every registrant is a reservation holder, each with the type.
        expect(holders.map((r) => r.key)).toEqual([KH, KR]);
      } else {
        expect(holders.map((r) => r.key)).toEqual([KH]);
      }
      for (const h of holders) expect(h).toMatchObject({ scope: 0, type: t.code, typeName: t.name });
    }

    // Real I/O. Each actor writes its own pattern to one LBA (in turn) and reads it.
    const lba = 8 + t.code;
    await holder.writeBlocks(lba, pattern(0xa0 + t.code));
    const seen = {
      holder: { read: await outcome(holder.readBlocks(lba)), write: await outcome(holder.writeBlocks(lba, pattern(0xa0 + t.code))) },
      registrant: { read: await outcome(registrant.readBlocks(lba)), write: await outcome(registrant.writeBlocks(lba, pattern(0xb0 + t.code))) },
      other: { read: await outcome(other.readBlocks(lba)), write: await outcome(other.writeBlocks(lba, pattern(0xc0 + t.code))) },
    };
    expect(seen).toEqual({ holder: { read: 'ok', write: 'ok' }, registrant: t.registrant, other: t.other });
    // A conflicting WRITE really did not reach the medium: the last allowed writer's data is there.
    const last = t.registrant.write === 'ok' ? 0xb0 + t.code : 0xa0 + t.code;
    expect(await holder.readBlocks(lba)).toEqual(pattern(last));

    // RELEASE: by the holder, or for all-registrants types by any registrant (each is a holder).
    const releaser = t.allRegistrants ? registrant : holder;
    await releaser.release({ key: releaser === holder ? KH : KR, type: t.code });
    const w = await agree(obs, obsSg);
    expect(w.reservation.reservation).toBeNull();
    expect(w.keys.keys).toEqual([KH, KR]);
    expect(await outcome(other.writeBlocks(lba, pattern(0xd0)))).toBe('ok');

    await holder.clear({ key: KH });
    expect((await obs.readKeys()).keys).toEqual([]);
  });

  it('all registrants (type 7): the reservation outlives the registrant that created it and ends with the last registrant', async () => {
    await holder.register({ newKey: KH });
    await registrant.register({ newKey: KR });
    await holder.reserve({ key: KH, type: 'write-exclusive-all-registrants' });
    await holder.register({ key: KH, newKey: 0 });
    const v = await agree(obs, obsSg);
    expect(v.reservation.reservation).toMatchObject({ key: 0n, type: 7 });
    expect(v.keys.keys).toEqual([KR]);
    if (v.fullStatus) expect(v.fullStatus.registrations).toEqual([expect.objectContaining({ key: KR, reservationHolder: true, type: 7 })]);
    // The former creator is now a non-registrant: WE-AR forbids its writes.
    expect(await outcome(holder.writeBlocks(20, pattern(1)))).toBe('conflict');
    expect(await outcome(registrant.writeBlocks(20, pattern(2)))).toBe('ok');
    await registrant.register({ key: KR, newKey: 0 });
    const w = await agree(obs, obsSg);
    expect(w.reservation.reservation).toBeNull();
    expect(w.keys.keys).toEqual([]);
  });

  it('registrants only (type 6): unregistering the holder releases the reservation and the other registrant gets 2Ah/04 RESERVATIONS RELEASED (tgt: no UNIT ATTENTION)', async () => {
    await holder.register({ newKey: KH });
    await registrant.register({ newKey: KR });
    await holder.reserve({ key: KH, type: 'exclusive-access-registrants-only' });
    await registrant.testUnitReady(); // nothing pending before the unregistration
    await holder.register({ key: KH, newKey: 0 });
    const r = await registrant.readReservation();
    expect(r.reservation).toBeNull();
    // SPC-4 (REGISTER with SARK 0, the holder unregistering): when the holder of a registrants-only reservation
    // unregisters, the reservation is released and every other registered I_T nexus gets
    // 2Ah/04 RESERVATIONS RELEASED. LIO sends it; tgt 1.0.85 releases but sends none (as on a
    // RELEASE of types 5-8). scsi-pr reports what came.
    expect(r.unitAttentions).toEqual(perTarget({ lio: expect.arrayContaining([expect.objectContaining({ senseKey: 6, asc: 0x2a, ascq: 0x04 })]), tgt: [] }));
    const v = await agree(obs, obsSg);
    expect(v.keys.keys).toEqual([KR]);
    await registrant.clear({ key: KR });
  });

  it('all registrants (type 8): PREEMPT with service action key 0 removes every other registration and establishes the preempting nexus’s reservation', async () => {
    await holder.register({ newKey: KH });
    await registrant.register({ newKey: KR });
    await other.register({ newKey: 0xc0ffee03n });
    await holder.reserve({ key: KH, type: 'exclusive-access-all-registrants' });
    await registrant.preempt({ key: KR, preemptKey: 0, type: 'write-exclusive' });
    const v = await agree(obs, obsSg);
    expect(v.keys.keys).toEqual([KR]);
    expect(v.reservation.reservation).toMatchObject({ key: KR, type: 1 });
    expect(await outcome(holder.writeBlocks(21, pattern(3)))).toBe('conflict');
    expect(await outcome(holder.readBlocks(21))).toBe('ok');
    await registrant.clear({ key: KR });
    expect((await obs.readKeys()).keys).toEqual([]);
  });
});

describe(`${TARGET} against SPC corner cases (LUN 5)`, () => {
  let map: LabMap;
  let n1: pr.Device, n2: pr.Device, n3: pr.Device;

  beforeAll(async () => {
    map = labTools.map();
    n1 = await pr.open(dev(map, 1, LUN_LIO).sg);
    n2 = await pr.open(dev(map, 2, LUN_LIO).sg);
    n3 = await pr.open(dev(map, 3, LUN_LIO).sg);
    await wipe(n1);
  });

  afterAll(async () => {
    if (n1) await wipe(n1);
    for (const d of [n1, n2, n3]) await d?.close();
  });

  it('RESERVE, RELEASE, CLEAR and REGISTER AND MOVE from an unregistered I_T nexus: LIO answers NOT READY, LOGICAL UNIT COMMUNICATION FAILURE; tgt RESERVATION CONFLICT (as SPC-4 says), but ILLEGAL REQUEST to REGISTER AND MOVE; PREEMPT answers RESERVATION CONFLICT on both', async () => {
    // SPC-4 (PERSISTENT RESERVE OUT): a service action other than REGISTER / REGISTER AND IGNORE EXISTING KEY from an
    // unregistered I_T nexus is terminated with RESERVATION CONFLICT. scsi-pr reports what came:
    // ReservationConflictError, or LIO's NOT READY as ScsiSenseError ERR_NOT_READY.
    const tid = pr.parseTransportId(map.nodes[1].luns[LUN_LIO].transportId);
    const rows = {
      reserve: await refusal(n3.reserve({ key: 0x1n, type: 1 })),
      release: await refusal(n3.release({ key: 0x1n, type: 1 })),
      clear: await refusal(n3.clear({ key: 0x1n })),
      registerAndMove: await refusal(n3.registerAndMove({ key: 0x1n, newKey: 0x2n, transportId: tid, relativeTargetPortId: 1, type: 1 })),
      preempt: await refusal(n3.preempt({ key: 0x1n, preemptKey: 0x2n, type: 1 })),
    };
    const notReady = 'ERR_NOT_READY 02/08/00'; // LIO: LOGICAL UNIT COMMUNICATION FAILURE
    const conflict = 'RESERVATION CONFLICT';
    expect(rows).toEqual(
      perTarget({
        lio: { reserve: notReady, release: notReady, clear: notReady, registerAndMove: notReady, preempt: conflict },
        // tgt checks REGISTER AND MOVE's TransportID first (see MOVE in pr-actions.test.ts).
        tgt: { reserve: conflict, release: conflict, clear: conflict, registerAndMove: 'ERR_ILLEGAL_REQUEST 05/24/00', preempt: conflict },
      }),
    );
    expect((await n1.readKeys()).keys).toEqual([]);
  });

  it('READ CAPACITY under Exclusive Access from a non-holder: LIO answers RESERVATION CONFLICT (SBC-3 allows it), so readBlocks on a fresh handle fails on its implicit READ CAPACITY; tgt allows it and the READ itself conflicts', async () => {
    await n1.register({ newKey: 0x51n });
    await n1.reserve({ key: 0x51n, type: 'write-exclusive' });
    const weProbe = await pr.open(dev(map, 3, LUN_LIO).sg);
    try {
      // Write Exclusive: data-in commands pass.
      expect((await weProbe.readCapacity()).blocks).toBeGreaterThan(0);
    } finally {
      await weProbe.close();
    }
    await n1.release({ key: 0x51n, type: 'write-exclusive' });
    await n1.reserve({ key: 0x51n, type: 'exclusive-access' });
    const fresh = await pr.open(dev(map, 3, LUN_LIO).sg);
    try {
      // SBC-3 (commands allowed in the presence of persistent reservations): READ CAPACITY is
      // allowed under Exclusive Access from any I_T nexus. tgt allows it; LIO conflicts.
      expect(await outcome(fresh.readCapacity())).toBe(perTarget({ lio: 'conflict', tgt: 'ok' }));
      const e = await fresh.readBlocks(0).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(pr.ReservationConflictError);
      expect((e as Error).message).toMatch(perTarget({ lio: /READ CAPACITY\(10\)/, tgt: /\bREAD\(10\)/ }));
    } finally {
      await fresh.close();
    }
    // TEST UNIT READY, INQUIRY and PERSISTENT RESERVE IN stay allowed for the non-holder.
    await n3.testUnitReady();
    expect((await n3.inquiry()).vendor).toMatch(perTarget({ lio: /LIO-ORG/, tgt: /IET/ }));
    expect((await n3.readReservation()).reservation).toMatchObject({ key: 0x51n, type: 3 });
    await n1.clear({ key: 0x51n });
  });

  it('registrations are per I_T nexus (name + ISID): a SPEC_I_PT registration of node 2’s name with an ISID no session uses (tgt refuses SPEC_I_PT), or a registration of node 2’s other session, does not make node 2’s session a registrant, for PR OUT nor for WRITE (as SPC says)', async () => {
    const bs = (await n2.readCapacity()).blockSize;
    // SPEC_I_PT is optional (SIP_C): LIO takes it; tgt 1.0.85 refuses it (ILLEGAL REQUEST,
    // INVALID FIELD IN CDB; SIP_C 0) and changes nothing.
    const phantom = { protocol: 'iscsi' as const, name: labTools.initiatorIqn(2), isid: '4000000000ff' };
    const specIPt = perTarget({ lio: 'taken', tgt: 'refused' } as const);
    if (specIPt === 'taken') {
      await n1.register({ newKey: 0x61n, transportIds: [phantom] });
      await n1.reserve({ key: 0x61n, type: 'write-exclusive-registrants-only' });
      const fs = await n1.readFullStatus();
      expect(fs.registrations.map((r) => r.transportId)).toEqual([pr.parseTransportId(map.nodes[0].luns[LUN_LIO].transportId), phantom]);
      await expect(n2.register({ key: 0x61n, newKey: 0x61n })).rejects.toBeInstanceOf(pr.ReservationConflictError);
      expect(await outcome(n2.writeBlocks(30, Buffer.alloc(bs, 0x66)))).toBe('conflict');
      expect(await outcome(n2.readBlocks(30))).toBe('ok');
      expect(await outcome(n1.writeBlocks(30, Buffer.alloc(bs, 0x67)))).toBe('ok');
      await n1.clear({ key: 0x61n });
    } else {
      await expectRefusedChangingNothing(() => n1.register({ newKey: 0x61n, transportIds: [phantom] }), dev(map, 3, LUN_LIO, 1).sg);
      await expect(n2.register({ key: 0x61n, newKey: 0x61n })).rejects.toBeInstanceOf(pr.ReservationConflictError);
    }
    expect((await n1.readKeys()).keys).toEqual([]);

    // Both targets: node 2's path-1 session is another I_T nexus with node 2's name (another
    // ISID; on tgt the same target port). Its registration is not node 2's path-0 session's.
    const other = dev(map, 2, LUN_LIO, 1);
    expect(other.initiator).toBe(dev(map, 2, LUN_LIO).initiator);
    expect(other.isid).not.toBe(dev(map, 2, LUN_LIO).isid);
    const n2p1 = await pr.open(other.sg);
    try {
      await n2p1.register({ newKey: 0x62n });
      await n1.register({ newKey: 0x61n });
      await n1.reserve({ key: 0x61n, type: 'write-exclusive-registrants-only' });
      await expect(n2.register({ key: 0x62n, newKey: 0x62n })).rejects.toBeInstanceOf(pr.ReservationConflictError);
      expect(await outcome(n2.writeBlocks(31, Buffer.alloc(bs, 0x68)))).toBe('conflict');
      expect(await outcome(n2.readBlocks(31))).toBe('ok');
      expect(await outcome(n2p1.writeBlocks(31, Buffer.alloc(bs, 0x69)))).toBe('ok');
      expect(await n1.readBlocks(31)).toEqual(Buffer.alloc(bs, 0x69));
      await n1.clear({ key: 0x61n });
    } finally {
      await n2p1.close();
    }
    expect((await n1.readKeys()).keys).toEqual([]);
  });
});
