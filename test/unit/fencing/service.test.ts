/**
 * serviceStop / serviceStatus against the fake SAN (explicit devices, no LVM):
 * what stop sends and what it verifies, on a target with READ FULL STATUS and
 * on one that refuses it with ILLEGAL REQUEST like tgt 1.0.85 (then READ KEYS
 * + READ RESERVATION are read instead, and the report says so).
 */
import { describe, expect, it } from 'vitest';
import { serviceStatus, serviceStop } from '../../../lib/fencing/service';
import { ScsiSenseError } from '../../../lib/errors';
import { KEY_A, KEY_B, WE_RO, twoNodeCluster } from '../support/cluster';
import type { FakeLogicalUnit } from '../support/fake-logical-unit';
import type { FakeSan } from '../support/fake-transport';

/** ILLEGAL REQUEST, INVALID FIELD IN CDB: tgt 1.0.85's answer to READ FULL STATUS. */
const INVALID_FIELD_IN_CDB = { sense: { key: 0x5, asc: 0x24, ascq: 0x00 } };
/** ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE: no PERSISTENT RESERVE IN at all. */
const INVALID_OPCODE = { sense: { key: 0x5, asc: 0x20, ascq: 0x00 } };

/** The target of `lus` refuses READ FULL STATUS, every time. */
function withoutFullStatus(san: FakeSan, lus: readonly FakeLogicalUnit[]): void {
  for (const lu of lus) san.script({ lu, on: 'read-full-status' }, INVALID_FIELD_IN_CDB, Infinity);
}

describe('serviceStop', () => {
  it('releases our reservation, unregisters every path and verifies with READ FULL STATUS (source read-full-status)', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    const r = await serviceStop({ key: KEY_A, devices: a.devices() });
    expect(r.ok).toBe(true);
    for (const d of r.devices) {
      expect(d).toMatchObject({ ok: true, source: 'read-full-status', registrationsBefore: 2, registrationsAfter: 0, released: true, pathsUnregistered: 2, paths: 2, errors: [] });
    }
    for (const lu of lus) {
      expect(lu.keys()).toEqual([KEY_B, KEY_B]);
      expect(lu.reservation).toBeNull();
    }
    expect(san.commands({ name: ['read-keys'] })).toEqual([]);
  });

  it('a target without READ FULL STATUS (ILLEGAL REQUEST 24h/00, tgt): READ KEYS + READ RESERVATION before and after; released, unregistered, verified, source read-keys', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    withoutFullStatus(san, lus);
    const r = await serviceStop({ key: KEY_A, devices: a.devices() });
    expect(r.ok).toBe(true);
    for (const d of r.devices) {
      expect(d).toMatchObject({ ok: true, source: 'read-keys', registrationsBefore: 2, registrationsAfter: 0, released: true, pathsUnregistered: 2, paths: 2, errors: [] });
    }
    for (const lu of lus) {
      expect(lu.keys()).toEqual([KEY_B, KEY_B]);
      expect(lu.reservation).toBeNull();
      // Before and after: one refused READ FULL STATUS, then READ KEYS (what the counts and `ok` come from).
      expect(san.commands({ lu, name: 'read-full-status' }).every((c) => !c.executed)).toBe(true);
      expect(san.commands({ lu, name: 'read-full-status' })).toHaveLength(2);
      expect(san.commands({ lu, name: 'read-keys' }).filter((c) => c.executed)).toHaveLength(2);
      // One RELEASE, one unregistration per path (port 2's first try met the 2Ah/04 the RELEASE left it and was retried).
      expect(san.prOuts({ lu }).filter((c) => c.response?.status === 0).map((c) => [c.name, c.nexus.port])).toEqual([
        ['release', 1],
        ['register-and-ignore-existing-key', 1],
        ['register-and-ignore-existing-key', 2],
      ]);
    }
  });

  it('without READ FULL STATUS the verification is still real: an unregistration the target claims but does not do leaves our key in READ KEYS, and the LU is not ok', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    withoutFullStatus(san, lus);
    // lus[1] answers GOOD to one REGISTER AND IGNORE EXISTING KEY without doing it.
    san.script({ lu: lus[1], node: a, on: 'register-and-ignore-existing-key' }, { status: 0 });
    const r = await serviceStop({ key: KEY_A, devices: a.devices() });
    expect(r.ok).toBe(false);
    const [good, bad] = [0, 1].map((i) => r.devices.find((d) => d.wwn === lus[i]!.wwn)!);
    expect(good).toMatchObject({ ok: true, source: 'read-keys', registrationsAfter: 0 });
    expect(bad).toMatchObject({ ok: false, source: 'read-keys', registrationsBefore: 2, registrationsAfter: 1, pathsUnregistered: 2 });
    expect(lus[1]!.keys().filter((k) => k === KEY_A)).toHaveLength(1);
  });

  it('another node holds the reservation: stop releases nothing and still unregisters and verifies (read-keys)', async () => {
    const { san, lus, a, b } = twoNodeCluster(1);
    lus[0]!.setReservation(b.nexus(1), WE_RO);
    withoutFullStatus(san, lus);
    const r = await serviceStop({ key: KEY_A, devices: a.devices() });
    expect(r.devices[0]).toMatchObject({ ok: true, source: 'read-keys', released: false, registrationsAfter: 0 });
    expect(lus[0]!.reservationKey()).toEqual({ key: KEY_B, type: WE_RO });
    expect(san.prOuts({ lu: lus[0] }).map((c) => c.name)).not.toContain('release');
  });

  it('INVALID COMMAND OPERATION CODE (no PR IN at all) is not worked around: nothing verified, the LU is not ok, the error is reported', async () => {
    const { san, lus, a } = twoNodeCluster(1);
    san.script({ lu: lus[0], on: 'read-full-status' }, INVALID_OPCODE, Infinity);
    const r = await serviceStop({ key: KEY_A, devices: a.devices() });
    expect(r.ok).toBe(false);
    expect(r.devices[0]).toMatchObject({ ok: false });
    expect(r.devices[0]!.registrationsAfter).toBeUndefined();
    expect(r.devices[0]!.source).toBeUndefined();
    expect(r.devices[0]!.errors.some((e) => e instanceof ScsiSenseError && e.sense.asc === 0x20)).toBe(true);
    expect(san.commands({ lu: lus[0], name: 'read-keys' })).toEqual([]);
  });
});

describe('serviceStatus', () => {
  it('a target without READ FULL STATUS: registered everywhere, read with READ KEYS (source read-keys, no nexus counts)', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    withoutFullStatus(san, lus);
    const r = await serviceStatus({ key: KEY_A, devices: a.devices() });
    expect(r).toMatchObject({ registeredEverywhere: true, registeredNowhere: false, unknown: false });
    for (const d of r.devices) expect(d).toMatchObject({ source: 'read-keys', registered: true, registrations: 2, reservationHolder: true });
  });
});
