import { describe, expect, it } from 'vitest';
import { ScsiPrError } from '../../../lib/errors';
import { ArgumentRangeError } from '../../../lib/invalid-argument';
import {
  NvmeStatusError,
  classifyNvmeStatus,
  decodeNvmeStatus,
  nvmeStatusError,
  nvmeStatusName,
} from '../../../lib/nvme/nvme-status';
import { thrown } from '../support/thrown';

/** Status values are the CQE status field without the phase bit: SC 7:0, SCT 10:8, CRD 12:11, MORE 13, DNR 14. */
describe('decodeNvmeStatus', () => {
  it('splits the fields', () => {
    expect(decodeNvmeStatus(0x4083)).toEqual({ status: 0x4083, sct: 0, sc: 0x83, crd: 0, more: false, dnr: true, name: 'RESERVATION CONFLICT' });
    expect(decodeNvmeStatus(0x0370)).toEqual({ status: 0x0370, sct: 3, sc: 0x70, crd: 0, more: false, dnr: false, name: 'HOST PATHING ERROR' });
    expect(decodeNvmeStatus(0x3802)).toEqual({ status: 0x3802, sct: 0, sc: 0x02, crd: 3, more: true, dnr: false, name: 'INVALID FIELD IN COMMAND' });
    expect(decodeNvmeStatus(0x0800)).toMatchObject({ crd: 1, sc: 0, sct: 0 });
    expect(decodeNvmeStatus(0x7fff)).toEqual({ status: 0x7fff, sct: 7, sc: 0xff, crd: 3, more: true, dnr: true, name: 'SCT 7 SC 0xff' });
    expect(decodeNvmeStatus(0)).toMatchObject({ name: 'SUCCESS', dnr: false });
  });

  it('refuses negative ioctl returns (errnos) and values beyond 15 bits', () => {
    for (const bad of [-4, 0x8000, 1.5, NaN, '0x83']) {
      const e = thrown(() => decodeNvmeStatus(bad as never));
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e.code).toBe('ERR_INVALID_OPTION');
    }
  });
});

describe('nvmeStatusName', () => {
  it('names the generic codes that matter and spells the others out', () => {
    expect(nvmeStatusName(0, 0x01)).toBe('INVALID COMMAND OPCODE');
    expect(nvmeStatusName(0, 0x0b)).toBe('INVALID NAMESPACE OR FORMAT');
    expect(nvmeStatusName(0, 0x06)).toBe('INTERNAL ERROR');
    expect(nvmeStatusName(0, 0x07)).toBe('COMMAND ABORT REQUESTED');
    expect(nvmeStatusName(0, 0x18)).toBe('HOST IDENTIFIER INCONSISTENT FORMAT');
    expect(nvmeStatusName(3, 0x02)).toBe('ASYMMETRIC ACCESS INACCESSIBLE');
    expect(nvmeStatusName(3, 0x71)).toBe('COMMAND ABORTED BY HOST');
    expect(nvmeStatusName(1, 0x83)).toBe('SCT 1 SC 0x83');
    expect(nvmeStatusName(2, 0x05)).toBe('SCT 2 SC 0x05');
  });
});

describe('classifyNvmeStatus', () => {
  it.each([
    [0x0000, 'ok'],
    [0x0083, 'reservation-conflict'],
    [0x4083, 'reservation-conflict'],
    [0x4001, 'invalid'],
    [0x0002, 'invalid'],
    [0x4002, 'invalid'],
    [0x400b, 'invalid'],
    [0x4018, 'invalid'],
    [0x0300, 'path'],
    [0x0302, 'path'],
    [0x0303, 'path'],
    [0x0370, 'path'],
    [0x0371, 'path'],
    [0x4370, 'path'],
    [0x0006, 'retry'],
    [0x0007, 'retry'],
    [0x0021, 'retry'],
    [0x0082, 'retry'],
    [0x0806, 'retry'],
    [0x4006, 'error'],
    [0x4281, 'error'],
    [0x4183, 'error'], // SCT 1 SC 83h is not RESERVATION CONFLICT
  ] as const)('0x%s is %s', (status, cls) => {
    expect(classifyNvmeStatus(status)).toBe(cls);
    expect(classifyNvmeStatus(decodeNvmeStatus(status))).toBe(cls);
  });
});

describe('NvmeStatusError', () => {
  it('carries the fields and a code per class', () => {
    const e = nvmeStatusError(0x4083, 'Reservation Acquire', { path: '/dev/nvme0n1' });
    expect(e).toBeInstanceOf(NvmeStatusError);
    expect(e).toBeInstanceOf(ScsiPrError);
    expect(e).toMatchObject({
      name: 'NvmeStatusError',
      code: 'ERR_RESERVATION_CONFLICT',
      status: 0x4083,
      sct: 0,
      sc: 0x83,
      crd: 0,
      more: false,
      dnr: true,
      statusName: 'RESERVATION CONFLICT',
      classification: 'reservation-conflict',
      path: '/dev/nvme0n1',
      message: '/dev/nvme0n1: Reservation Acquire failed: RESERVATION CONFLICT (status 0x4083, DNR)',
    });
    expect(nvmeStatusError(0x0370, 'Reservation Report')).toMatchObject({
      code: 'ERR_TRANSPORT',
      classification: 'path',
      message: 'Reservation Report failed: HOST PATHING ERROR (status 0x0370)',
    });
    expect(nvmeStatusError(0x4002, 'Reservation Report')).toMatchObject({ code: 'ERR_NVME_STATUS', classification: 'invalid' });
    expect(nvmeStatusError(0x0006, 'x')).toMatchObject({ code: 'ERR_NVME_STATUS', classification: 'retry' });
    expect(nvmeStatusError(0x4006, 'x')).toMatchObject({ code: 'ERR_NVME_STATUS', classification: 'error' });
  });

  it('is null for success and cannot be made for it', () => {
    expect(nvmeStatusError(0, 'x')).toBeNull();
    expect(thrown(() => new NvmeStatusError('x', 0))).toBeInstanceOf(ArgumentRangeError);
  });
});
