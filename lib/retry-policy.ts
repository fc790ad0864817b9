/**
 * When a failed command is tried again. Pure: given the error and how many
 * attempts of each kind were made, say whether and after how long to retry.
 * UNIT ATTENTION is retried at once (the UA itself is the report, the command
 * never ran); BUSY and TASK SET FULL are retried with exponential backoff.
 * Everything else surfaces.
 */
import { isRetryableBusy, isUnitAttention } from './scsi/classify';
import { ArgumentRangeError, ArgumentTypeError } from './invalid-argument';

/** Retry limits. Set a count to 0 to surface that condition to the caller. */
export interface RetryOptions {
  /** UNIT ATTENTIONs absorbed per command (default 5). */
  unitAttention?: number;
  /** BUSY / TASK SET FULL retries per command (default 5). */
  busy?: number;
  /** First backoff for BUSY, doubled each time (default 10 ms, capped at 1 s). */
  busyBackoffMs?: number;
}

/** Defaults used when a field is not given. */
export const DEFAULT_RETRY: Required<RetryOptions> = Object.freeze({ unitAttention: 5, busy: 5, busyBackoffMs: 10 });

/** Attempts made so far for one command. */
export interface RetryState {
  unitAttentions: number;
  busy: number;
}

/** The decision: retry after `delayMs`, or give up. */
export type RetryDecision = { retry: true; delayMs: number; kind: 'unit-attention' | 'busy' } | { retry: false };

/** Decide whether `error` is retried given `state` (not modified). */
export function retryDecision(error: unknown, state: RetryState, options: RetryOptions = {}): RetryDecision {
  const o = { ...DEFAULT_RETRY, ...options };
  if (isUnitAttention(error) && state.unitAttentions < o.unitAttention) return { retry: true, delayMs: 0, kind: 'unit-attention' };
  if (isRetryableBusy(error) && state.busy < o.busy) {
    return { retry: true, delayMs: Math.min(1000, o.busyBackoffMs * 2 ** state.busy), kind: 'busy' };
  }
  return { retry: false };
}

/** Validate user retry options (before any I/O). */
export function validateRetryOptions(options: unknown, where: string): RetryOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new ArgumentTypeError('ERR_INVALID_OPTION', `${where}: retries must be an object`);
  for (const [k, v] of Object.entries(options)) {
    if (!(k in DEFAULT_RETRY)) throw new ArgumentRangeError('ERR_INVALID_OPTION', `${where}: unknown retries option "${k}" (allowed: ${Object.keys(DEFAULT_RETRY).join(', ')})`);
    if (typeof v !== 'number') throw new ArgumentTypeError('ERR_INVALID_OPTION', `${where}: retries.${k} must be a number, got ${JSON.stringify(v) ?? typeof v} (${typeof v})`);
    if (!Number.isInteger(v) || v < 0 || v > 1000) throw new ArgumentRangeError('ERR_INVALID_OPTION', `${where}: retries.${k} must be an integer 0..1000, got ${v}`);
  }
  return options as RetryOptions;
}
