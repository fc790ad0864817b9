/**
 * Property-based ("fuzz") tests of every parser of device-supplied bytes, with fast-check.
 * One test file per parser family, beside this file:
 *
 * | file | parsers (lib/scsi/…) |
 * | --- | --- |
 * | pr-in-parsers.test.ts | pr-in-parsers.ts: parseReadKeys, parseReadReservation, parseReportCapabilities, parseReadFullStatus, needsLargerAllocation (and the re-read loop of pr-service-actions.ts); keys.ts: readKey, parseKey, formatKey, keyToBuffer |
 * | transport-id.test.ts | transport-id.ts: decodeTransportId (tryDecode), encodeTransportId (a Buffer is validated); transport-id-text.ts: parseTransportId, formatTransportId |
 * | inquiry.test.ts | inquiry.ts: parseStandardInquiry, parseUnitSerialVpd (80h), parseDeviceIdentificationVpd (83h), wwnOf |
 * | sense.test.ts | sense.ts: decodeSense (fixed 70h/71h, descriptor 72h/73h), formatSense, undecodableSense; classify.ts: classifyResult (decodes the sense bytes), commandName |
 *
 * Nothing else in lib/ reads device-supplied bytes: raw-result.ts is a type; device.ts's READ
 * CAPACITY reads 8 bytes after checking that 8 were transferred; the transports copy sense and
 * data with `subarray(0, min(…))`; lib/cli and lib/fencing format parsed results.
 *
 * What every family checks: any bytes (0–1100, now and then up to 64 KiB) with any transferred
 * length give a result or a `MalformedResponseError` (`instanceof`, `.code`) and nothing else; the
 * bytes after the transferred length (or outside the Buffer view) never change the outcome;
 * self-inconsistent lengths built on purpose; round trips where an encoder exists; termination.
 *
 * Reproducible by default: a fixed seed. `SCSI_PR_FUZZ_SEED=<n>` (or `random`) picks another,
 * `SCSI_PR_FUZZ_RUNS=<n>` runs every property n times (in chunks of 4000 runs, seeds seed, seed + 1,
 * …). fast-check prints the seed, the path and the shrunk counterexample of a failure.
 */
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import vm from 'node:vm';
import { expect } from 'vitest';
import { MalformedResponseError } from '../../../lib/errors';

const DEFAULT_SEED = 0x5c5_1a2b;

function seedFromEnv(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_SEED;
  if (text === 'random') {
    const seed = (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
    console.log(`SCSI_PR_FUZZ_SEED=random: seed ${seed}`);
    return seed;
  }
  const n = Number(text);
  if (!Number.isInteger(n)) throw new Error(`SCSI_PR_FUZZ_SEED=${text}: expected an integer or "random"`);
  return n | 0;
}

function runsFromEnv(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SCSI_PR_FUZZ_RUNS=${text}: expected a positive integer`);
  return n;
}

/** The seed of every property of this run (of its first chunk of runs, see CHUNK_RUNS). */
export const FUZZ_SEED = seedFromEnv(process.env.SCSI_PR_FUZZ_SEED);
const RUNS_OVERRIDE = runsFromEnv(process.env.SCSI_PR_FUZZ_RUNS);

// Without defaultSizeToMaxWhenMaxSpecified, fast-check keeps arrays and strings to about 10
// items whatever maxLength says: a "0–1100 byte" buffer would never be longer than 10.
fc.configureGlobal({ seed: FUZZ_SEED, numRuns: RUNS_OVERRIDE ?? 100, defaultSizeToMaxWhenMaxSpecified: true });

/** Runs of a property: its own default, or SCSI_PR_FUZZ_RUNS. */
export function runs(defaultRuns: number): number {
  return RUNS_OVERRIDE ?? defaultRuns;
}

/**
 * Runs per fc.assert call. A longer property is run in chunks of this many runs, chunk i with
 * seed FUZZ_SEED + i (the default runs fit in one chunk, so the seed is FUZZ_SEED), and the
 * event loop turns between chunks: a vitest worker blocked for 60 s misses its RPC deadline
 * ("Timeout calling onTaskUpdate") and fails the run.
 */
const CHUNK_RUNS = 4000;

/** Wall-clock budget of one chunk: generous, it only matters when a parser never returns. */
const CHUNK_BUDGET_MS = 20_000;

/** Vitest timeout of a test that runs one property (the default runs fit in one chunk). */
export const FUZZ_TEST_TIMEOUT = Math.ceil((RUNS_OVERRIDE ?? CHUNK_RUNS) / CHUNK_RUNS) * (CHUNK_BUDGET_MS + 3_000) + 10_000;

const script = new vm.Script('globalThis.__scsiPrFuzzThunk()');

/**
 * Runs `fn` and interrupts it after `ms` (V8 terminates the script, a synchronous loop
 * included: a parser that loops would otherwise hang the worker, where no vitest timeout fires).
 */
function bounded<T>(fn: () => T, ms: number): T {
  const g = globalThis as { __scsiPrFuzzThunk?: () => T };
  g.__scsiPrFuzzThunk = fn;
  try {
    return script.runInThisContext({ timeout: ms }) as T;
  } finally {
    delete g.__scsiPrFuzzThunk;
  }
}

function timedOut(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

/**
 * fc.assert of `predicate` over `arbitraries`, `defaultRuns` times (or SCSI_PR_FUZZ_RUNS), each
 * chunk of runs under a watchdog. A watchdog per call costs a thread (~0.2 ms), too much for
 * thousands of runs, so the last input is remembered instead: when the budget runs out it is run
 * once more alone with a 2 s bound, and reported as the input that never returns.
 */
export async function fuzz<Ts extends [unknown, ...unknown[]]>(
  defaultRuns: number,
  arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  predicate: (...args: Ts) => void,
): Promise<void> {
  let last: Ts | undefined;
  const recorded = (...args: Ts): void => {
    last = args;
    predicate(...args);
  };
  const property = (fc.property as unknown as (...a: unknown[]) => fc.IPropertyWithHooks<Ts>)(...arbitraries, recorded);
  const total = runs(defaultRuns);
  for (let done = 0, chunk = 0; done < total; done += CHUNK_RUNS, chunk++) {
    const seed = (FUZZ_SEED + chunk) | 0;
    last = undefined;
    try {
      bounded(() => fc.assert(property, { numRuns: Math.min(CHUNK_RUNS, total - done), seed }), CHUNK_BUDGET_MS);
    } catch (e) {
      if (!timedOut(e) || last === undefined) throw e;
      const input: Ts = last;
      let verdict: string;
      try {
        bounded(() => predicate(...input), 2_000);
        verdict = 'the property ran out of time (slow machine?); the last input returns when run alone';
      } catch (again) {
        verdict = timedOut(again) ? 'this input does not return within 2 s (a loop?)' : `this input fails: ${String(again)}`;
      }
      throw new Error(`fuzz property did not finish within ${CHUNK_BUDGET_MS} ms (seed ${seed}): ${verdict}: ${fc.stringify(input)}`);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

// ---------------------------------------------------------------------------
// outcomes

/** What a parser did: returned a value, or threw MalformedResponseError (its message). */
export type Outcome<T> = { value: T } | { malformed: string };

/**
 * Calls `fn`; a MalformedResponseError (checked by `instanceof` and `.code`) becomes
 * `{ malformed }`, any other exception fails the property (rethrown as is).
 */
export function outcome<T>(fn: () => T): Outcome<T> {
  try {
    return { value: fn() };
  } catch (e) {
    if (e instanceof MalformedResponseError && e.code === 'ERR_MALFORMED_RESPONSE') return { malformed: e.message };
    throw e;
  }
}

/** Deep equality of two outcomes (Buffers by content, bigints by value, error messages included). */
export function expectSameOutcome<T>(a: Outcome<T>, b: Outcome<T>): void {
  if (!isDeepStrictEqual(a, b)) expect(b).toEqual(a); // toEqual prints the difference
}

// ---------------------------------------------------------------------------
// bytes

/** A Buffer sharing the Uint8Array's memory. */
export function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** `n` pseudo-random bytes from `seed` (cheap, for the large buffers fast-check would be slow to draw byte by byte). */
export function prngBytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    b[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return b;
}

/** Any bytes: mostly 0–1100 long (shrinkable), now and then 1101–65536 (pseudo-random content). */
export function anyBytes(maxSmall = 1100): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.uint8Array({ maxLength: maxSmall, size: 'medium' }).map(toBuffer) },
    { weight: 4, arbitrary: fc.uint8Array({ maxLength: maxSmall }).map(toBuffer) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: maxSmall + 1, max: 65536 }), fc.integer()).map(([n, s]) => prngBytes(n, s)) },
  );
}

/**
 * A transferred length for a buffer of `length` bytes, as allocation − resid gives it: mostly
 * within 0…length (counted from the start or, as a resid, from the end), sometimes the whole
 * buffer, and now and then nonsense the parser must clamp (past the buffer, negative,
 * fractional, NaN). A function of the length, so that it shrinks along with the bytes.
 */
const transferSpec: fc.Arbitrary<(length: number) => number> = fc.oneof(
  { weight: 3, arbitrary: fc.nat(70000).map((k) => (length: number) => Math.min(k, length)) },
  { weight: 3, arbitrary: fc.nat(70000).map((resid) => (length: number) => length - Math.min(resid, length)) },
  { weight: 3, arbitrary: fc.constant((length: number) => length) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 70000 }).map((k) => (length: number) => length + k) },
  { weight: 1, arbitrary: fc.constantFrom(-1, -65536, 0.5, Number.NaN, Number.POSITIVE_INFINITY).map((v) => () => v) },
  { weight: 1, arbitrary: fc.constant((length: number) => length - 0.5) },
);

/** A transferred length for a buffer of exactly `length` bytes (see transferSpec). */
export function transferredLength(length: number): fc.Arbitrary<number> {
  return transferSpec.map((f) => f(length));
}

/** Bytes plus a transferred length for them (shrinks well: no chain). */
export function bytesWithTransfer(bytes: fc.Arbitrary<Buffer> = anyBytes()): fc.Arbitrary<{ data: Buffer; valid: number }> {
  return fc.tuple(bytes, transferSpec).map(([data, f]) => ({ data, valid: f(data.length) }));
}

/**
 * Two different tails to put after the transferred bytes (stale data in a pooled buffer):
 * random bytes, and zeros or 0xff of the same length.
 */
export const junkPair: fc.Arbitrary<[Buffer, Buffer]> = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.constantFrom(0x00, 0xff, 0x45))
  .map(([u, fill]) => [toBuffer(u), Buffer.alloc(u.length, fill)]);

/**
 * `bytes` as a view into a larger ArrayBuffer whose bytes after the view are `tail`: a parser
 * that reads `data.buffer` or past `data.length` sees them.
 */
export function viewWithTail(bytes: Buffer, tail: Buffer): Buffer {
  return Buffer.concat([bytes, tail]).subarray(0, bytes.length);
}

/** Sets a 32-bit big-endian field where it fits (structured generators patch lengths this way). */
export function putU32(b: Buffer, offset: number, value: number): void {
  if (offset + 4 <= b.length) b.writeUInt32BE(value >>> 0, offset);
}

/** A length field value near `real`: off by a little either way, or anything. */
export function bogusLength(real: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer({ min: -24, max: 24 }).map((d) => Math.min(max, Math.max(0, real + d))),
    fc.integer({ min: 0, max }),
    fc.constantFrom(0, max),
  );
}

// ---------------------------------------------------------------------------
// TransportIDs (transport-id.test.ts, and the READ FULL STATUS descriptors of pr-in-parsers.test.ts)

/**
 * Characters of generated iSCSI names: what real names use, plus letters whose case mapping
 * or encoding is awkward (İ lowercases to two UTF-16 units, ß/Σ/ς, 3- and 4-byte UTF-8).
 */
const NAME_CHAR = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-:'.split('')) },
  { weight: 1, arbitrary: fc.constantFrom('A', 'I', 'X', 'İ', 'ı', 'ß', 'Σ', 'ς', 'é', 'ǅ', '漢', '😀', '\u0085') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

/** Whether the encoder takes `name` (no whitespace, control character or comma; 1–223 UTF-8 bytes). */
export function encodableIscsiName(name: string): boolean {
  return name.length > 0 && !/[\s,\u0000-\u001f\u007f]/.test(name) && Buffer.byteLength(name, 'utf8') <= 223;
}

/** iSCSI names the encoder accepts. */
export const iscsiName: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: NAME_CHAR, minLength: 1, maxLength: 60 }),
    fc.tuple(fc.string({ unit: NAME_CHAR, maxLength: 30 }), fc.integer({ min: 1990, max: 2030 })).map(([s, y]) => `iqn.${y}-01.org.example:${s}`),
    fc.string({ unit: NAME_CHAR, minLength: 200, maxLength: 230 }),
  )
  .filter(encodableIscsiName);

/** ISIDs as the encoder stores them: 1–12 lowercase hex digits. */
export const isid: fc.Arbitrary<string> = fc.stringMatching(/^[0-9a-f]{1,12}$/);

const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
const u16 = fc.integer({ min: 0, max: 0xffff });

/** Protocol/format pairs that decode as `unknown` with a fixed 24-byte raw form. */
const unknownFixed = fc.oneof(
  fc.tuple(fc.constantFrom(0x2, 0x7, 0x8, 0x9, 0xb, 0xc, 0xd, 0xe, 0xf), fc.integer({ min: 0, max: 3 })),
  fc.tuple(fc.constantFrom(0x0, 0x1, 0x3, 0x4, 0x6, 0xa), fc.integer({ min: 1, max: 3 })),
);

/** Every kind of TransportID the codec knows, in the form decoding returns (ISIDs lowercase). */
export const transportId: fc.Arbitrary<import('../../../lib/scsi/transport-id').TransportId> = fc.oneof(
  u64.map((nPortName) => ({ protocol: 'fcp' as const, nPortName })),
  fc.tuple(u16, u16).map(([scsiAddress, relativePortId]) => ({ protocol: 'spi' as const, scsiAddress, relativePortId })),
  u64.map((eui64) => ({ protocol: 'sbp' as const, eui64 })),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((u) => ({ protocol: 'srp' as const, initiatorPortId: Buffer.from(u) })),
  fc.tuple(iscsiName, fc.option(isid, { nil: undefined })).map(([name, id]) =>
    id === undefined ? { protocol: 'iscsi' as const, name } : { protocol: 'iscsi' as const, name, isid: id },
  ),
  u64.map((sasAddress) => ({ protocol: 'sas' as const, sasAddress })),
  u16.map((routingId) => ({ protocol: 'sop' as const, routingId })),
  fc.tuple(unknownFixed, fc.uint8Array({ minLength: 24, maxLength: 24 }), fc.integer({ min: 0, max: 3 })).map(([[protocolId, format], u, reserved]) => {
    const raw = Buffer.from(u);
    raw[0] = (format << 6) | (reserved << 4) | protocolId;
    return { protocol: 'unknown' as const, protocolId, format, raw };
  }),
  fc.tuple(fc.constantFrom(2, 3), fc.integer({ min: 6, max: 62 }), fc.integer()).map(([format, words, seed]) => {
    const raw = prngBytes(4 * words, seed);
    raw[0] = (format << 6) | 0x5;
    raw.writeUInt16BE(raw.length - 4, 2);
    return { protocol: 'unknown' as const, protocolId: 0x5, format, raw };
  }),
);
