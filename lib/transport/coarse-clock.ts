/**
 * The library's millisecond clock: monotonic (process.hrtime based), read
 * either now ({@link monotonicMs}) or at most once per event-loop turn
 * ({@link coarseNow}).
 *
 * Multi-device operations time every device's steps. Reading the clock per
 * device costs a system call each where there is no vDSO (User-Mode Linux:
 * ~60 µs a read, 64 reads per fence); completions that arrive in the same
 * loop turn share one reading instead. Resolution is therefore "the turn the
 * step finished in", which is what a per-device duration needs.
 */
let cached: number | undefined;

function expire(): void {
  cached = undefined;
}

/** Monotonic milliseconds (process.hrtime based), read at this call. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** {@link monotonicMs}, shared by every caller within one event-loop turn. */
export function coarseNow(): number {
  if (cached === undefined) {
    cached = monotonicMs();
    setImmediate(expire);
  }
  return cached;
}
