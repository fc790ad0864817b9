/**
 * The shared watchdog: fires after `ms` and before `ms` + 2 s (never early,
 * whenever in the ticker's second it was armed), cancels, one timer for any
 * number of watches, no timer once nothing is watched. Fresh module per test
 * (its ticker is module state) on fake timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

let watch: typeof import('../../../lib/transport/watchdog').watch;

beforeEach(async () => {
  vi.useFakeTimers();
  vi.resetModules();
  ({ watch } = await import('../../../lib/transport/watchdog'));
});

afterEach(() => {
  vi.useRealTimers();
});

describe('watch', () => {
  it.each([1, 999, 1000, 1500, 2100, 30_000])('fires after %i ms and within 2 s more', async (ms) => {
    let fired = 0;
    watch(ms, () => fired++);
    await vi.advanceTimersByTimeAsync(ms);
    expect(fired).toBe(0);
    await vi.advanceTimersByTimeAsync(2000);
    expect(fired).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fired).toBe(1);
  });

  it('is never early for a watch armed late in the ticker second', async () => {
    const stop = watch(60_000, () => undefined); // starts the ticker
    await vi.advanceTimersByTimeAsync(999);
    let fired = false;
    watch(1000, () => (fired = true));
    await vi.advanceTimersByTimeAsync(1000);
    expect(fired).toBe(false);
    await vi.advanceTimersByTimeAsync(2000);
    expect(fired).toBe(true);
    stop();
  });

  it('does not fire once cancelled', async () => {
    let fired = false;
    const cancel = watch(500, () => (fired = true));
    await vi.advanceTimersByTimeAsync(400);
    cancel();
    await vi.advanceTimersByTimeAsync(5000);
    expect(fired).toBe(false);
  });

  it('runs one timer for any number of watches, and none once nothing is watched', async () => {
    const cancels = Array.from({ length: 200 }, (_, i) => watch(1000 + i, () => undefined));
    expect(vi.getTimerCount()).toBe(1);
    for (const c of cancels.slice(0, 100)) c();
    await vi.advanceTimersByTimeAsync(3500); // the other 100 expire
    expect(vi.getTimerCount()).toBe(0);
  });
});
