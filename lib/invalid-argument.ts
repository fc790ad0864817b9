/**
 * Argument validation errors. They are thrown before any I/O happens and are
 * plain `TypeError` / `RangeError` instances (like Node's own ERR_INVALID_ARG_*),
 * carrying a string `code` so callers can branch without matching messages.
 */

/** Codes used on argument errors. */
export type InvalidArgumentCode =
  | 'ERR_INVALID_KEY'
  | 'ERR_INVALID_RESERVATION_TYPE'
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_TRANSPORT_ID'
  | 'ERR_INVALID_PATH';

/** A TypeError with a `code`: the argument has the wrong type. */
export class ArgumentTypeError extends TypeError {
  readonly code: InvalidArgumentCode;
  constructor(code: InvalidArgumentCode, message: string) {
    super(message);
    this.name = 'ArgumentTypeError';
    this.code = code;
  }
}

/** A RangeError with a `code`: the argument has the right type but an unacceptable value. */
export class ArgumentRangeError extends RangeError {
  readonly code: InvalidArgumentCode;
  constructor(code: InvalidArgumentCode, message: string) {
    super(message);
    this.name = 'ArgumentRangeError';
    this.code = code;
  }
}
