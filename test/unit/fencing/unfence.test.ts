/**
 * unfence() against the fake SAN: our key on every path (REGISTER AND IGNORE
 * EXISTING KEY, so a stale key on a nexus is simply replaced), a reservation
 * taken or found on every LU, and failures reported per LU.
 */
import { describe, expect, it } from 'vitest';
import { unfence } from '../../../lib/fencing/unfence';
import { TransportError } from '../../../lib/errors';
import { FakeSan } from '../support/fake-transport';
import { POWER_ON_RESET, nexus } from '../support/fake-logical-unit';
import { KEY_A, KEY_B, WE_RO } from '../support/cluster';

const DID_TRANSPORT_DISRUPTED = 0x0e;

function san(luCount = 2) {
  const s = new FakeSan();
  const lus = Array.from({ length: luCount }, () => s.addLu());
  return { san: s, lus, a: s.node('a'), b: s.node('b') };
}

describe('unfence', () => {
  it('registers our key on every path with REGISTER AND IGNORE EXISTING KEY and takes a WE_RO reservation where none exists', async () => {
    const { san: s, lus, a } = san();

    const r = await unfence({ devices: a.devices(), key: KEY_A });

    expect(r.ok).toBe(true);
    for (const d of r.devices) expect(d).toMatchObject({ ok: true, pathsRegistered: 2, paths: 2, reservation: 'reserved', holder: KEY_A, errors: [] });
    for (const lu of lus) {
      expect(lu.keys()).toEqual([KEY_A, KEY_A]);
      expect(lu.reservationKey()).toEqual({ key: KEY_A, type: WE_RO });
    }
    const registrations = s.commands({ name: ['register', 'register-and-ignore-existing-key'] });
    expect(registrations).toHaveLength(4);
    expect(registrations.every((x) => x.name === 'register-and-ignore-existing-key' && x.prOut?.serviceActionKey === KEY_A && !x.prOut.aptpl)).toBe(true);
  });

  it('leaves an existing reservation alone and reports its holder', async () => {
    const { san: s, a, b } = san();
    b.registerEverywhere(KEY_B);
    b.reserveEverywhere(WE_RO);

    const r = await unfence({ devices: a.devices(), key: KEY_A });

    expect(r.ok).toBe(true);
    for (const d of r.devices) expect(d).toMatchObject({ reservation: 'existing', holder: KEY_B });
    expect(s.commands({ name: 'reserve' })).toEqual([]);
  });

  it('replaces a stale key on our nexus (e.g. an old key from a previous life) without a conflict', async () => {
    const { san: s, lus, a } = san(1);
    lus[0].setRegistration(a.nexus(1), 0x57a1en);

    const r = await unfence({ devices: a.devices(), key: KEY_A });

    expect(r.ok).toBe(true);
    expect(lus[0].keys()).toEqual([KEY_A, KEY_A]);
    expect(s.log.filter((x) => x.response?.status === 0x18)).toEqual([]);
  });

  it('leaves the registration of a nexus it was not given (an old iSCSI session) in place', async () => {
    const { lus, a } = san(1);
    const oldSession = nexus(a.initiator, '23d0000000ff', 1);
    lus[0].setRegistration(oldSession, 0x57a1en);

    const r = await unfence({ devices: a.devices(), key: KEY_A });

    expect(r.ok).toBe(true);
    expect(lus[0].keys()).toEqual([0x57a1en, KEY_A, KEY_A]);
  });

  it('stale state (fence_scsi #517): our key registered only through old sessions’ nexuses is no reason to skip — every current nexus is registered, and nothing it sends can remove our key', async () => {
    const { san: s, lus, a, b } = san(2);
    b.registerEverywhere(KEY_B);
    b.reserveEverywhere(WE_RO);
    const oldSessions = [nexus(a.initiator, '40000000000a', 1), nexus(a.initiator, '40000000000b', 2)];
    for (const lu of lus) for (const x of oldSessions) lu.setRegistration(x, KEY_A);
    // READ KEYS lists our key twice on every LU, but neither current nexus is registered.
    for (const lu of lus) expect(lu.keys().filter((k) => k === KEY_A)).toHaveLength(2);

    const r = await unfence({ devices: a.devices(), key: KEY_A });

    expect(r.ok).toBe(true);
    for (const d of r.devices) expect(d).toMatchObject({ ok: true, pathsRegistered: 2, paths: 2, reservation: 'existing', holder: KEY_B });
    for (const lu of lus) {
      for (const x of [...a.nexuses(), ...oldSessions]) expect(lu.registrations.get(x.id)?.key, `${lu.name} ${x.id}`).toBe(KEY_A);
    }
    // Only REGISTER AND IGNORE EXISTING KEY with our key as the new key: no unregister, PREEMPT or CLEAR,
    // so there is no moment at which our key is missing from the LU.
    const outs = s.prOuts({ node: a });
    expect(outs).toHaveLength(4);
    for (const x of outs) expect([x.name, x.prOut?.serviceActionKey, x.response?.status]).toEqual(['register-and-ignore-existing-key', KEY_A, 0]);
  });

  it('passes APTPL on every registration when asked', async () => {
    const { san: s, a } = san(1);
    await unfence({ devices: a.devices(), key: KEY_A, aptpl: true });
    expect(s.commands({ name: 'register-and-ignore-existing-key' }).map((x) => x.prOut?.aptpl)).toEqual([true, true]);
  });

  it('absorbs and reports the UNIT ATTENTIONs met on the way', async () => {
    const { lus, a } = san(1);
    lus[0].queueUnitAttention(a.nexus(2), POWER_ON_RESET);

    const r = await unfence({ devices: a.devices(), key: KEY_A });

    expect(r.ok).toBe(true);
    expect(r.devices[0].unitAttentions.map((u) => [u.asc, u.ascq])).toEqual([[0x29, 0x00]]);
  });

  it('is not ok when a path cannot be registered, and still ensures the reservation through the others', async () => {
    const { lus, a } = san(2);
    const devices = a.devices();
    a.path(lus[1], 2).script('register-and-ignore-existing-key', { hostStatus: DID_TRANSPORT_DISRUPTED });

    const r = await unfence({ devices, key: KEY_A });

    expect(r.ok).toBe(false);
    expect(r.devices[0]).toMatchObject({ ok: true, pathsRegistered: 2 });
    expect(r.devices[1]).toMatchObject({ ok: false, pathsRegistered: 1, paths: 2, reservation: 'reserved', holder: KEY_A });
    expect(r.devices[1].errors[0]).toBeInstanceOf(TransportError);
    expect(lus[1].reservationKey()).toEqual({ key: KEY_A, type: WE_RO });
  });

  it('takes no reservation on an LU where no path could be registered', async () => {
    const { san: s, lus, a } = san(1);
    s.script({ on: 'register-and-ignore-existing-key' }, { hostStatus: DID_TRANSPORT_DISRUPTED }, Infinity);

    const r = await unfence({ devices: a.devices(), key: KEY_A });

    expect(r.devices[0]).toMatchObject({ ok: false, pathsRegistered: 0, reservation: 'none' });
    expect(s.commands({ name: ['read-reservation', 'reserve'] })).toEqual([]);
    expect(lus[0].reservation).toBeNull();
  });

  it('accepts a reservation another node took between our READ RESERVATION and our RESERVE', async () => {
    const { san: s, lus, a, b } = san(1);
    b.registerEverywhere(KEY_B);
    s.script({ on: 'reserve' }, { before: (lu) => lu.setReservation(b.nexus(1), WE_RO) });

    const r = await unfence({ devices: a.devices(), key: KEY_A });

    expect(r.ok).toBe(true);
    expect(r.devices[0]).toMatchObject({ reservation: 'existing', holder: KEY_B });
    expect(s.commands({ name: 'reserve' })[0].response?.status).toBe(0x18);
    expect(lus[0].reservationKey()).toEqual({ key: KEY_B, type: WE_RO });
  });
});
