/**
 * Argument validation errors. They are thrown before any I/O happens and are
 * plain `TypeError` / `RangeError` instances (like Node's own ERR_INVALID_ARG_*),
 * carrying a string `code` so callers can branch without matching messages.
 */
import type { ErrorCode } from './error-codes';

/** Codes used on argument errors (a subset of {@link ErrorCode}). */
export type InvalidArgumentCode = Extract<ErrorCode, 'ERR_INVALID_KEY' | 'ERR_INVALID_RESERVATION_TYPE' | 'ERR_INVALID_OPTION' | 'ERR_INVALID_TRANSPORT_ID' | 'ERR_INVALID_PATH'>;

/** A TypeError with a `code`: the argument has the wrong type. */
export class ArgumentTypeError extends TypeError {
  /** Which kind of argument was refused. */
  readonly code: InvalidArgumentCode;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(code: InvalidArgumentCode, message: string) {
    super(message);
    this.name = 'ArgumentTypeError';
    this.code = code;
  }
}

/** A RangeError with a `code`: the argument has the right type but an unacceptable value. */
export class ArgumentRangeError extends RangeError {
  /** Which kind of argument was refused. */
  readonly code: InvalidArgumentCode;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(code: InvalidArgumentCode, message: string) {
    super(message);
    this.name = 'ArgumentRangeError';
    this.code = code;
  }
}

/** A short description of a rejected value for error messages: `"abc"`, `an array`, `number 1.5`, `null`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}
