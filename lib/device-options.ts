/**
 * The options of `open` and of every `Device` call, and their checks. Every
 * check runs before any I/O and throws ArgumentTypeError / ArgumentRangeError
 * (`ERR_INVALID_OPTION`) whose message starts with the name of the API called
 * (`open: …`, `readKeys: …`, `execute: …`).
 */
import { ArgumentRangeError, ArgumentTypeError } from './invalid-argument';
import { validateRetryOptions, type RetryOptions } from './retry-policy';
import type { DataDirection } from './transport/scsi-transport';

/** Default per-command timeout. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Options of {@link open}. */
export interface OpenOptions {
  /** Default timeout of every command on this device (ms, default 30 000). */
  timeoutMs?: number;
  /** Retry limits for UNIT ATTENTION and BUSY / TASK SET FULL. */
  retries?: RetryOptions;
  /**
   * 'auto' (default): the sg node when there is one, else SG_IO on the block device.
   * 'sg': require an sg node (ERR_NO_SG_NODE otherwise). 'block': SG_IO ioctl on the
   * block device even when an sg node exists (needs CAP_SYS_RAWIO for PR commands).
   * 'block-pr': the kernel's block PR ioctls (IOC_PR_*) on the whole block device —
   * a SCSI disk, an NVMe namespace or a device-mapper map alike (a {@link BlockPrDevice});
   * 'auto' picks it for device-mapper maps (`/dev/dm-N`, `/dev/mapper/NAME`).
   */
  interface?: 'auto' | 'sg' | 'block' | 'block-pr';
}

/** Per-call options accepted by every device method. */
export interface CallOptions {
  /** Timeout of this command (ms); the kernel aborts it, and the call rejects with TimeoutError. */
  timeoutMs?: number;
  /**
   * Rejects the call with AbortError when aborted. A command already handed to the
   * kernel still runs to completion there (SCSI has no cancel from user space): only
   * the wait is abandoned.
   */
  signal?: AbortSignal;
}

/** A low-level command for `Device.execute`. */
export interface ExecuteRequest extends CallOptions {
  cdb: Buffer;
  direction: DataDirection;
  /** Data-out bytes (direction 'out'). */
  data?: Buffer;
  /** Size of the data-in buffer (direction 'in'). */
  allocationLength?: number;
}

const OPEN_OPTION_NAMES = ['timeoutMs', 'retries', 'interface'];

/** Validates the options of `open`; returns them with `retries` checked and `interface` defaulted. */
export function checkOpenOptions(options: OpenOptions): { retries: RetryOptions; interface: NonNullable<OpenOptions['interface']> } {
  if (options === null || typeof options !== 'object') throw new ArgumentTypeError('ERR_INVALID_OPTION', 'open: options must be an object');
  for (const k of Object.keys(options)) {
    if (!OPEN_OPTION_NAMES.includes(k)) throw new ArgumentRangeError('ERR_INVALID_OPTION', `open: unknown option "${k}" (allowed: ${OPEN_OPTION_NAMES.join(', ')})`);
  }
  checkCallOptions({ timeoutMs: options.timeoutMs }, 'open');
  const retries = validateRetryOptions(options.retries, 'open');
  const want = options.interface ?? 'auto';
  if (want !== 'auto' && want !== 'sg' && want !== 'block' && want !== 'block-pr') {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `open: interface must be 'auto', 'sg', 'block' or 'block-pr', got ${JSON.stringify(want)}`);
  }
  return { retries, interface: want };
}

const CALL_OPTION_NAMES = ['timeoutMs', 'signal'];

/**
 * Validates per-call options; `api` starts the messages. With `strict`, any other
 * option name is rejected (a typo such as `timeoutMS` must not silently fall back
 * to the default).
 */
export function checkCallOptions(o: CallOptions, api: string, strict = false): CallOptions {
  if (o === null || typeof o !== 'object') throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: options must be an object`);
  if (strict) {
    for (const k of Object.keys(o)) {
      if (!CALL_OPTION_NAMES.includes(k)) throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: unknown option "${k}" (allowed: ${CALL_OPTION_NAMES.join(', ')})`);
    }
  }
  const t = o.timeoutMs;
  if (t !== undefined && typeof t !== 'number') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: timeoutMs must be a number of milliseconds, got ${JSON.stringify(t) ?? typeof t} (${typeof t})`);
  }
  if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > 3_600_000)) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: timeoutMs must be an integer from 1 to 3600000 ms, got ${String(t)}`);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: signal must be an AbortSignal`);
  }
  return o;
}

/** Splits a PR OUT method's options into the action's own options and the checked call options. */
export function splitCallOptions(options: CallOptions, api: string): [object, CallOptions] {
  if (options === null || typeof options !== 'object') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: options must be an object`);
  }
  const { timeoutMs, signal, ...rest } = options;
  return [rest, checkCallOptions({ timeoutMs, signal }, api)];
}

const DIRECTIONS = ['none', 'in', 'out'];
/** Largest data-in buffer `execute` allocates (16 MiB). */
const MAX_TRANSFER = 16 * 1024 * 1024;

/** Validates an `execute` request; returns the size of the data-in buffer to allocate (0 unless direction 'in'). */
export function checkExecuteRequest(r: ExecuteRequest): number {
  if (r === null || typeof r !== 'object') throw new ArgumentTypeError('ERR_INVALID_OPTION', 'execute: request must be an object');
  if (!Buffer.isBuffer(r.cdb)) throw new ArgumentTypeError('ERR_INVALID_OPTION', 'execute: cdb must be a Buffer');
  if (r.cdb.length < 6 || r.cdb.length > 16) throw new ArgumentRangeError('ERR_INVALID_OPTION', `execute: cdb must be 6 to 16 bytes, got ${r.cdb.length}`);
  if (!DIRECTIONS.includes(r.direction)) throw new ArgumentRangeError('ERR_INVALID_OPTION', `execute: direction must be 'none', 'in' or 'out', got ${JSON.stringify(r.direction)}`);
  if (r.direction === 'in') {
    const n = r.allocationLength;
    if (typeof n !== 'number') throw new ArgumentTypeError('ERR_INVALID_OPTION', `execute: direction 'in' needs allocationLength (a number of bytes)`);
    if (!Number.isInteger(n) || n < 1 || n > MAX_TRANSFER) throw new ArgumentRangeError('ERR_INVALID_OPTION', `execute: allocationLength must be an integer from 1 to ${MAX_TRANSFER}, got ${n}`);
    if (r.data !== undefined) throw new ArgumentTypeError('ERR_INVALID_OPTION', `execute: data goes with direction 'out', not 'in'`);
    return n;
  }
  if (r.direction === 'out') {
    if (!Buffer.isBuffer(r.data) || r.data.length === 0) throw new ArgumentTypeError('ERR_INVALID_OPTION', `execute: direction 'out' needs data (a non-empty Buffer)`);
    if (r.allocationLength !== undefined) throw new ArgumentTypeError('ERR_INVALID_OPTION', `execute: allocationLength goes with direction 'in'`);
  } else if (r.data !== undefined || r.allocationLength !== undefined) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `execute: direction 'none' takes neither data nor allocationLength`);
  }
  return 0;
}

/** Validates the LBA and block count of `readBlocks` / `writeBlocks` (`api`). */
export function checkBlockRange(api: string, lba: unknown, blocks: unknown): void {
  if (typeof lba !== 'number') throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: lba must be a number, got ${typeof lba}`);
  if (!Number.isInteger(lba) || lba < 0 || lba > 0xffffffff) throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: lba must be an integer from 0 to 4294967295, got ${lba}`);
  if (typeof blocks !== 'number') throw new ArgumentTypeError('ERR_INVALID_OPTION', `${api}: blocks must be a number, got ${typeof blocks}`);
  if (!Number.isInteger(blocks) || blocks < 1 || blocks > 0xffff) throw new ArgumentRangeError('ERR_INVALID_OPTION', `${api}: blocks must be an integer from 1 to 65535, got ${blocks}`);
}
