/**
 * Large registration lists on one LUN (LUN 6), built from 20 extra initiator ACLs
 * ("ghost" initiators that never log in) with made-up ISIDs (initiator ports):
 *
 *  - 221 registrations from ONE PR OUT REGISTER with SPEC_I_PT (the issuer + 220
 *    ghost I_T nexuses, 11 per ghost): READ KEYS, and READ FULL STATUS, which needs
 *    more than 8192 bytes, so scsi-pr must re-issue it with a larger allocation
 *    length; cross-checked with sg_persist (which never asks for more than 8192
 *    bytes) and with sg_raw at allocation length 65535, decoded independently;
 *  - 1035 registrations (five such REGISTERs): READ KEYS beyond 8192 bytes, and
 *    READ FULL STATUS beyond the 65535 bytes a PR IN CDB can ask for.
 *
 * What the lab allows (LIO, kernel 6.1): SPEC_I_PT registers initiators that are
 * not logged in, as long as an ACL maps the LUN for them, but only with iSCSI
 * TransportIDs of format 1 (name,i,0x<ISID>): the backstore attribute
 * enforce_pr_isids is 1, and a format-0 name is ILLEGAL REQUEST. Several ISIDs of
 * one initiator name are distinct I_T nexuses and register separately.
 *
 * LIO hazard: when READ FULL STATUS does not fit the allocation length, LIO's
 * space check ignores the 8-byte header and the 24-byte descriptor header and can
 * write up to 32 bytes past the data-in buffer. Past the last page of the buffer
 * that corrupts memory (one page) or hangs this UML guest (several pages, vmap).
 * The descriptor sizes and counts below are chosen (and checked before any READ
 * FULL STATUS) so that no allocation length scsi-pr or sg_persist uses hits that
 * window: ghost names of 40 characters make 88-byte descriptors.
 *
 * LIO leak: SPEC_I_PT takes a configfs dependency on each destination ACL's mapped
 * LUN (on the target port it registers through, tpgt_1) and never drops it, so
 * after CLEAR those mapped-LUN groups cannot be removed (EBUSY) until the guest
 * reboots. That is why this file creates only 20 ghost ACLs: their tpgt_2 entries
 * are removed, their tpgt_1 entries stay behind (no registrations, no reservation).
 */
import { existsSync, lstatSync, readdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as pr from '../../lib';
import { MAX_FULL_STATUS_DESCRIPTOR_LENGTH, MAX_PR_IN_ALLOCATION_LENGTH } from '../../lib/scsi/pr-in-parsers';
import { DEFAULT_PR_IN_ALLOCATION_LENGTH } from '../../lib/scsi/pr-in-requests';
import { dev, labTools, type LabMap } from './lab-env';
import {
  decodeFullStatusBytes,
  decodeReadKeysBytes,
  expectSgPersistAgrees,
  fromScsiPr,
  sgPersist,
  sgRawPrIn,
  sgReadFullStatus,
  sgReadKeys,
} from './sg-persist-reference';

const LUN = 6;
const GHOST_ACLS = 20;
/** Issuing nexuses of the five SPEC_I_PT REGISTERs: [node, path]. Node 3 path 1 stays the (unregistered) observer. */
const ISSUERS: ReadonlyArray<readonly [number, number]> = [[1, 0], [1, 1], [2, 0], [2, 1], [3, 0]];
/**
 * Ghost I_T nexuses each REGISTER names. The first makes 221 registrations; all five
 * make 1035 (> 1023, so READ KEYS needs more than 8192 bytes). The counts place no
 * descriptor in LIO's overrun window for any allocation length in use, and make the
 * data that fits in 65535 bytes end inside the allocation (LIO's usual case).
 */
const COUNTS = [220, 150, 150, 150, 360];
const PER_REGISTER = COUNTS[0];
const TOTAL = COUNTS.reduce((a, n) => a + n + 1, 0); // 1035
const KG = 0x6057000000000001n; // key of the first four REGISTERs and their ghosts
const KG3 = 0x6057000000000003n; // key of node 3's REGISTER and its ghosts
const WIPE_KEY = 0x5ca1ab1e6n;
const CFG = '/sys/kernel/config/target';

/** Ghost initiator name of ACL `g` (0–19), 40 characters. */
const aclIqn = (g: number) => `iqn.2026-11.org.scsi-pr.lab:ghost-acl-${String(g).padStart(2, '0')}`;
/** The i-th ghost I_T nexus (0–1029): ACL i mod 20, made-up ISID 4<ACL, 3 digits><port, 8 digits>. */
const ghostTid = (i: number): pr.IscsiTransportId => {
  const g = i % GHOST_ACLS;
  const port = Math.floor(i / GHOST_ACLS);
  return { protocol: 'iscsi', name: aclIqn(g), isid: `4${g.toString(16).padStart(3, '0')}${port.toString(16).padStart(8, '0')}` };
};
/** The ghosts registered by the k-th REGISTER (k = 0…4). */
const ghostsOf = (k: number) => {
  const first = COUNTS.slice(0, k).reduce((a, n) => a + n, 0);
  return Array.from({ length: COUNTS[k] }, (_, j) => ghostTid(first + j));
};

async function wipe(d: pr.Device): Promise<void> {
  await d.registerAndIgnoreExistingKey({ newKey: WIPE_KEY });
  await d.clear({ key: WIPE_KEY });
}

/** READ FULL STATUS descriptor length LIO builds for an iSCSI registration (24 + TransportID). */
function lioDescriptorLength(t: pr.IscsiTransportId): number {
  const text = t.isid === undefined ? t.name : `${t.name},i,0x${t.isid}`;
  return 24 + 4 + ((Buffer.byteLength(text) + 1 + 3) & ~3);
}

/**
 * Replays LIO's core_scsi3_pri_read_full_status loop: it writes a descriptor when
 * `TransportID length + bytes so far <= allocation`, not counting the 8-byte header
 * or the 24-byte descriptor header. Returns what it would report (ADDITIONAL LENGTH,
 * descriptors) and how far its last write would reach past the allocation length
 * and past the page-sized data-in buffer (> 0: out of bounds).
 */
function lioFullStatus(descriptorLengths: number[], allocationLength: number): { additionalLength: number; count: number; pastAllocation: number; pastBuffer: number } {
  const buffer = Math.ceil(allocationLength / 4096) * 4096;
  let addLen = 0;
  let count = 0;
  let end = 0;
  for (const d of descriptorLengths) {
    if (d - 24 + addLen > allocationLength) break;
    end = 8 + addLen + d;
    addLen += d;
    count++;
  }
  return { additionalLength: addLen, count, pastAllocation: end - allocationLength, pastBuffer: end - buffer };
}

/**
 * Every allocation length READ FULL STATUS can be sent with here: scsi-pr's default
 * and its doublings up to 65535 (its re-issue policy), and sg_persist's 8192.
 */
function fullStatusAllocationLengths(): number[] {
  const out = new Set<number>([8192, MAX_PR_IN_ALLOCATION_LENGTH]);
  for (let a = DEFAULT_PR_IN_ALLOCATION_LENGTH['read-full-status']; a < MAX_PR_IN_ALLOCATION_LENGTH; a *= 2) out.add(a);
  return [...out].sort((a, b) => a - b);
}

/** Fails (instead of hanging the lab) if any allocation length in use would make LIO write past the buffer. */
function expectNoLioOverrun(lengths: number[]): void {
  for (const alloc of fullStatusAllocationLengths()) {
    expect(lioFullStatus(lengths, alloc).pastBuffer, `LIO READ FULL STATUS would write past its buffer at allocation length ${alloc}`).toBeLessThanOrEqual(0);
  }
}

/**
 * Removes the ghost ACLs this file created (unmap LUN 6, remove the mapped-LUN
 * group, remove the ACL), per target portal group. Counts what configfs refused
 * with EBUSY (a dependency LIO still holds) instead of throwing for that.
 */
function removeGhostAcls(): Record<string, { removed: number; busy: number }> {
  const base = join(CFG, 'iscsi', process.env.LAB_TARGET_IQN ?? '');
  const result: Record<string, { removed: number; busy: number }> = {};
  for (const tpgt of readdirSync(base).filter((n) => n.startsWith('tpgt_')).sort()) {
    const r = (result[tpgt] = { removed: 0, busy: 0 });
    for (let g = 0; g < GHOST_ACLS; g++) {
      const acl = join(base, tpgt, 'acls', aclIqn(g));
      if (!existsSync(acl)) continue;
      try {
        for (const lun of readdirSync(acl).filter((n) => n.startsWith('lun_'))) {
          for (const l of readdirSync(join(acl, lun))) if (lstatSync(join(acl, lun, l)).isSymbolicLink()) unlinkSync(join(acl, lun, l));
          rmdirSync(join(acl, lun));
        }
        rmdirSync(acl);
        r.removed++;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EBUSY') throw e;
        r.busy++;
      }
    }
  }
  return result;
}

describe('large registration lists (LUN 6): SPEC_I_PT for initiators that are not logged in, READ KEYS / READ FULL STATUS beyond 8192 bytes', () => {
  let map: LabMap;
  let issuers: pr.Device[];
  let obs: pr.Device;
  let obsSg: string;
  let issuerTids: pr.IscsiTransportId[];

  beforeAll(async () => {
    map = labTools.map();
    issuers = [];
    for (const [node, path] of ISSUERS) issuers.push(await pr.open(dev(map, node, LUN, path).sg));
    issuerTids = ISSUERS.map(([node, path]) => {
      const d = dev(map, node, LUN, path);
      return { protocol: 'iscsi', name: d.initiator, isid: d.isid };
    });
    obsSg = dev(map, 3, LUN, 1).sg;
    obs = await pr.open(obsSg);
    await wipe(issuers[0]);
    for (let g = 0; g < GHOST_ACLS; g++) labTools.addAcl(aclIqn(g), [LUN]);
  });

  afterAll(async () => {
    try {
      if (issuers?.[0]) await wipe(issuers[0]);
      expect((await obs.readKeys()).keys).toEqual([]);
    } finally {
      for (const d of [...(issuers ?? []), obs]) await d?.close();
      removeGhostAcls(); // whatever a failed run left that configfs lets go of
    }
  });

  it('the lab: LIO enforces ISIDs for SPEC_I_PT (enforce_pr_isids 1): a format-0 iSCSI TransportID is ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST, and nothing is registered', async () => {
    const backstore = join(CFG, 'core', `rd_mcp_${LUN}`);
    const devDir = readdirSync(backstore).find((n) => existsSync(join(backstore, n, 'attrib', 'enforce_pr_isids')));
    expect(devDir).toBeDefined();
    expect(readFileSync(join(backstore, devDir!, 'attrib', 'enforce_pr_isids'), 'utf8').trim()).toBe('1');
    const before = await obs.readKeys();
    const e = await issuers[0].register({ newKey: KG, transportIds: [ghostTid(0), { protocol: 'iscsi', name: aclIqn(1) }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(pr.ScsiSenseError);
    expect((e as pr.ScsiSenseError).sense).toMatchObject({ senseKey: 5, asc: 0x26, ascq: 0x00, ascName: 'INVALID FIELD IN PARAMETER LIST' });
    const after = await obs.readKeys();
    expect(after).toMatchObject({ generation: before.generation, keys: [] });
  });

  it(`one REGISTER with SPEC_I_PT registers ${PER_REGISTER} I_T nexuses of ${GHOST_ACLS} initiators that never logged in (11 ISIDs each), plus the issuing nexus; READ KEYS returns all ${PER_REGISTER + 1} keys, as sg_persist -k does`, async () => {
    const before = (await obs.readKeys()).generation;
    await issuers[0].register({ newKey: KG, transportIds: ghostsOf(0) });
    const keys = await obs.readKeys();
    expect(keys.keys).toEqual(new Array(PER_REGISTER + 1).fill(KG));
    expect(keys.truncated).toBe(false);
    expect(keys.additionalLength).toBe(8 * (PER_REGISTER + 1));
    // LIO bumps PRgeneration once per registration it adds (SPC-4: once per command).
    expect(keys.generation).toBe(before + PER_REGISTER + 1);
    expect(fromScsiPr.keys(keys)).toEqual(await sgReadKeys(obsSg));
  });

  it(`READ FULL STATUS returns all ${PER_REGISTER + 1} registrations (more than 8192 bytes: scsi-pr re-issues with a larger allocation length); sg_raw at 65535 agrees, sg_persist shows only what fits in 8192`, async () => {
    const lengths = [lioDescriptorLength(issuerTids[0]), ...ghostsOf(0).map(lioDescriptorLength)];
    const total = lengths.reduce((a, b) => a + b, 0);
    expect(8 + total).toBeGreaterThan(8192);
    // Guard against LIO's overrun (it would hang the lab): none of the allocation lengths
    // scsi-pr (its default, then doubling) and sg_persist (8192) use may hit the window.
    expectNoLioOverrun(lengths);

    // One 8192-byte READ FULL STATUS gets only what fits from LIO, with an ADDITIONAL
    // LENGTH that counts only that (SPC-4 wants the full length).
    const probe = await obs.execute({ cdb: Buffer.from([0x5e, 0x03, 0, 0, 0, 0, 0, 0x20, 0x00, 0]), direction: 'in', allocationLength: 8192 });
    expect(probe.data.readUInt32BE(4)).toBe(lioFullStatus(lengths, 8192).additionalLength);
    expect(probe.data.readUInt32BE(4)).toBeLessThan(total);

    const fs = await obs.readFullStatus();
    expect(fs.truncated).toBe(false);
    expect(fs.additionalLength).toBe(total);
    expect(fs.registrations).toHaveLength(PER_REGISTER + 1);
    expect(fs.registrations[0]).toMatchObject({ key: KG, transportId: issuerTids[0], relativeTargetPortId: 1, allTargetPorts: false, reservationHolder: false });
    const ghosts = fs.registrations.slice(1);
    expect(ghosts.map((r) => r.transportId)).toEqual(ghostsOf(0));
    for (const r of ghosts) expect(r).toMatchObject({ key: KG, relativeTargetPortId: 1, allTargetPorts: false, reservationHolder: false });

    // Independent decode of the whole list at allocation length 65535.
    const raw = decodeFullStatusBytes(await sgRawPrIn(obsSg, 0x03, 65535));
    expect(raw.additionalLength).toBe(total);
    expect({ generation: raw.generation, registrations: raw.registrations }).toEqual(fromScsiPr.fullStatus(fs));

    // sg_persist 1.46 refuses to ask for more than 8192 bytes, and prints what fit.
    const big = await sgPersist(obsSg, ['-s', '--alloc-length=ffff']);
    expect(big.status).not.toBe(0);
    expect(big.stderr).toMatch(/exceeds maximum value \(8192\)/);
    const sg = await sgReadFullStatus(obsSg);
    expect(sg.generation).toBe(fs.generation);
    expect(sg.registrations).toEqual(decodeFullStatusBytes(probe.data).registrations);
    expect(sg.registrations.length).toBe(lioFullStatus(lengths, 8192).count);
    expect(sg.registrations).toEqual(fromScsiPr.fullStatus(fs).registrations.slice(0, sg.registrations.length));
  });

  it(`READ KEYS beyond 8192 bytes: four more SPEC_I_PT REGISTERs (nodes 1 and 2 through both target ports, node 3 through port 1) make ${TOTAL} registrations; scsi-pr re-issues READ KEYS with a larger allocation; sg_raw at 65535 agrees; sg_persist -k (8192 bytes) lists garbage past key 1023`, async () => {
    for (let k = 1; k < ISSUERS.length; k++) {
      const before = (await obs.readKeys()).generation;
      await issuers[k].register({ newKey: k === ISSUERS.length - 1 ? KG3 : KG, transportIds: ghostsOf(k) });
      expect((await obs.readKeys()).generation).toBe(before + COUNTS[k] + 1);
    }
    // Guard against LIO's READ FULL STATUS overrun before anything reads the full status.
    expectNoLioOverrun(issuerTids.flatMap((t, k) => [lioDescriptorLength(t), ...ghostsOf(k).map(lioDescriptorLength)]));

    const last = COUNTS[COUNTS.length - 1] + 1;
    const expected = [...new Array(TOTAL - last).fill(KG), ...new Array(last).fill(KG3)];
    const probe = await obs.execute({ cdb: Buffer.from([0x5e, 0x00, 0, 0, 0, 0, 0, 0x20, 0x00, 0]), direction: 'in', allocationLength: 8192 });
    expect(8 + 8 * TOTAL).toBeGreaterThan(8192);
    expect(probe.validLength).toBe(8192);
    // Unlike its READ FULL STATUS, LIO's READ KEYS reports the full ADDITIONAL LENGTH (as SPC-4 says).
    expect(probe.data.readUInt32BE(4)).toBe(8 * TOTAL);

    const keys = await obs.readKeys();
    expect(keys.keys).toEqual(expected);
    expect(keys.truncated).toBe(false);
    expect(keys.additionalLength).toBe(8 * TOTAL);
    const raw = decodeReadKeysBytes(await sgRawPrIn(obsSg, 0x00, 65535));
    expect({ generation: raw.generation, keys: raw.keys }).toEqual(fromScsiPr.keys(keys));
    expect(raw.additionalLength).toBe(8 * TOTAL);

    // sg_persist receives at most 8192 bytes = (8192 - 8) / 8 = 1023 keys, but trusts
    // ADDITIONAL LENGTH and reads on past its buffer: it lists all 1035 "keys", the last
    // 12 of them garbage (what follows its buffer in memory).
    const sg = await sgPersist(obsSg, ['-k']);
    expect(sg.status).toBe(0);
    expect(sg.stdout).toMatch(new RegExp(`PR generation=0x${keys.generation.toString(16)}, ${TOTAL} registered reservation keys follow`));
    const shown = [...sg.stdout.matchAll(/^\s+0x([0-9a-f]+)\s*$/gim)].map((m) => BigInt('0x' + m[1]));
    expect(shown).toHaveLength(TOTAL);
    expect(shown.slice(0, 1023)).toEqual(expected.slice(0, 1023));
    expect(shown.slice(1023)).not.toEqual(expected.slice(1023));
  });

  it(`READ FULL STATUS beyond the 65535 bytes a CDB can ask for (${TOTAL} registrations): scsi-pr gets what fits, as sg_raw does — and must say the list is incomplete`, async () => {
    const lengths = issuerTids.flatMap((t, k) => [lioDescriptorLength(t), ...ghostsOf(k).map(lioDescriptorLength)]);
    const total = lengths.reduce((a, b) => a + b, 0);
    expect(8 + total).toBeGreaterThan(65535);
    const fits = lioFullStatus(lengths, 65535);
    expect(fits.pastAllocation).toBeLessThanOrEqual(0); // what fits ends inside the allocation

    const fs = await obs.readFullStatus();
    const raw = decodeFullStatusBytes(await sgRawPrIn(obsSg, 0x03, 65535));
    // LIO returns what fits and reports only that in ADDITIONAL LENGTH.
    expect(raw.additionalLength).toBe(fits.additionalLength);
    expect({ generation: raw.generation, registrations: raw.registrations }).toEqual(fromScsiPr.fullStatus(fs));
    expect(fs.registrations).toHaveLength(fits.count);
    expect(fs.registrations.length).toBeLessThan(TOTAL);
    expect(fs.additionalLength).toBe(fits.additionalLength);
    // READ KEYS says there are TOTAL registrations; the full status holds fewer. The
    // caller must be told: scsi-pr's own re-issue heuristic still finds the response
    // suspicious at 65535 (it ends less than one descriptor short of the allocation),
    // but at the CDB's maximum it stops re-issuing and returns truncated: false.
    expect((await obs.readKeys()).keys).toHaveLength(TOTAL);
    expect(65535 - (8 + fs.additionalLength)).toBeLessThan(MAX_FULL_STATUS_DESCRIPTOR_LENGTH);
    expect(fs.truncated, `readFullStatus returned ${fs.registrations.length} of ${TOTAL} registrations with truncated: false`).toBe(true);
  });

  it(`PREEMPT removes ${TOTAL - COUNTS[COUNTS.length - 1] - 1} registrations of one key in a single command (no reservation existed, so none is created); CLEAR leaves the LUN empty`, async () => {
    const n3 = issuers[ISSUERS.length - 1];
    const before = (await obs.readKeys()).generation;
    await n3.preempt({ key: KG3, preemptKey: KG, type: 'exclusive-access' });
    const keys = await obs.readKeys();
    expect(keys.keys).toEqual(new Array(COUNTS[COUNTS.length - 1] + 1).fill(KG3));
    expect(keys.generation).toBe(before + 1);
    expect(fromScsiPr.keys(keys)).toEqual(await sgReadKeys(obsSg));
    // SPC-4: with no reservation holder, PREEMPT only removes registrations and ignores TYPE.
    expect((await obs.readReservation()).reservation).toBeNull();
    expectNoLioOverrun([lioDescriptorLength(issuerTids[ISSUERS.length - 1]), ...ghostsOf(ISSUERS.length - 1).map(lioDescriptorLength)]);
    const fs = await obs.readFullStatus();
    expect(fs.registrations.map((r) => r.transportId)).toEqual([issuerTids[ISSUERS.length - 1], ...ghostsOf(ISSUERS.length - 1)]);
    expect({ ...decodeFullStatusBytes(await sgRawPrIn(obsSg, 0x03, 65535)), additionalLength: undefined }).toEqual({ ...fromScsiPr.fullStatus(fs), additionalLength: undefined });

    await n3.clear({ key: KG3 });
    const v = await expectSgPersistAgrees(obs, obsSg);
    expect(v.keys.keys).toEqual([]);
    expect(v.reservation.reservation).toBeNull();
    expect(v.fullStatus.registrations).toEqual([]);
  });

  it('LIO leaks the configfs dependency SPEC_I_PT takes on each destination ACL’s mapped LUN: after CLEAR the ghost ACLs’ tpgt_1 entries cannot be removed (EBUSY), their tpgt_2 entries can', async () => {
    expect((await obs.readKeys()).keys).toEqual([]);
    expect(removeGhostAcls()).toEqual({ tpgt_1: { removed: 0, busy: GHOST_ACLS }, tpgt_2: { removed: GHOST_ACLS, busy: 0 } });
  });
});
