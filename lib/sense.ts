/** Decoded SCSI sense data (fixed or descriptor format). Placeholder type; decodeSense lands next. */
export interface DecodedSense {
  /** 'fixed' (0x70/0x71) or 'descriptor' (0x72/0x73). */
  format: 'fixed' | 'descriptor';
  /** Response code byte (0x70..0x73). */
  responseCode: number;
  /** true for deferred errors (0x71/0x73). */
  deferred: boolean;
  senseKey: number;
  senseKeyName: string;
  asc: number;
  ascq: number;
  /** Human name of ASC/ASCQ, e.g. 'RESERVATIONS PREEMPTED'. */
  ascName: string;
  /** The raw sense bytes. */
  raw: Buffer;
}
