/**
 * Fuzzed sense decoding (lib/scsi/sense.ts: decodeSense for fixed 70h/71h and descriptor 72h/73h
 * sense, formatSense, undecodableSense) and the classifier that feeds it the sense bytes
 * (lib/scsi/classify.ts: classifyResult, commandName). decodeSense never throws: undecodable
 * sense is `null`. The list of every fuzzed parser and the env vars are in fuzz-support.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScsiPrError } from '../../../lib/errors';
import { ErrorCodes } from '../../../lib/error-codes';
import { classifyResult, commandName } from '../../../lib/scsi/classify';
import { decodeSense, formatSense, undecodableSense, type DecodedSense } from '../../../lib/scsi/sense';
import { anyBytes, bogusLength, expectSameOutcome, FUZZ_TEST_TIMEOUT, fuzz, junkPair, toBuffer, viewWithTail } from './fuzz-support';

/** Sense bytes: any, or starting with one of the four decodable response codes (VALID bit or not). */
const senseBytes: fc.Arbitrary<Buffer> = fc.oneof(
  anyBytes(300),
  fc
    .tuple(fc.uint8Array({ maxLength: 260 }), fc.constantFrom(0x70, 0x71, 0x72, 0x73, 0xf0, 0xf1, 0xf2, 0xf3), fc.option(fc.integer({ min: 0, max: 255 })))
    .map(([u, code, additional]) => {
      const b = Buffer.from(u);
      if (b.length > 0) b[0] = code;
      if (b.length > 7 && additional !== null) b[7] = additional;
      return b;
    }),
);

/** decodeSense must not throw; a decoded result is sane and renders. */
function decode(raw: Buffer): DecodedSense | null {
  const s = decodeSense(raw);
  if (s === null) {
    expect(formatSense(undecodableSense(raw))).toMatch(/sense data/);
    return null;
  }
  expect(s.senseKey).toBeGreaterThanOrEqual(0);
  expect(s.senseKey).toBeLessThan(16);
  for (const v of [s.asc, s.ascq]) expect(v >= 0 && v <= 255).toBe(true);
  expect(typeof formatSense(s)).toBe('string');
  expect(s.raw).toEqual(raw);
  return s;
}

/** Everything but the copy of the raw bytes. */
function withoutRaw(s: DecodedSense | null): unknown {
  if (s === null) return null;
  const { raw: _raw, ...rest } = s;
  return rest;
}

describe('decodeSense: any bytes', () => {
  it('returns decoded sense or null, never throws; formatSense renders it', async () => {
    await fuzz(2000, [senseBytes], (raw) => {
      const s = decode(raw);
      if (s?.format === 'descriptor') {
        const end = raw.length >= 8 ? Math.min(raw.length, 8 + raw[7]!) : 8;
        const used = s.descriptors!.reduce((sum, d) => sum + d.bytes.length, 0);
        expect(8 + used).toBeLessThanOrEqual(Math.max(8, end));
        for (const d of s.descriptors!) expect(d.bytes.length).toBe(2 + d.bytes[1]!);
      }
    });
  }, FUZZ_TEST_TIMEOUT);

  it('never reads past the view, and past 8 + ADDITIONAL SENSE LENGTH only the raw copy changes', async () => {
    await fuzz(1500, [senseBytes, junkPair, fc.integer()], (raw, [junkA, junkB], seed) => {
      const reference = { value: decodeSense(Buffer.from(raw)) };
      expectSameOutcome(reference, { value: decodeSense(viewWithTail(raw, junkA)) });
      expectSameOutcome(reference, { value: decodeSense(viewWithTail(raw, junkB)) });
      if (raw.length < 8) return;
      const changed = Buffer.from(raw);
      for (let i = 8 + raw[7]!, s = seed; i < changed.length; i++, s = (Math.imul(s, 1103515245) + 12345) | 0) changed[i] = s >>> 24;
      expectSameOutcome({ value: withoutRaw(reference.value) }, { value: withoutRaw(decodeSense(changed)) });
    });
  }, FUZZ_TEST_TIMEOUT);
});

interface GeneratedDescriptor {
  type: number;
  body: Buffer;
}

const descriptor: fc.Arbitrary<GeneratedDescriptor> = fc
  .tuple(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 255 })), fc.uint8Array({ maxLength: 30 }))
  .map(([type, u]) => ({ type, body: toBuffer(u) }));

describe('descriptor sense: built from descriptors, then lied about', () => {
  it('consistent lengths: header fields and every descriptor back (round trip)', async () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.array(descriptor, { maxLength: 8 }));
    await fuzz(800, [arb], ([key, asc, ascq, ds]) => {
      const body = Buffer.concat(ds.map((d) => Buffer.concat([Buffer.from([d.type, d.body.length]), d.body])));
      fc.pre(body.length <= 244);
      const raw = Buffer.concat([Buffer.from([0x72, key, asc, ascq, 0, 0, 0, body.length]), body]);
      const s = decode(raw)!;
      expect(s).toMatchObject({ format: 'descriptor', senseKey: key, asc, ascq });
      expect(s.descriptors!.map((d) => ({ type: d.type, body: d.bytes.subarray(2) }))).toEqual(ds);
    });
  }, FUZZ_TEST_TIMEOUT);

  it('ADDITIONAL SENSE LENGTH or a descriptor length bogus, sense cut anywhere: the descriptors before the lie, never more bytes than written', async () => {
    const arb = fc.array(descriptor, { minLength: 1, maxLength: 8 }).chain((ds) => {
      const bodyLength = ds.reduce((s, d) => s + 2 + d.body.length, 0);
      return fc.tuple(fc.constant(ds), fc.nat(ds.length - 1), fc.integer({ min: 0, max: 255 }), bogusLength(bodyLength, 255), fc.integer({ min: 0, max: 8 + bodyLength }));
    });
    await fuzz(1500, [arb], ([ds, victim, descriptorLength, additional, n]) => {
      const parts = ds.map((d) => Buffer.concat([Buffer.from([d.type, d.body.length]), d.body]));
      parts[victim]![1] = descriptorLength;
      const raw = Buffer.concat([Buffer.from([0x72, 0x06, 0x2a, 0x05, 0, 0, 0, additional]), ...parts]).subarray(0, n);
      const s = decode(raw);
      if (n < 2) {
        expect(s).toBeNull();
        return;
      }
      const got = s!.descriptors!;
      // A prefix of what was built, up to the falsified one.
      got.forEach((d, i) => {
        if (i < victim) expect({ type: d.type, body: d.bytes.subarray(2) }).toEqual(ds[i]);
      });
      const end = n >= 8 ? Math.min(n, 8 + additional) : 8;
      expect(8 + got.reduce((sum, d) => sum + d.bytes.length, 0)).toBeLessThanOrEqual(Math.max(8, end));
    });
  }, FUZZ_TEST_TIMEOUT);
});

describe('fixed sense: built, then lied about', () => {
  it('fields are reported only where ADDITIONAL SENSE LENGTH and the written bytes cover them', async () => {
    const arb = fc.tuple(fc.uint8Array({ minLength: 18, maxLength: 32 }), fc.boolean(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 32 }));
    await fuzz(1500, [arb], ([u, deferred, additional, n]) => {
      const full = Buffer.from(u);
      full[0] = (full[0]! & 0x80) | (deferred ? 0x71 : 0x70);
      full[7] = additional;
      const raw = full.subarray(0, n);
      const s = decode(raw);
      if (n < 3) {
        expect(s).toBeNull();
        return;
      }
      const end = n >= 8 ? Math.min(n, 8 + additional) : n;
      expect(s).toMatchObject({ format: 'fixed', deferred, senseKey: full[2]! & 0x0f, asc: end >= 13 ? full[12] : 0, ascq: end >= 14 ? full[13] : 0 });
      if (end < 18) expect(s!.senseKeySpecific).toBeUndefined();
      if (end < 15) expect(s!.fieldReplaceableUnitCode).toBeUndefined();
      if (end < 12) expect(s!.commandSpecificInformation).toBeUndefined();
    });
  }, FUZZ_TEST_TIMEOUT);
});

describe('classifyResult: any raw result', () => {
  const codes = new Set<string>(Object.values(ErrorCodes));

  it('returns null or a ScsiPrError with a known code, never throws', async () => {
    const raw = fc.record({
      status: fc.oneof(fc.constantFrom(0x00, 0x02, 0x04, 0x08, 0x10, 0x18, 0x22, 0x28, 0x30, 0x40), fc.integer({ min: 0, max: 255 })),
      hostStatus: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0x1ff })),
      driverStatus: fc.oneof(fc.constantFrom(0, 0x08), fc.integer({ min: 0, max: 255 })),
      sense: senseBytes,
      resid: fc.integer({ min: -1, max: 70000 }),
      durationMs: fc.nat(100000),
      data: fc.constant(null),
    });
    const cdb = fc.uint8Array({ maxLength: 16 }).map(toBuffer);
    await fuzz(1500, [raw, cdb], (result, c) => {
      expect(typeof commandName(c)).toBe('string');
      const e = classifyResult(result, { path: '/dev/sg0', cdb: c });
      if (e === null) return;
      expect(e).toBeInstanceOf(ScsiPrError);
      expect(codes.has(e.code)).toBe(true);
    });
  }, FUZZ_TEST_TIMEOUT);
});
