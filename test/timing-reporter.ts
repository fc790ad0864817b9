/**
 * Vitest reporter (runs in vitest's main process, beside the default reporter):
 *  - at the end of a run, one line per test file with its time, slowest first, and
 *    the run's wall time, so a slow machine is visible in the log;
 *  - every stall of the main process's event loop of 5 s or more, as it happens.
 *    The workers' RPC calls to this process time out after 60 s; a main process that
 *    cannot answer would make them fail. (Stalls of the workers themselves are
 *    watched by test/lab/event-loop-watch.ts.)
 */
import type { Reporter, TestModule } from 'vitest/node';
import { relative } from 'node:path';

const TICK_MS = 500;
const REPORT_MS = 5_000;

export default class TimingReporter implements Reporter {
  private started = 0;
  private timer: NodeJS.Timeout | undefined;
  private worstStallMs = 0;

  onTestRunStart(): void {
    this.started = Date.now();
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const stall = now - last - TICK_MS;
      last = now;
      this.worstStallMs = Math.max(this.worstStallMs, stall);
      if (stall >= REPORT_MS) process.stdout.write(`[vitest main] event loop blocked ${(stall / 1000).toFixed(1)} s\n`);
    }, TICK_MS);
    this.timer.unref();
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    clearInterval(this.timer);
    if (modules.length === 0) return;
    const rows = modules
      .map((m) => ({ file: relative(process.cwd(), m.moduleId), project: m.project.name, ms: m.diagnostic().duration, state: m.state() }))
      .sort((a, b) => b.ms - a.ms);
    const width = Math.max(...rows.map((r) => r.file.length));
    const lines = rows.map((r) => `  ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${r.file.padEnd(width)}  ${r.project}${r.state === 'passed' ? '' : `  (${r.state})`}`);
    const total = rows.reduce((s, r) => s + r.ms, 0);
    process.stdout.write(
      `\nTime per test file (${rows.length} files, ${(total / 1000).toFixed(1)} s in tests, ${((Date.now() - this.started) / 1000).toFixed(1)} s wall; ` +
        `longest stall of vitest's main event loop ${(this.worstStallMs / 1000).toFixed(1)} s):\n${lines.join('\n')}\n`,
    );
  }
}
