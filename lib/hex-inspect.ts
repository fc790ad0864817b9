/**
 * Readable output for results that carry bigint reservation keys.
 *
 * `util.inspect` (and therefore `console.log` and the Node REPL) prints a
 * bigint in decimal with an `n` suffix, which is useless for reservation keys.
 * {@link withHexInspect} makes an object print its bigints as `0x…` hex while
 * leaving the real values and every other behaviour (enumeration,
 * `JSON.stringify`, `structuredClone`, equality in tests) untouched.
 * {@link toJSONSafe} produces a JSON-serialisable copy for `--json` output.
 */
import { inspect } from 'node:util';
import { formatKey } from './scsi/keys';

/** `Symbol.for('nodejs.util.inspect.custom')`, typed. */
const INSPECT_CUSTOM = inspect.custom;

const MAX_U64 = 0xffff_ffff_ffff_ffffn;

/** Hex text of any bigint: reservation keys through `formatKey`, anything else (negative, > 64 bits) by hand. */
function bigintToHex(value: bigint): string {
  if (value >= 0n && value <= MAX_U64) return formatKey(value);
  return value < 0n ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
}

/** True for `{}`-style objects (prototype `Object.prototype` or `null`). */
function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Minimal shape of the options util.inspect hands to a custom inspector. */
interface InspectOptionsLike {
  stylize?: (text: string, styleType: string) => string;
}

/** Stand-in for a bigint inside the inspection copy: inspects as bare `0x…` text. */
class HexBigInt {
  readonly #text: string;
  constructor(value: bigint) {
    this.#text = bigintToHex(value);
  }
  [INSPECT_CUSTOM](_depth: number, options: InspectOptionsLike): string {
    return typeof options?.stylize === 'function' ? options.stylize(this.#text, 'bigint') : this.#text;
  }
}

/**
 * Copy of `value` for display: bigints become {@link HexBigInt}, arrays and plain
 * objects are copied recursively (own enumerable string keys only, so the custom
 * inspector itself is not copied), everything else (Buffers, class instances…)
 * is kept as is. `seen` maps originals to copies so cycles stay cycles.
 */
function hexify(value: unknown, seen: Map<object, unknown>): unknown {
  if (typeof value === 'bigint') return new HexBigInt(value);
  if (value === null || typeof value !== 'object') return value;
  const done = seen.get(value);
  if (done !== undefined) return done;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (const item of value) copy.push(hexify(item, seen));
    return copy;
  }
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = Object.getPrototypeOf(value) === null ? Object.create(null) : {};
    seen.set(value, copy);
    for (const key of Object.keys(value)) copy[key] = hexify(value[key], seen);
    return copy;
  }
  return value;
}

/**
 * The custom inspector shared by every decorated object. It returns a display
 * copy (not a string), so util.inspect formats the copy in place with the
 * caller's depth, colours and indentation.
 */
function inspectWithHexKeys(this: object): unknown {
  return hexify(this, new Map());
}

/**
 * Make `obj` print readably under `util.inspect` / `console.log` / the REPL:
 * every bigint inside it (recursively through arrays and plain objects) is shown
 * as `0x…` hex, e.g. `{ generation: 3, keys: [ 0x1a2b ] }`.
 *
 * The inspector is attached in place as a non-enumerable
 * `Symbol.for('nodejs.util.inspect.custom')` property; nothing else changes:
 * values stay bigints, `Object.keys`, `JSON.stringify` and `structuredClone`
 * behave exactly as before. Nested class instances (other than arrays and
 * plain objects) are displayed by their own rules.
 *
 * @param obj The object (or array) to decorate.
 * @returns The same object, for chaining.
 * @example
 * const r = withHexInspect({ keys: [0x1a2bn] });
 * util.inspect(r); // "{ keys: [ 0x1a2b ] }"
 */
export function withHexInspect<T extends object>(obj: T): T {
  Object.defineProperty(obj, INSPECT_CUSTOM, {
    value: inspectWithHexKeys,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return obj;
}

/**
 * A JSON-serialisable copy of `value`, for `--json` output: bigints become hex
 * strings (`'0x1a2b'`, as `formatKey` writes them), Buffers and other
 * Uint8Arrays become plain lowercase hex strings without prefix (`'deadbeef'`),
 * arrays and objects are copied recursively (own enumerable string keys, as
 * `JSON.stringify` would see them). Everything else is returned unchanged.
 *
 * @param value Any value, typically a parser result.
 * @returns A value `JSON.stringify` accepts without throwing on bigints.
 * @throws TypeError on circular structures (as `JSON.stringify` would).
 * @example
 * JSON.stringify(toJSONSafe({ key: 0x1a2bn, raw: Buffer.from([0xde, 0xad]) }));
 * // '{"key":"0x1a2b","raw":"dead"}'
 */
export function toJSONSafe(value: unknown): unknown {
  return jsonSafe(value, new Set());
}

function jsonSafe(value: unknown, stack: Set<object>): unknown {
  if (typeof value === 'bigint') return bigintToHex(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (value instanceof Date) return value;
  if (stack.has(value)) throw new TypeError('toJSONSafe: circular structure');
  stack.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => jsonSafe(item, stack));
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) copy[key] = jsonSafe((value as Record<string, unknown>)[key], stack);
    return copy;
  } finally {
    stack.delete(value);
  }
}
