/**
 * How byte-sized codes are written in names and messages: `0x` and at least
 * two lower-case hex digits (`0x05`, `0x2a`, `0x123`).
 */

/** `0x` + `n` in hex, zero-padded to two digits (`hex2(5)` → `'0x05'`). */
export function hex2(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(2, '0')}`;
}
