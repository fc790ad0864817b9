/** Bytes written out in tests as hex text: `hex('5f 01 | 00 18')`; spaces, newlines and `|` are ignored. */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
}
