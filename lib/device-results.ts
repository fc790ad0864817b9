/**
 * What a `Device` is and what its calls resolve with: the device info, the
 * report of conditions absorbed on the way (UNIT ATTENTIONs), and the results
 * of PR OUT, identification and `execute` calls. (PR IN results are the
 * parsers' types, in scsi/pr-in-parsers.ts.)
 */
import type { RawResult } from './scsi/raw-result';
import type { DecodedSense } from './scsi/sense';
import type { Designator, StandardInquiry } from './scsi/inquiry';
import type { ResolvedDevicePath } from './transport/device-path';

/** What was opened, and how commands reach it. */
export interface DeviceInfo extends ResolvedDevicePath {
  /** 'sg-async': sg v3 write/poll/read on /dev/sgN (needs only rw access to the node);
   *  'sg-io-ioctl': SG_IO on the block device (needs CAP_SYS_RAWIO for PR commands);
   *  'nvme-passthru': an NVMe namespace, reservations through NVME_IOCTL_IO_CMD (see nvme/nvme-device.ts);
   *  'block-pr': any block device through the kernel's block PR ioctls, IOC_PR_* (see block-pr/block-pr-device.ts). */
  transport: 'sg-async' | 'sg-io-ioctl' | 'nvme-passthru' | 'block-pr';
  /** sg driver version (e.g. 30536), for sg nodes. */
  sgVersion?: number;
}

/** Conditions seen (and absorbed) while running one call. */
export interface CallReport {
  /** UNIT ATTENTIONs that were reported and retried, oldest first. */
  unitAttentions: DecodedSense[];
}

/** Result of a PR OUT action. */
export interface PrOutResult extends CallReport {
  /** The service action that ran, e.g. 'preempt-and-abort'. */
  action: string;
  /** Duration of the successful attempt as the kernel measured it (ms). */
  durationMs: number;
}

/** Identification of a logical unit. */
export interface InquiryResult extends StandardInquiry {
  /** Unit serial number (VPD 0x80), when the device has the page. */
  serialNumber?: string;
  /** Designators of VPD 0x83 (NAA, EUI-64, SCSI name, target port…). */
  designators: Designator[];
  /** The LU's world-wide name from VPD 0x83 (NAA preferred), when there is one. */
  wwn?: string;
}

/** Capacity of a logical unit. */
export interface Capacity {
  lastLba: number;
  blockSize: number;
  blocks: number;
}

/** Outcome of `Device.execute`: the successful raw result and what was absorbed on the way. */
export interface ExecuteResult extends CallReport {
  result: RawResult;
  /** Bytes of data-in that are valid (allocation − resid, never negative). */
  validLength: number;
  /** The data-in bytes that are valid. */
  data: Buffer;
}
