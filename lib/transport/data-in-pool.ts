/**
 * Reusable data-in buffers for commands whose response is parsed (copied out
 * into numbers, bigints, strings and fresh Buffers) before the call returns:
 * PR IN and INQUIRY. Nothing that leaves the library aliases a pooled buffer.
 *
 * Why: a fresh buffer per command is fresh memory per command. Where page
 * faults are expensive (User-Mode Linux: ~150 µs each) a 64 KiB READ FULL
 * STATUS buffer costs 16 faults, and every allocation feeds the garbage
 * collector; on a 64-LU fence that was the difference between a 30 ms and an
 * 80 ms verify phase in the lab.
 *
 * Rules for callers:
 *  - release a buffer only after the kernel handed the command back (a result
 *    was read); a command abandoned on timeout or abort may still be written
 *    by the kernel, so its buffer is simply dropped, never released;
 *  - copy anything that must outlive the call (errors' `result.data`) first.
 */

/** Per size class, at most this many bytes are kept free. */
const MAX_FREE_BYTES_PER_SIZE = 2 * 1024 * 1024;
const MAX_FREE_BUFFERS_PER_SIZE = 256;

const free = new Map<number, Buffer[]>();

/** A data-in buffer of exactly `length` bytes (contents undefined: only the bytes the kernel reports transferred may be read). */
export function acquireDataIn(length: number): Buffer {
  return free.get(length)?.pop() ?? Buffer.allocUnsafeSlow(length);
}

/** Give a buffer back once its command completed and its bytes were parsed. */
export function releaseDataIn(buffer: Buffer): void {
  const length = buffer.length;
  let list = free.get(length);
  if (!list) {
    list = [];
    free.set(length, list);
  }
  if (list.length < Math.min(MAX_FREE_BUFFERS_PER_SIZE, Math.max(1, Math.floor(MAX_FREE_BYTES_PER_SIZE / length)))) list.push(buffer);
}

/** Free buffers held per size (for tests and diagnostics). */
export function dataInPoolStats(): Record<number, number> {
  return Object.fromEntries([...free].map(([size, list]) => [size, list.length]));
}
