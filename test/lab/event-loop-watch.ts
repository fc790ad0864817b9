/**
 * Lab setup file: watches the test worker's event loop and reports every stall.
 *
 * Vitest's worker talks to the main process over an RPC whose calls time out
 * after 60 s. The timeout is a timer in the worker: if the worker's event loop
 * is blocked (synchronous child processes, Atomics.wait) for longer than that,
 * the timer fires before the already-arrived answer is read, and the run fails
 * with `Timeout calling "onTaskUpdate"` even though every test passed.
 * Lab tests therefore must not block the event loop for long; this file makes
 * any test that does visible in the log, and fails the test whose stall comes
 * close to the RPC limit, naming it (instead of a nameless unhandled error at
 * the end of the run).
 */
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import { basename } from 'node:path';

/** Stalls at least this long are printed. */
const REPORT_MS = 5_000;
/** A stall this long fails the test that caused it: vitest's RPC gives up at 60 s. */
const FAIL_MS = 30_000;
const TICK_MS = 250;

let current = '(between tests)';
let worstInTest = 0;
let worstInFile = { ms: 0, where: '' };
let last = performance.now();

const timer = setInterval(() => {
  const now = performance.now();
  const stall = now - last - TICK_MS;
  last = now;
  if (stall > worstInTest) worstInTest = stall;
  if (stall > worstInFile.ms) worstInFile = { ms: stall, where: current };
  if (stall >= REPORT_MS) console.warn(`[event-loop] blocked ${(stall / 1000).toFixed(1)} s during: ${current}`);
}, TICK_MS);
timer.unref();

beforeEach((ctx) => {
  current = `${basename(ctx.task.file?.filepath ?? '')} > ${ctx.task.name}`;
  worstInTest = 0;
  last = performance.now();
});

afterEach(() => {
  // A stall that ended with the test has not been sampled yet: sample now.
  const stall = performance.now() - last - TICK_MS;
  if (stall > worstInTest) worstInTest = stall;
  const worst = worstInTest;
  current = '(between tests)';
  expect(worst, `the test blocked the worker's event loop for ${(worst / 1000).toFixed(1)} s (limit ${FAIL_MS / 1000} s): use async child processes`).toBeLessThan(FAIL_MS);
});

afterAll(() => {
  if (worstInFile.ms >= 1_000) console.warn(`[event-loop] longest stall in this file: ${(worstInFile.ms / 1000).toFixed(1)} s (${worstInFile.where})`);
});
