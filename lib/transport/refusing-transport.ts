/**
 * A SCSI transport that refuses every command and reset: the `Device` base of a
 * device that takes no CDBs (an NVMe namespace, the block PR API), so that the
 * CDB-based methods it inherits reject with the device's own explanation.
 */
import type { ScsiTransport } from './scsi-transport';

/** A transport whose `submit` and `reset` reject with `refusal()`; nothing is ever sent. */
export function refusingTransport(refusal: () => Error): ScsiTransport {
  return {
    kind: 'sg-io-ioctl',
    inFlight: 0,
    submit: () => Promise.reject(refusal()),
    reset: () => Promise.reject(refusal()),
    close: () => undefined,
  };
}
