/**
 * MD5 of ASCII names, for fence_scsi-compatible keys: node:crypto where the
 * OpenSSL build allows MD5, a built-in RFC 1321 implementation where it does
 * not (FIPS mode). MD5 is only a name hash here, as in fence_scsi.
 */
import { createHash } from 'node:crypto';

let nativeMd5 = true;

/**
 * MD5 of an ASCII string as 32 lowercase hex digits; node:crypto first, the
 * built-in implementation when MD5 is unavailable (FIPS OpenSSL) or when
 * `pure` is set.
 */
export function md5Hex(text: string, pure = false): string {
  const data = Buffer.from(text, 'latin1');
  if (!pure && nativeMd5) {
    try {
      return createHash('md5').update(data).digest('hex');
    } catch {
      nativeMd5 = false;
    }
  }
  return md5Pure(data);
}

const MD5_SHIFT = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const MD5_K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

/** RFC 1321 MD5. */
function md5Pure(message: Buffer): string {
  const padded = Buffer.alloc((((message.length + 8) >> 6) + 1) * 64);
  message.copy(padded);
  padded[message.length] = 0x80;
  const bits = BigInt(message.length) * 8n;
  padded.writeBigUInt64LE(bits & 0xffff_ffff_ffff_ffffn, padded.length - 8);
  let a0 = 0x67452301, b0 = 0xefcdab89, c0 = 0x98badcfe, d0 = 0x10325476;
  const w = new Array<number>(16);
  for (let off = 0; off < padded.length; off += 64) {
    for (let j = 0; j < 16; j++) w[j] = padded.readUInt32LE(off + 4 * j);
    let a = a0, b = b0, c = c0, d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const sum = ((f >>> 0) + a + MD5_K[i]! + w[g]!) >>> 0;
      const s = MD5_SHIFT[(i >> 4) * 4 + (i & 3)]!;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << s) | (sum >>> (32 - s)))) >>> 0;
    }
    a0 = (a0 + a) >>> 0;
    b0 = (b0 + b) >>> 0;
    c0 = (c0 + c) >>> 0;
    d0 = (d0 + d) >>> 0;
  }
  const out = Buffer.alloc(16);
  out.writeUInt32LE(a0, 0);
  out.writeUInt32LE(b0, 4);
  out.writeUInt32LE(c0, 8);
  out.writeUInt32LE(d0, 12);
  return out.toString('hex');
}
