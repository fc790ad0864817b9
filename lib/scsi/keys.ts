/**
 * Reservation keys: 64-bit values carried big-endian in PR OUT parameter lists
 * and PR IN responses. Parsing is strict on purpose — sg_persist silently turns
 * `abc xyz` into 0xabc and 17+ hex digits into all-ones; scsi-pr refuses both.
 */
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';

/** Largest reservation key, 2^64 − 1. */
const MAX_KEY = 0xffff_ffff_ffff_ffffn;

/** 1–16 hex digits, optionally prefixed with `0x` / `0X`; nothing else. */
const HEX_KEY = /^(?:0[xX])?[0-9a-fA-F]{1,16}$/;

/**
 * Anything accepted where a reservation key is expected.
 *
 * - `bigint`: 0 … 2^64 − 1
 * - `string`: 1–16 hex digits, optional `0x`/`0X` prefix (always hexadecimal,
 *   like sg_persist's `--param-rk`; `"10"` is 0x10)
 * - `number`: a safe non-negative integer (≤ 2^53 − 1)
 * - `Buffer` / `Uint8Array`: exactly 8 bytes, big-endian
 */
export type KeyInput = bigint | string | number | Buffer | Uint8Array;

/**
 * Parses and validates a reservation key.
 *
 * @param input The key in any {@link KeyInput} form.
 * @param name  Option name used in error messages (default `'key'`).
 * @returns The key as an unsigned 64-bit `bigint`.
 * @throws ArgumentTypeError (`ERR_INVALID_KEY`) when `input` has an unsupported type.
 * @throws ArgumentRangeError (`ERR_INVALID_KEY`) when the value is not a valid 64-bit key.
 *
 * @example
 * parseKey('0x1a2b')   // 0x1a2bn
 * parseKey('abc xyz')  // throws ArgumentRangeError
 */
export function parseKey(input: KeyInput, name = 'key'): bigint {
  if (typeof input === 'bigint') {
    if (input < 0n || input > MAX_KEY) {
      throw new ArgumentRangeError('ERR_INVALID_KEY', `${name} ${input}n is out of range; expected a bigint 0–2^64-1`);
    }
    return input;
  }
  if (typeof input === 'string') {
    if (!HEX_KEY.test(input)) {
      throw new ArgumentRangeError(
        'ERR_INVALID_KEY',
        `${name} ${quote(input)} is not a hex string of 1–16 digits (optionally 0x-prefixed)`,
      );
    }
    const digits = input.startsWith('0x') || input.startsWith('0X') ? input.slice(2) : input;
    return BigInt('0x' + digits);
  }
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) {
      throw new ArgumentRangeError(
        'ERR_INVALID_KEY',
        `${name} ${String(input)} is not a safe non-negative integer; pass a bigint or hex string for larger keys`,
      );
    }
    return BigInt(input);
  }
  if (input instanceof Uint8Array) {
    // Buffer is a Uint8Array subclass.
    if (input.length !== 8) {
      throw new ArgumentRangeError('ERR_INVALID_KEY', `${name} buffer has ${input.length} bytes; expected exactly 8 (big-endian)`);
    }
    return Buffer.from(input.buffer, input.byteOffset, 8).readBigUInt64BE(0);
  }
  throw new ArgumentTypeError(
    'ERR_INVALID_KEY',
    `${name} must be a bigint, hex string, safe integer or 8-byte Buffer; received ${describeType(input)}`,
  );
}

/**
 * Formats a key the way sg_persist prints it: `0x` + lowercase hex without padding.
 *
 * @example formatKey(0x1a2bn) // '0x1a2b'
 * @throws ArgumentRangeError (`ERR_INVALID_KEY`) when `key` is outside 0 … 2^64 − 1.
 */
export function formatKey(key: bigint): string {
  checkKeyRange(key);
  return '0x' + key.toString(16);
}

/**
 * Encodes a key as 8 big-endian bytes.
 *
 * @throws ArgumentRangeError (`ERR_INVALID_KEY`) when `key` is outside 0 … 2^64 − 1.
 */
export function keyToBuffer(key: bigint): Buffer {
  checkKeyRange(key);
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64BE(key, 0);
  return buf;
}

/**
 * Reads a big-endian 64-bit key from `buf` at `offset`.
 * Callers are expected to have checked the length; reading past the end throws
 * Node's own `RangeError` (`ERR_OUT_OF_RANGE` / `ERR_BUFFER_OUT_OF_BOUNDS`).
 */
export function readKey(buf: Buffer, offset: number): bigint {
  return buf.readBigUInt64BE(offset);
}

function checkKeyRange(key: bigint): void {
  if (typeof key !== 'bigint') {
    throw new ArgumentTypeError('ERR_INVALID_KEY', `key must be a bigint; received ${describeType(key)}`);
  }
  if (key < 0n || key > MAX_KEY) {
    throw new ArgumentRangeError('ERR_INVALID_KEY', `key ${key}n is out of range; expected 0–2^64-1`);
  }
}

function quote(s: string): string {
  const shown = s.length > 40 ? s.slice(0, 40) + '…' : s;
  return JSON.stringify(shown);
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `type ${typeof v}`;
}
