/** enum pr_status of include/uapi/linux/pr.h and how each value is sorted. */
import { describe, expect, it } from 'vitest';
import { PrStatus, classifyPrStatus, prStatusName } from '../../../lib/block-pr/pr-status';

describe('pr_status', () => {
  it('has the header’s values', () => {
    expect(PrStatus).toEqual({
      PR_STS_SUCCESS: 0,
      PR_STS_IOERR: 2,
      PR_STS_RESERVATION_CONFLICT: 0x18,
      PR_STS_RETRY_PATH_FAILURE: 0xe0000,
      PR_STS_PATH_FAST_FAILED: 0xf0000,
      PR_STS_PATH_FAILED: 0x10000,
    });
  });

  it('classifies each value', () => {
    expect(classifyPrStatus(0)).toEqual({ status: 0, name: 'PR_STS_SUCCESS', class: 'ok' });
    expect(classifyPrStatus(0x18)).toEqual({ status: 0x18, name: 'PR_STS_RESERVATION_CONFLICT', class: 'reservation-conflict' });
    expect(classifyPrStatus(2)).toEqual({ status: 2, name: 'PR_STS_IOERR', class: 'error' });
    for (const s of [0xe0000, 0xf0000, 0x10000]) expect(classifyPrStatus(s).class).toBe('path');
    expect(classifyPrStatus(0x10000).name).toBe('PR_STS_PATH_FAILED');
  });

  it('an unknown positive value (a pre-6.3 driver code) is an error with an unknown name', () => {
    expect(classifyPrStatus(0x83)).toEqual({ status: 0x83, name: 'unknown (0x83)', class: 'error' });
    expect(prStatusName(0x20000)).toBe('unknown (0x20000)');
  });
});
