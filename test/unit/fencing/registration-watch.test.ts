/**
 * watchRegistration() against the fake SAN: fenced only on evidence (a READ
 * KEYS without our key), at once on a PREEMPTED unit attention met by the
 * caller's own I/O, by the periodic read otherwise; failed reads are not
 * fences; stop() leaves no timer, no listener, and the caller's Devices open.
 */
import { describe, expect, it } from 'vitest';
import { watchRegistration, type FencedEvidence } from '../../../lib/fencing/registration-watch';
import { fence } from '../../../lib/fencing/fence';
import { TransportError } from '../../../lib/errors';
import { KEY_A, KEY_B, twoNodeCluster } from '../support/cluster';
import { rejection } from '../support/thrown';

const DID_NO_CONNECT = 0x01;
const HOUR = 3_600_000;

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('watchRegistration', () => {
  it('reports a node that is already fenced on its first read, with the keys as evidence, and stops', async () => {
    const { san, a, b } = twoNodeCluster(2);
    expect((await fence({ devices: b.devices(), key: KEY_B, victimKey: KEY_A })).ok).toBe(true);
    const before = timers();
    const seen: FencedEvidence[] = [];
    const w = await watchRegistration({ devices: a.devices(), key: KEY_A, intervalMs: HOUR, onFenced: (e) => seen.push(e) });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ key: KEY_A, keys: [KEY_B, KEY_B], trigger: 'poll' });
    expect(await w.done).toBe(seen[0]);
    expect(timers()).toBe(before);
    expect(san.prOuts({ node: a })).toEqual([]);
  });

  it('a REGISTRATIONS PREEMPTED unit attention met by the caller’s own I/O triggers a read at once, long before the next poll', async () => {
    const { a, b } = twoNodeCluster(2);
    const mine = a.devices();
    const seen: FencedEvidence[] = [];
    const w = await watchRegistration({ devices: mine, key: KEY_A, intervalMs: HOUR, onFenced: (e) => seen.push(e) });
    expect(seen).toEqual([]);
    await fence({ devices: b.devices(), key: KEY_B, victimKey: KEY_A });
    expect(seen).toEqual([]); // nothing read since: no evidence yet
    await mine[0]!.testUnitReady(); // the caller's I/O meets UA 2Ah/05
    const evidence = await w.done;
    expect(evidence).toMatchObject({ trigger: 'unit-attention', unitAttention: { asc: 0x2a, ascq: 0x05 }, keys: [KEY_B, KEY_B] });
    expect(seen).toEqual([evidence]);
    // The caller's Devices stay open; the listeners are gone.
    expect(mine.every((d) => !d.isClosed)).toBe(true);
    for (const d of mine) await d.close();
  });

  it('finds a fence by its periodic read', async () => {
    const { a, b } = twoNodeCluster(1);
    const seen: FencedEvidence[] = [];
    const w = await watchRegistration({ devices: a.devices(), key: KEY_A, intervalMs: 100, onFenced: (e) => seen.push(e) });
    await fence({ devices: b.devices(), key: KEY_B, victimKey: KEY_A });
    const evidence = await w.done;
    expect(evidence?.keys).toEqual([KEY_B, KEY_B]);
    expect(seen).toHaveLength(1);
  });

  it('a read that fails on every path is reported through onError, never taken for a fence', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    san.script({ lu: lus[1], on: 'read-keys' }, { hostStatus: DID_NO_CONNECT }, Infinity);
    const errors: Array<[Error, string]> = [];
    const seen: FencedEvidence[] = [];
    const before = timers();
    const w = await watchRegistration({ devices: a.devices(), key: KEY_A, intervalMs: HOUR, onFenced: (e) => seen.push(e), onError: (e, d) => errors.push([e, d]) });
    await w.check();
    expect(seen).toEqual([]);
    expect(errors).toHaveLength(2);
    expect(errors[0]![0]).toBeInstanceOf(TransportError);
    await w.stop();
    await w.stop();
    expect(await w.done).toBeNull();
    expect(timers()).toBe(before);
  });

  it('our key still registered after a preemption of someone else: no report', async () => {
    const { a, b } = twoNodeCluster(1);
    const mine = a.devices();
    const seen: FencedEvidence[] = [];
    const w = await watchRegistration({ devices: mine, key: KEY_A, intervalMs: HOUR, onFenced: (e) => seen.push(e) });
    await fence({ devices: mine, key: KEY_A, victimKey: KEY_B }); // we fence b
    await w.check();
    expect(seen).toEqual([]);
    await w.stop();
    void b;
  });

  it('refuses bad options before any I/O', async () => {
    const { san, a } = twoNodeCluster(1);
    const onFenced = () => {};
    for (const [options, code] of [
      [{ devices: a.devices(), key: 0n, onFenced }, 'ERR_INVALID_KEY'],
      [{ devices: a.devices(), key: KEY_A, intervalMs: 50, onFenced }, 'ERR_INVALID_OPTION'],
      [{ devices: a.devices(), key: KEY_A, intervalMs: 1.5e3 + 0.5, onFenced }, 'ERR_INVALID_OPTION'],
      [{ devices: a.devices(), key: KEY_A }, 'ERR_INVALID_OPTION'],
      [{ devices: [], key: KEY_A, onFenced }, 'ERR_INVALID_OPTION'],
    ] as const) {
      expect((await rejection(watchRegistration(options as never))).code).toBe(code);
    }
    expect(san.commands()).toEqual([]);
  });
});
