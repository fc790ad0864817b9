/** retryDecision() and validateRetryOptions(): which failures are retried, how often, after how long. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, retryDecision, validateRetryOptions } from '../../lib/retry-policy';
import { ReservationConflictError, ScsiSenseError, ScsiStatusError, TimeoutError, TransportError } from '../../lib/errors';
import { ArgumentRangeError, ArgumentTypeError } from '../../lib/invalid-argument';
import { decodeSense } from '../../lib/scsi/sense';
import { fixedSense } from './support/spc-bytes';

const sense = (key: number, asc: number, ascq: number) => new ScsiSenseError('x', decodeSense(fixedSense(key, asc, ascq))!);
const UA = sense(0x6, 0x2a, 0x03);
const NOT_READY = sense(0x2, 0x04, 0x01);
const BUSY = new ScsiStatusError('x', { status: 0x08, statusName: 'BUSY' });
const TASK_SET_FULL = new ScsiStatusError('x', { status: 0x28, statusName: 'TASK SET FULL' });
const ACA_ACTIVE = new ScsiStatusError('x', { status: 0x30, statusName: 'ACA ACTIVE' });

describe('retryDecision', () => {
  it('retries a UNIT ATTENTION at once, up to the limit (default 5)', () => {
    expect(DEFAULT_RETRY.unitAttention).toBe(5);
    for (let n = 0; n < 5; n++) expect(retryDecision(UA, { unitAttentions: n, busy: 0 })).toEqual({ retry: true, delayMs: 0, kind: 'unit-attention' });
    expect(retryDecision(UA, { unitAttentions: 5, busy: 0 })).toEqual({ retry: false });
    expect(retryDecision(UA, { unitAttentions: 2, busy: 0 }, { unitAttention: 2 })).toEqual({ retry: false });
    expect(retryDecision(UA, { unitAttentions: 0, busy: 0 }, { unitAttention: 0 })).toEqual({ retry: false });
  });

  it('retries BUSY and TASK SET FULL with doubling backoff from busyBackoffMs, capped at 1 s, up to the limit', () => {
    const delays = [0, 1, 2, 3, 4].map((n) => retryDecision(BUSY, { unitAttentions: 0, busy: n }));
    expect(delays).toEqual([10, 20, 40, 80, 160].map((delayMs) => ({ retry: true, delayMs, kind: 'busy' })));
    expect(retryDecision(BUSY, { unitAttentions: 0, busy: 5 })).toEqual({ retry: false });
    expect(retryDecision(TASK_SET_FULL, { unitAttentions: 0, busy: 1 }, { busyBackoffMs: 3 })).toEqual({ retry: true, delayMs: 6, kind: 'busy' });
    expect(retryDecision(BUSY, { unitAttentions: 0, busy: 9 }, { busy: 20, busyBackoffMs: 10 })).toEqual({ retry: true, delayMs: 1000, kind: 'busy' });
    expect(retryDecision(BUSY, { unitAttentions: 0, busy: 0 }, { busy: 0 })).toEqual({ retry: false });
  });

  it('counts each kind against its own limit', () => {
    expect(retryDecision(UA, { unitAttentions: 0, busy: 5 })).toMatchObject({ retry: true });
    expect(retryDecision(BUSY, { unitAttentions: 5, busy: 0 })).toMatchObject({ retry: true });
  });

  it('never retries anything else', () => {
    for (const e of [NOT_READY, ACA_ACTIVE, new ReservationConflictError('x'), new TimeoutError('x', 1), new TransportError('x', { hostStatus: 1, driverStatus: 0, hostStatusName: 'DID_NO_CONNECT' }), new Error('bug')]) {
      expect(retryDecision(e, { unitAttentions: 0, busy: 0 })).toEqual({ retry: false });
    }
  });
});

describe('validateRetryOptions', () => {
  it('accepts undefined and integer limits 0..1000', () => {
    expect(validateRetryOptions(undefined, 'open')).toEqual({});
    expect(validateRetryOptions({ unitAttention: 0, busy: 1000, busyBackoffMs: 1 }, 'open')).toEqual({ unitAttention: 0, busy: 1000, busyBackoffMs: 1 });
  });

  it('rejects unknown names, non-numbers and out-of-range values', () => {
    expect(() => validateRetryOptions(null, 'open')).toThrow(ArgumentTypeError);
    expect(() => validateRetryOptions({ unitAttentions: 1 }, 'open')).toThrow(/unknown retries option "unitAttentions"/);
    expect(() => validateRetryOptions({ busy: '3' }, 'open')).toThrow(ArgumentTypeError);
    expect(() => validateRetryOptions({ busy: -1 }, 'open')).toThrow(ArgumentRangeError);
    expect(() => validateRetryOptions({ busy: 1.5 }, 'open')).toThrow(ArgumentRangeError);
    expect(() => validateRetryOptions({ busy: 1001 }, 'open')).toThrow(ArgumentRangeError);
  });
});
