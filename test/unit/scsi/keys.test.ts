import { describe, it, expect } from 'vitest';
import { parseKey, formatKey, keyToBuffer, readKey, type KeyInput } from '../../../lib/scsi/keys';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { thrown } from '../support/thrown';

const MAX = 2n ** 64n - 1n;

describe('parseKey — valid inputs', () => {
  const valid: Array<[string, KeyInput, bigint]> = [
    ['hex "0"', '0', 0n],
    ['hex "0x0"', '0x0', 0n],
    ['hex lowercase', '1a2b', 0x1a2bn],
    ['hex 0X uppercase', '0X1A2B', 0x1a2bn],
    ['hex is hex, not decimal', '10', 16n],
    ['16 digits all-ones', 'ffffffffffffffff', MAX],
    ['0x + 16 digits', '0xFFFFFFFFFFFFFFFF', MAX],
    ['16 digits leading zeros', '0000000000000001', 1n],
    ['"1e3" is hex', '1e3', 0x1e3n],
    ['bigint 0', 0n, 0n],
    ['bigint max', MAX, MAX],
    ['number 0', 0, 0n],
    ['number 123', 123, 123n],
    ['number MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER, 9007199254740991n],
    ['Buffer 8 bytes BE', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), 0x0102030405060708n],
    ['Buffer all ff', Buffer.alloc(8, 0xff), MAX],
    ['Uint8Array 8 bytes', new Uint8Array([0, 0, 0, 0, 0, 0, 0x12, 0x34]), 0x1234n],
  ];
  for (const [label, input, expected] of valid) {
    it(label, () => {
      expect(parseKey(input)).toBe(expected);
    });
  }

  it('respects the byteOffset of a Uint8Array view', () => {
    const backing = new Uint8Array([0xaa, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0x2a, 0xcc]);
    expect(parseKey(backing.subarray(2, 10))).toBe(0x2an);
  });
});

describe('parseKey — invalid inputs', () => {
  const rangeCases: Array<[string, unknown]> = [
    ['space inside ("abc xyz")', 'abc xyz'],
    ['empty string', ''],
    ['bare 0x', '0x'],
    ['17 hex digits', '1ffffffffffffffff'],
    ['0x + 17 hex digits', '0x1ffffffffffffffff'],
    ['leading space', ' 1'],
    ['trailing space', '1 '],
    ['trailing newline', 'abc\n'],
    ['minus sign', '-1'],
    ['plus sign', '+1'],
    ['underscore separator', '1_000'],
    ['non-hex letter', 'g'],
    ['0x then junk', '0xg'],
    ['0x-1', '0x-1'],
    ['double prefix', '00x1'],
    ['octal prefix', '0o17'],
    ['fullwidth digit', '１'],
    ['negative bigint', -1n],
    ['bigint 2^64', 2n ** 64n],
    ['negative number', -1],
    ['fractional number', 1.5],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['2^53 (unsafe)', 2 ** 53],
    ['7-byte Buffer', Buffer.alloc(7)],
    ['9-byte Buffer', Buffer.alloc(9)],
    ['empty Uint8Array', new Uint8Array(0)],
  ];
  for (const [label, input] of rangeCases) {
    it(`${label} → ArgumentRangeError ERR_INVALID_KEY`, () => {
      const e = thrown(() => parseKey(input as KeyInput));
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e).toBeInstanceOf(RangeError);
      expect(e.code).toBe('ERR_INVALID_KEY');
    });
  }

  const typeCases: Array<[string, unknown]> = [
    ['null', null],
    ['undefined', undefined],
    ['boolean', true],
    ['plain object', {}],
    ['array of bytes', [1, 2, 3, 4, 5, 6, 7, 8]],
    ['function', () => 1],
    ['symbol', Symbol('k')],
  ];
  for (const [label, input] of typeCases) {
    it(`${label} → ArgumentTypeError ERR_INVALID_KEY`, () => {
      const e = thrown(() => parseKey(input as KeyInput));
      expect(e).toBeInstanceOf(ArgumentTypeError);
      expect(e).toBeInstanceOf(TypeError);
      expect(e.code).toBe('ERR_INVALID_KEY');
    });
  }

  it('names the option and says what is accepted', () => {
    expect(thrown(() => parseKey('abc xyz')).message).toBe(
      'key "abc xyz" is not a hex string of 1–16 digits (optionally 0x-prefixed)',
    );
    expect(thrown(() => parseKey('zz', 'newKey')).message).toMatch(/^newKey "zz" is not a hex string/);
    expect(thrown(() => parseKey(null as unknown as KeyInput, 'preemptKey')).message).toMatch(/^preemptKey must be/);
  });
});

describe('formatKey', () => {
  it('prints 0x + lowercase hex without padding, like sg_persist', () => {
    expect(formatKey(0n)).toBe('0x0');
    expect(formatKey(0x1a2bn)).toBe('0x1a2b');
    expect(formatKey(0xabn)).toBe('0xab');
    expect(formatKey(0x123abcn)).toBe('0x123abc');
    expect(formatKey(MAX)).toBe('0xffffffffffffffff');
  });
  it('round-trips through parseKey', () => {
    for (const k of [0n, 1n, 0x1a2bn, 0xdeadbeefcafef00dn, MAX]) expect(parseKey(formatKey(k))).toBe(k);
  });
  it('rejects out-of-range keys', () => {
    for (const k of [-1n, 2n ** 64n]) {
      const e = thrown(() => formatKey(k));
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e.code).toBe('ERR_INVALID_KEY');
    }
  });
});

describe('keyToBuffer / readKey', () => {
  it('encodes 8 bytes big-endian', () => {
    expect(keyToBuffer(0x0102030405060708n)).toEqual(Buffer.from('0102030405060708', 'hex'));
    expect(keyToBuffer(0n)).toEqual(Buffer.from('0000000000000000', 'hex'));
    expect(keyToBuffer(0x123abcn)).toEqual(Buffer.from('0000000000123abc', 'hex'));
    expect(keyToBuffer(MAX)).toEqual(Buffer.from('ffffffffffffffff', 'hex'));
  });
  it('rejects out-of-range keys', () => {
    for (const k of [-1n, 2n ** 64n]) {
      const e = thrown(() => keyToBuffer(k));
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e.code).toBe('ERR_INVALID_KEY');
    }
  });
  it('reads a key at an offset', () => {
    const buf = Buffer.from('ffff' + '0000000000123abc' + 'ee', 'hex');
    expect(readKey(buf, 2)).toBe(0x123abcn);
  });
  it('refuses to read past the end', () => {
    expect(() => readKey(Buffer.alloc(10), 3)).toThrow(RangeError);
  });
});
