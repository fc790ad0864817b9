/**
 * fence_scsi_pr's logging: fence-agents style lines on stderr
 * (`2026-01-02 03:04:05,678 ERROR: Failed: …`, Pacemaker copies an agent's
 * stderr into its log) — warnings and errors only, info and debug too with
 * `verbose` (fence-agents' root logger level is WARNING unless verbose) — plus
 * optional append-only files: `logfile` (info and up, debug too with
 * `verbose`) and `debug_file` (everything). File lines carry
 * an ISO timestamp, the pid and the action so concurrent calls stay readable.
 */
import { appendFileSync } from 'node:fs';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

/** Where log lines go. */
export interface AgentLogOptions {
  verbose: boolean;
  quiet: boolean;
  logfile?: string;
  debugFile?: string;
  action?: string;
  /** Sink for stderr lines (default process.stderr). */
  stderr?: (text: string) => void;
  /** Clock (tests). */
  now?: () => Date;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Python logging's default `asctime`: local time `YYYY-MM-DD HH:MM:SS,mmm`. */
export function asctime(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`;
}

/** The agent's logger. Never throws: a log file that cannot be written is reported once on stderr. */
export class AgentLog {
  private readonly o: AgentLogOptions;
  private readonly broken = new Set<string>();
  /** Lines logged at ERROR (the last one is the agent's failure reason). */
  readonly errors: string[] = [];

  constructor(options: AgentLogOptions) {
    this.o = options;
  }

  get verbose(): boolean {
    return this.o.verbose;
  }

  debug(msg: string): void {
    this.emit('DEBUG', msg);
  }
  info(msg: string): void {
    this.emit('INFO', msg);
  }
  warn(msg: string): void {
    this.emit('WARNING', msg);
  }
  error(msg: string): void {
    this.errors.push(msg);
    this.emit('ERROR', msg);
  }

  /** A result line the agent prints on stdout; also recorded in the log files. */
  result(msg: string): void {
    this.toFiles('INFO', msg, true);
  }

  private emit(level: LogLevel, msg: string): void {
    const now = (this.o.now ?? (() => new Date()))();
    if (!this.o.quiet && (level === 'WARNING' || level === 'ERROR' || this.o.verbose)) {
      (this.o.stderr ?? ((t: string) => process.stderr.write(t)))(`${asctime(now)} ${level}: ${msg}\n`);
    }
    this.toFiles(level, msg, level !== 'DEBUG' || this.o.verbose, now);
  }

  private toFiles(level: LogLevel, msg: string, toLogfile: boolean, now = (this.o.now ?? (() => new Date()))()): void {
    const line = `${now.toISOString()} fence_scsi_pr[${process.pid}]${this.o.action ? ` ${this.o.action}` : ''} ${level}: ${msg}\n`;
    if (this.o.logfile && toLogfile) this.append(this.o.logfile, line);
    if (this.o.debugFile && this.o.debugFile !== this.o.logfile) this.append(this.o.debugFile, line);
  }

  private append(file: string, line: string): void {
    if (this.broken.has(file)) return;
    try {
      appendFileSync(file, line, { mode: 0o640 });
    } catch (e) {
      this.broken.add(file);
      if (!this.o.quiet) {
        (this.o.stderr ?? ((t: string) => process.stderr.write(t)))(`${asctime(new Date())} WARNING: Unable to write log file ${file}: ${(e as Error).message}\n`);
      }
    }
  }
}
