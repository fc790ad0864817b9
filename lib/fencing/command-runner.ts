/**
 * How discovery runs a command (`vgs`): an argument array, no shell, a
 * timeout. Injectable, so tests and callers can run it differently (a fake
 * report, another environment).
 */
import { execFile, type ExecFileException } from 'node:child_process';

/** What a {@link Runner} reports for a process that ran. */
export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status; `null` when the process was ended by a signal. */
  exitCode: number | null;
  /** The signal that ended the process, if any. */
  signal?: NodeJS.Signals | null;
}

/** Options handed to a {@link Runner}. */
export interface RunOptions {
  /** Kill the process (SIGKILL) after this many milliseconds. */
  timeoutMs: number;
  /** Environment of the process. */
  env: NodeJS.ProcessEnv;
}

/**
 * Runs `file` with `args` (no shell). Resolves for every process that ran,
 * whatever its exit status; rejects with an errno-style Error (`code`
 * `'ENOENT'`, `'EACCES'`, …) when it could not be started, and with code
 * `'ETIMEDOUT'` when it was killed by the timeout.
 */
export type Runner = (file: string, args: readonly string[], options: RunOptions) => Promise<RunResult>;

/** The default {@link Runner}: `child_process.execFile`, UTF-8, 16 MiB output limit. */
export const execFileRunner: Runner = (file, args, options) =>
  new Promise<RunResult>((resolve, reject) => {
    execFile(
      file,
      [...args],
      { timeout: options.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', env: options.env, windowsHide: true },
      (error: ExecFileException | null, stdout: string, stderr: string) => {
        if (!error) {
          resolve({ stdout, stderr, exitCode: 0, signal: null });
          return;
        }
        if (typeof error.code === 'number') {
          resolve({ stdout, stderr, exitCode: error.code, signal: null });
          return;
        }
        if (error.killed && error.code == null) {
          reject(Object.assign(new Error(`${file} did not finish within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
          return;
        }
        if (error.code == null && error.signal) {
          resolve({ stdout, stderr, exitCode: null, signal: error.signal });
          return;
        }
        reject(error);
      },
    );
  });
