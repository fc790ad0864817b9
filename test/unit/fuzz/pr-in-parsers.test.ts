/**
 * Fuzzed PERSISTENT RESERVE IN parsers (lib/scsi/pr-in-parsers.ts): parseReadKeys,
 * parseReadReservation, parseReportCapabilities, parseReadFullStatus; needsLargerAllocation and
 * the re-read loop built on it (PR_IN_ACTIONS.*.reread, pr-service-actions.ts); the key codec of
 * keys.ts. The list of every fuzzed parser and the env vars are in fuzz-support.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatKey, keyToBuffer, parseKey, readKey } from '../../../lib/scsi/keys';
import {
  MAX_PR_IN_ALLOCATION_LENGTH,
  needsLargerAllocation,
  parseReadFullStatus,
  parseReadKeys,
  parseReadReservation,
  parseReportCapabilities,
  type ReadFullStatusResult,
  type ReadKeysResult,
  type ReadReservationResult,
  type ReportCapabilitiesResult,
} from '../../../lib/scsi/pr-in-parsers';
import { PR_IN_ACTIONS } from '../../../lib/scsi/pr-service-actions';
import { encodeTransportId, type TransportId } from '../../../lib/scsi/transport-id';
import {
  anyBytes,
  bogusLength,
  bytesWithTransfer,
  expectSameOutcome,
  FUZZ_TEST_TIMEOUT,
  fuzz,
  junkPair,
  outcome,
  putU32,
  toBuffer,
  transferredLength,
  transportId,
} from './fuzz-support';

type Parser = (data: Buffer, validLength: number) => unknown;

/** What the parser may read: min(validLength, data.length), nonsense as 0 (the parsers' own rule). */
function usable(data: Buffer, valid: number): number {
  return Number.isFinite(valid) ? Math.max(0, Math.min(Math.floor(valid), data.length)) : 0;
}

/** Checks a result against the bytes it came from: what SPC and the parsers' documentation promise. */
const invariants: Record<string, (data: Buffer, avail: number, r: never) => void> = {
  parseReadKeys(data, avail, r: ReadKeysResult) {
    expect(avail).toBeGreaterThanOrEqual(8);
    expect(r.additionalLength % 8).toBe(0);
    expect(r.keys.length).toBe(Math.floor(Math.min(r.additionalLength, avail - 8) / 8));
    const wrong = r.keys.findIndex((k, i) => k !== data.readBigUInt64BE(8 + 8 * i));
    expect(wrong).toBe(-1);
    expect(r.truncated).toBe(8 + r.additionalLength > avail);
  },
  parseReadReservation(data, avail, r: ReadReservationResult) {
    expect(avail).toBeGreaterThanOrEqual(8);
    expect(r.additionalLength === 0 || r.additionalLength >= 16).toBe(true);
    expect(r.truncated).toBe(8 + r.additionalLength > avail);
    // A descriptor is reported exactly when one is claimed and all of its 16 bytes were transferred.
    expect(r.reservation !== null).toBe(r.additionalLength !== 0 && avail >= 24);
    // As documented: a descriptor that did not fit is never reported, and that is a truncated response.
    if (avail < 24 && r.additionalLength !== 0) expect(r.reservation === null && r.truncated).toBe(true);
    if (r.reservation) {
      expect(r.reservation.key).toBe(data.readBigUInt64BE(8));
      expect((r.reservation.scope << 4) | r.reservation.type).toBe(data[21]);
    }
  },
  parseReportCapabilities(data, avail, r: ReportCapabilitiesResult) {
    expect(avail).toBeGreaterThanOrEqual(6);
    expect(r.length).toBeGreaterThanOrEqual(6);
    expect(r.typeMask).toBe(data.readUInt16BE(4));
    if (!r.typeMaskValid) expect(r.typesSupported).toEqual([]);
    for (const t of r.typesSupported) expect([1, 3, 5, 6, 7, 8]).toContain(t);
    expect(r.truncated).toBe(r.length > avail);
  },
  parseReadFullStatus(data, avail, r: ReadFullStatusResult) {
    expect(avail).toBeGreaterThanOrEqual(8);
    const end = Math.min(avail, 8 + r.additionalLength);
    expect(r.registrations.length * 24).toBeLessThanOrEqual(end - 8);
    expect(r.truncated).toBe(8 + r.additionalLength > avail);
  },
};

const parsers: Record<string, Parser> = { parseReadKeys, parseReadReservation, parseReportCapabilities, parseReadFullStatus };

/**
 * Bytes biased towards plausible PR IN data: ADDITIONAL LENGTH (or LENGTH) near the buffer's
 * size, sometimes rounded to 8, and READ FULL STATUS descriptor lengths that are small.
 */
const prInBytes: fc.Arbitrary<Buffer> = fc.oneof(
  anyBytes(),
  fc
    .tuple(anyBytes(), fc.integer({ min: -16, max: 64 }), fc.boolean(), fc.integer({ min: 0, max: 300 }), fc.constantFrom(0x05, 0x45, 0x00, 0x06))
    .map(([b, slack, round8, descLen, tidByte]) => {
      const data = Buffer.from(b);
      const additional = Math.max(0, data.length - 8 + slack);
      putU32(data, 4, round8 ? additional & ~7 : additional);
      if (data.length >= 2) data.writeUInt16BE(Math.min(0xffff, Math.max(0, data.length + slack)), 0); // REPORT CAPABILITIES LENGTH (bytes 0–1)
      putU32(data, 28, descLen); // first READ FULL STATUS descriptor's ADDITIONAL DESCRIPTOR LENGTH
      if (data.length > 32) data[32] = tidByte; // its TransportID's byte 0
      return data;
    }),
);

describe('PR IN parsers: any bytes, any transferred length', () => {
  for (const [name, parse] of Object.entries(parsers)) {
    it(`${name}: returns or throws MalformedResponseError, nothing else; the result agrees with the bytes`, async () => {
      await fuzz(1500, [bytesWithTransfer(prInBytes)], ({ data, valid }) => {
        const r = outcome(() => parse(data, valid));
        if ('value' in r) invariants[name]!(data, usable(data, valid), r.value as never);
      });
    }, FUZZ_TEST_TIMEOUT);

    it(`${name}: never reads past the transferred length`, async () => {
      await fuzz(800, [bytesWithTransfer(prInBytes), junkPair], ({ data, valid }, [junkA, junkB]) => {
        const n = usable(data, valid);
        const exact = Buffer.from(data.subarray(0, n));
        const reference = outcome(() => parse(exact, n));
        expectSameOutcome(reference, outcome(() => parse(Buffer.concat([exact, junkA]), n)));
        expectSameOutcome(reference, outcome(() => parse(Buffer.concat([exact, junkB]), n)));
        // The same buffer with other bytes after the transferred ones, validLength as given (possibly nonsense).
        const mixed = Buffer.from(data);
        junkA.copy(mixed, n);
        expectSameOutcome(outcome(() => parse(data, valid)), outcome(() => parse(mixed, valid)));
      });
    }, FUZZ_TEST_TIMEOUT);
  }

  for (const name of ['parseReadKeys', 'parseReadReservation', 'parseReadFullStatus']) {
    it(`${name}: bytes after 8 + ADDITIONAL LENGTH never matter`, async () => {
      const parse = parsers[name]!;
      await fuzz(800, [bytesWithTransfer(prInBytes), fc.nat(), fc.boolean(), fc.integer()], ({ data: bytes, valid }, k, round8, seed) => {
        const n = usable(bytes, valid);
        if (n <= 8) return;
        const data = Buffer.from(bytes);
        const additional = k % (n - 8); // ADDITIONAL LENGTH short of what was transferred
        data.writeUInt32BE(round8 ? additional & ~7 : additional, 4);
        const end = 8 + data.readUInt32BE(4);
        const changed = Buffer.from(data);
        for (let i = end, s = seed; i < n; i++, s = (Math.imul(s, 1103515245) + 12345) | 0) changed[i] = s >>> 24;
        expectSameOutcome(outcome(() => parse(data, valid)), outcome(() => parse(changed, valid)));
      });
    }, FUZZ_TEST_TIMEOUT);
  }
});

// ---------------------------------------------------------------------------
// structured, self-inconsistent data

function header(generation: number, additionalLength: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(generation >>> 0, 0);
  h.writeUInt32BE(additionalLength >>> 0, 4);
  return h;
}

const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
const generation = fc.integer({ min: 0, max: 0xffffffff });

describe('READ KEYS: built from keys, then lied about', () => {
  it('ADDITIONAL LENGTH off, not a multiple of 8, or past the transfer: prefix of the keys, or malformed', async () => {
    const arb = fc
      .tuple(generation, fc.array(u64, { maxLength: 140 }))
      .chain(([gen, keys]) =>
        fc.tuple(fc.constant(gen), fc.constant(keys), bogusLength(8 * keys.length, 0xffffffff), transferredLength(8 + 8 * keys.length)),
      );
    await fuzz(1000, [arb], ([gen, keys, additional, valid]) => {
      const data = Buffer.concat([header(gen, additional), ...keys.map(keyToBuffer)]);
      const r = outcome(() => parseReadKeys(data, valid));
      const n = usable(data, valid);
      if (n < 8 || additional % 8 !== 0) {
        expect(r).toHaveProperty('malformed');
        return;
      }
      if (!('value' in r)) throw new Error(`unexpected: ${r.malformed}`);
      const count = Math.min(additional / 8, Math.floor((n - 8) / 8));
      expect(r.value).toEqual({ generation: gen, keys: keys.slice(0, count), additionalLength: additional, truncated: 8 + additional > n });
    });
  }, FUZZ_TEST_TIMEOUT);
});

describe('READ RESERVATION: built, then lied about', () => {
  it('ADDITIONAL LENGTH 0, 16 or anything; cut anywhere', async () => {
    const arb = fc.tuple(generation, u64, fc.integer({ min: 0, max: 255 }), bogusLength(16, 0xffffffff)).chain((t) => fc.tuple(fc.constant(t), transferredLength(24 + 8)));
    await fuzz(1000, [arb], ([[gen, key, scopeType, additional], valid]) => {
      const d = Buffer.alloc(24);
      keyToBuffer(key).copy(d, 0);
      d[13] = scopeType;
      const data = Buffer.concat([header(gen, additional), d]);
      const n = usable(data, valid);
      const r = outcome(() => parseReadReservation(data, valid));
      if (n < 8 || (additional > 0 && additional < 16)) {
        expect(r).toHaveProperty('malformed');
        return;
      }
      if (!('value' in r)) throw new Error(`unexpected: ${r.malformed}`);
      expect(r.value.generation).toBe(gen);
      expect(r.value.truncated).toBe(8 + additional > n);
      if (additional === 0 || n < 24) expect(r.value.reservation).toBeNull();
      else expect(r.value.reservation).toMatchObject({ key, scope: scopeType >> 4, type: scopeType & 0x0f });
    });
  }, FUZZ_TEST_TIMEOUT);
});

describe('REPORT CAPABILITIES: built from its bits, then lied about', () => {
  it('every bit decodes; LENGTH below 6 or fewer than 6 bytes transferred is malformed', async () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ minLength: 6, maxLength: 6 })).chain((t) => fc.tuple(fc.constant(t), transferredLength(8)));
    await fuzz(1000, [arb], ([[length, bits], valid]) => {
      const data = Buffer.alloc(8);
      data.writeUInt16BE(length, 0);
      toBuffer(bits).copy(data, 2);
      const n = usable(data, valid);
      const r = outcome(() => parseReportCapabilities(data, valid));
      if (n < 6 || length < 6) {
        expect(r).toHaveProperty('malformed');
        return;
      }
      if (!('value' in r)) throw new Error(`unexpected: ${r.malformed}`);
      const v = r.value;
      const b2 = data[2]!;
      const b3 = data[3]!;
      expect([v.replaceLostReservationCapable, v.compatibleReservationHandling, v.specifyInitiatorPortsCapable, v.allTargetPortsCapable, v.persistThroughPowerLossCapable]).toEqual(
        [0x80, 0x10, 0x08, 0x04, 0x01].map((m) => (b2 & m) !== 0),
      );
      expect([v.typeMaskValid, v.allowCommands, v.persistThroughPowerLossActivated]).toEqual([(b3 & 0x80) !== 0, (b3 >> 4) & 7, (b3 & 1) !== 0]);
      const mask = data.readUInt16BE(4);
      const expected = ([[0x0200, 1], [0x0800, 3], [0x2000, 5], [0x4000, 6], [0x8000, 7], [0x0001, 8]] as const).filter(([m]) => mask & m).map(([, t]) => t);
      expect(v.typesSupported).toEqual(v.typeMaskValid ? expected : []);
    });
  }, FUZZ_TEST_TIMEOUT);
});

/** A generated READ FULL STATUS registration and its descriptor bytes. */
interface Entry {
  key: bigint;
  flags: number;
  scopeType: number;
  rtpi: number;
  tid: TransportId;
  bytes: Buffer;
}

const entry: fc.Arbitrary<Entry> = fc
  .tuple(u64, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), transportId)
  .map(([key, flags, scopeType, rtpi, tid]) => {
    const t = encodeTransportId(tid);
    const d = Buffer.alloc(24 + t.length);
    keyToBuffer(key).copy(d, 0);
    d[12] = flags;
    d[13] = scopeType;
    d.writeUInt16BE(rtpi, 18);
    d.writeUInt32BE(t.length, 20);
    t.copy(d, 24);
    return { key, flags, scopeType, rtpi, tid, bytes: d };
  });

function expectRegistration(r: ReadFullStatusResult['registrations'][number], e: Entry): void {
  expect(r).toMatchObject({
    key: e.key,
    allTargetPorts: (e.flags & 2) !== 0,
    reservationHolder: (e.flags & 1) !== 0,
    scope: e.scopeType >> 4,
    type: e.scopeType & 0x0f,
    relativeTargetPortId: e.rtpi,
  });
  expect(r.transportId).toEqual(e.tid);
}

describe('READ FULL STATUS: built from registrations, then lied about', () => {
  it('consistent lengths, cut anywhere: the complete descriptors, in order (round trip)', async () => {
    const arb = fc.tuple(generation, fc.array(entry, { maxLength: 12 })).chain((t) => {
      const total = 8 + t[1].reduce((s, e) => s + e.bytes.length, 0);
      return fc.tuple(fc.constant(t), transferredLength(total));
    });
    await fuzz(800, [arb], ([[gen, entries], valid]) => {
      const body = Buffer.concat(entries.map((e) => e.bytes));
      const data = Buffer.concat([header(gen, body.length), body]);
      const n = usable(data, valid);
      const r = outcome(() => parseReadFullStatus(data, valid));
      if (n < 8) {
        expect(r).toHaveProperty('malformed');
        return;
      }
      if (!('value' in r)) throw new Error(`unexpected: ${r.malformed}`);
      let fit = 0;
      for (let off = 8; fit < entries.length && off + entries[fit]!.bytes.length <= n; fit++) off += entries[fit]!.bytes.length;
      expect(r.value.registrations).toHaveLength(fit);
      r.value.registrations.forEach((reg, i) => expectRegistration(reg, entries[i]!));
      expect(r.value.truncated).toBe(data.length > n);
    });
  }, FUZZ_TEST_TIMEOUT);

  it('one ADDITIONAL DESCRIPTOR LENGTH, the ADDITIONAL LENGTH or a TransportID length bogus: a prefix of the registrations, or malformed', async () => {
    const arb = fc
      .tuple(generation, fc.array(entry, { minLength: 1, maxLength: 8 }))
      .chain(([gen, entries]) => {
        const total = 8 + entries.reduce((s, e) => s + e.bytes.length, 0);
        return fc.tuple(
          fc.constant(gen),
          fc.constant(entries),
          fc.nat(entries.length - 1),
          fc.constantFrom('descriptor', 'additional', 'iscsi', 'none'),
          bogusLength(0, 0xffffffff),
          bogusLength(total - 8, 0xffffffff),
          transferredLength(total),
        );
      });
    await fuzz(1000, [arb], ([gen, entries, victim, what, descriptorLength, additional, valid]) => {
      const parts = entries.map((e) => Buffer.from(e.bytes));
      const v = parts[victim]!;
      if (what === 'descriptor') v.writeUInt32BE(descriptorLength >>> 0, 20);
      if (what === 'iscsi' && (v[24]! & 0x0f) === 5) v.writeUInt16BE(descriptorLength & 0xffff, 26);
      const body = Buffer.concat(parts);
      const data = Buffer.concat([header(gen, what === 'additional' ? additional : body.length), body]);
      const r = outcome(() => parseReadFullStatus(data, valid));
      if (!('value' in r)) return; // malformed is a fine answer to a lie
      invariants.parseReadFullStatus!(data, usable(data, valid), r.value as never);
      // Whatever is returned is true: the registrations before the lie, as built.
      r.value.registrations.forEach((reg, i) => {
        if (i < victim || what === 'additional' || what === 'none') expectRegistration(reg, entries[i]!);
      });
    });
  }, FUZZ_TEST_TIMEOUT);
});

// ---------------------------------------------------------------------------
// the re-read loop

/**
 * A device with `entries` (encoded key list items or READ FULL STATUS descriptors) answering a
 * PR IN with `allocation`: SPC-style (the full ADDITIONAL LENGTH, the data cut at the
 * allocation) or LIO-style (only the entries that fit, and their length).
 */
function respond(entries: readonly Buffer[], allocation: number, lio: boolean): { data: Buffer; valid: number } {
  const fitting: Buffer[] = [];
  let used = 8;
  for (const e of entries) {
    if (lio && used + e.length > allocation) break;
    fitting.push(e);
    used += e.length;
  }
  const body = Buffer.concat(fitting);
  const full = Buffer.concat([header(7, body.length), body]);
  const data = Buffer.alloc(allocation, 0xa5);
  full.copy(data, 0, 0, Math.min(full.length, allocation));
  return { data, valid: Math.min(full.length, allocation) };
}

describe('re-reading a list that did not fit: always ends, with everything that fits in 65535 bytes', () => {
  const listSize = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 8100, max: 8200 }), fc.integer({ min: 0, max: 9000 }));

  it('READ KEYS', async () => {
    await fuzz(100, [listSize, u64, fc.boolean()], (count, base, lio) => {
      const keys = Array.from({ length: count }, (_, i) => BigInt.asUintN(64, base + BigInt(i)));
      const entries = keys.map(keyToBuffer);
      const action = PR_IN_ACTIONS.readKeys;
      let allocation: number = action.defaultAllocationLength;
      let r: ReadKeysResult;
      for (let attempt = 0; ; attempt++) {
        expect(attempt).toBeLessThan(17); // doubling from 1024 reaches 65535 in 6
        const { data, valid } = respond(entries, allocation, lio);
        r = parseReadKeys(data, valid);
        const next = action.reread(r, allocation);
        if (next === undefined) break;
        expect(next).toBeGreaterThan(allocation);
        expect(next).toBeLessThanOrEqual(MAX_PR_IN_ALLOCATION_LENGTH);
        allocation = next;
      }
      const fits = 8 + 8 * count <= MAX_PR_IN_ALLOCATION_LENGTH;
      expect(r.keys).toEqual(fits ? keys : keys.slice(0, r.keys.length));
      if (!fits) expect(r.truncated).toBe(true);
      if (8 + 8 * count + 8 <= MAX_PR_IN_ALLOCATION_LENGTH) expect(r.truncated).toBe(false);
    });
  }, FUZZ_TEST_TIMEOUT);

  it('READ FULL STATUS, from a small first allocation', async () => {
    const arb = fc.tuple(fc.array(entry, { minLength: 1, maxLength: 4 }), fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 200, max: 1600 })), fc.integer({ min: 8, max: 2000 }), fc.boolean());
    await fuzz(100, [arb], ([pattern, count, first, lio]) => {
      const entries = Array.from({ length: count }, (_, i) => pattern[i % pattern.length]!.bytes);
      const total = 8 + entries.reduce((s, e) => s + e.length, 0);
      const action = PR_IN_ACTIONS.readFullStatus;
      let allocation = first;
      let r: ReadFullStatusResult;
      for (let attempt = 0; ; attempt++) {
        expect(attempt).toBeLessThan(17);
        const { data, valid } = respond(entries, allocation, lio);
        r = parseReadFullStatus(data, valid);
        const next = action.reread(r, allocation);
        if (next === undefined) break;
        expect(next).toBeGreaterThan(allocation);
        expect(next).toBeLessThanOrEqual(MAX_PR_IN_ALLOCATION_LENGTH);
        allocation = next;
      }
      if (total <= MAX_PR_IN_ALLOCATION_LENGTH) expect(r.registrations).toHaveLength(count);
      else expect(r.truncated).toBe(true);
      r.registrations.forEach((reg, i) => expect(reg.key).toBe(pattern[i % pattern.length]!.key));
    });
  }, FUZZ_TEST_TIMEOUT);

  it('needsLargerAllocation: never suggests less, never more than 65535', async () => {
    await fuzz(1000, [bytesWithTransfer(prInBytes), fc.integer({ min: 0, max: 70000 })], ({ data, valid }, allocation) => {
      for (const parse of [parseReadKeys, parseReadReservation, parseReadFullStatus]) {
        const r = outcome(() => parse(data, valid));
        if (!('value' in r)) continue;
        const advice = needsLargerAllocation(r.value, allocation);
        if (advice.retry) {
          expect(advice.nextAllocationLength).toBeGreaterThan(allocation);
          expect(advice.nextAllocationLength).toBeLessThanOrEqual(MAX_PR_IN_ALLOCATION_LENGTH);
        } else {
          expect(advice.nextAllocationLength).toBe(allocation);
        }
      }
    });
  }, FUZZ_TEST_TIMEOUT);
});

describe('reservation keys: encode and decode agree', () => {
  it('formatKey / parseKey / keyToBuffer / readKey round trips', async () => {
    await fuzz(1000, [u64, fc.boolean(), fc.nat(16)], (key, upper, pad) => {
      const text = formatKey(key);
      expect(parseKey(text)).toBe(key);
      const digits = key.toString(16).padStart(Math.max(pad, key.toString(16).length), '0');
      if (digits.length <= 16) expect(parseKey(upper ? digits.toUpperCase() : digits)).toBe(key);
      const b = keyToBuffer(key);
      expect(b).toHaveLength(8);
      expect(readKey(b, 0)).toBe(key);
      expect(parseKey(b)).toBe(key);
    });
  }, FUZZ_TEST_TIMEOUT);
});
