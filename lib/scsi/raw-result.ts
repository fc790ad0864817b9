/**
 * The raw outcome of one SCSI command as the native layer reports it.
 * Nothing here is interpreted: classification happens in `classify.ts`.
 */
export interface RawResult {
  /** SAM status byte (0x00 GOOD, 0x02 CHECK CONDITION, 0x08 BUSY, 0x18 RESERVATION CONFLICT, 0x28 TASK SET FULL). */
  status: number;
  /** Linux host byte (DID_*). 0 = DID_OK. */
  hostStatus: number;
  /** Linux driver byte (DRIVER_*). 0x08 = DRIVER_SENSE. */
  driverStatus: number;
  /** Sense bytes actually written by the device (may be empty). */
  sense: Buffer;
  /** Residual count: bytes of the data-in/out buffer that were NOT transferred. */
  resid: number;
  /** Command duration in milliseconds as the kernel measured it. */
  durationMs: number;
  /**
   * Data-in (FROM_DEV transfers). From a transport: the full allocation, valid bytes =
   * length − resid. On results and errors from `Device`: only the transferred bytes.
   */
  data: Buffer | null;
}
