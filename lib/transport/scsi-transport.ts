/**
 * How a command reaches the kernel. Two implementations: the sg v3 async
 * interface on /dev/sgN (`sg-async-channel.ts`) and the SG_IO ioctl on the
 * libuv thread pool for other SCSI devices (`sg-io-ioctl-transport.ts`).
 *
 * The transport layer (lib/transport/) knows file descriptors, sg headers and
 * sysfs, and nothing of SCSI beyond the raw result it hands up:
 * - `native.ts`: the one typed view of the addon (syscalls only);
 * - this file, `sg-async-channel.ts`, `sg-io-ioctl-transport.ts`,
 *   `transport-common.ts`: submitting a CDB and getting a {@link RawResult};
 * - `watchdog.ts`, `abort-listener.ts`, `coarse-clock.ts`, `data-in-pool.ts`:
 *   deadlines, aborts, time and buffers, cheap on hosts where syscalls are dear;
 * - `sysfs.ts`, `device-path.ts`, `device-expansion.ts`: which node to open
 *   for a path, and the SCSI paths and WWIDs behind device names, from sysfs.
 * A new transport (another kernel interface) implements {@link ScsiTransport}.
 */
import type { RawResult } from '../scsi/raw-result';

/** Data transfer direction of a command. */
export type DataDirection = 'none' | 'in' | 'out';

/** One command for a transport. */
export interface TransportCommand {
  cdb: Buffer;
  direction: DataDirection;
  /** Data-out bytes ('out') or a buffer to fill ('in'). */
  data: Buffer | null;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A submission path to one open device. */
export interface ScsiTransport {
  /** 'sg-async' (write/poll/read on /dev/sgN) or 'sg-io-ioctl' (SG_IO on the thread pool). */
  readonly kind: 'sg-async' | 'sg-io-ioctl';
  submit(command: TransportCommand): Promise<RawResult>;
  /** Commands submitted and not yet completed (abandoned ones included). */
  readonly inFlight: number;
  /**
   * A reset through the sg driver (ioctl SG_SCSI_RESET): of the logical unit
   * (`'device'`), the target, the bus or the whole host adapter. With
   * `escalate`, the kernel's error handler may go on to a wider reset when this
   * one fails. The fd stays open until the ioctl has returned.
   */
  reset(level: ResetLevel, escalate: boolean): Promise<void>;
  /** Rejects everything pending with DeviceClosedError and closes the fd. Idempotent. */
  close(): void;
}

/** How wide a reset is: the logical unit, its target, the bus, or the host adapter. */
export type ResetLevel = 'device' | 'target' | 'bus' | 'host';

/** Every {@link ResetLevel}, narrowest first. */
export const RESET_LEVELS: readonly ResetLevel[] = Object.freeze(['device', 'target', 'bus', 'host']);

/** Grace period past the kernel's own timeout before the library gives up waiting. */
export const TIMEOUT_GRACE_MS = 2_000;
