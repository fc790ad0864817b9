import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { md5Hex } from '../../../lib/fencing/md5';

const md5 = (s: string): string => createHash('md5').update(Buffer.from(s, 'ascii')).digest('hex');

describe('md5Hex (node:crypto, and the built-in fallback for FIPS hosts)', () => {
  it('RFC 1321 test vectors, both implementations', () => {
    const vectors: Array<[string, string]> = [
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['a', '0cc175b9c0f1b6a831c399e269772661'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
      ['1234567890'.repeat(8), '57edf4a22be3c955ac49da2e2107b67a'],
    ];
    for (const [input, digest] of vectors) {
      expect(md5Hex(input)).toBe(digest);
      expect(md5Hex(input, true)).toBe(digest);
    }
  });

  it('the built-in implementation matches node:crypto across block boundaries', () => {
    for (let n = 0; n <= 200; n++) {
      const s = Array.from({ length: n }, (_, i) => String.fromCharCode(33 + ((i * 7 + n) % 94))).join('');
      expect(md5Hex(s, true), `length ${n}`).toBe(md5(s));
    }
  });
});
