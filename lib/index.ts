/**
 * scsi-pr: SCSI-3 persistent reservations for Node.js through Linux SG_IO.
 *
 * ```ts
 * import * as pr from 'scsi-pr';
 * await using dev = await pr.open('/dev/sg3');
 * await dev.register({ newKey: 0x1a2bn });
 * await dev.reserve({ key: 0x1a2bn, type: 'write-exclusive-registrants-only' });
 * console.log(await dev.readKeys());
 * ```
 * @packageDocumentation
 */
export { open, Device, DEFAULT_TIMEOUT_MS } from './device';
export type { OpenOptions, CallOptions, CallReport, DeviceInfo, PrOutResult, InquiryResult, Capacity, ExecuteRequest, ExecuteResult } from './device';
export * from './pr-api';
export * from './errors';
export { ArgumentTypeError, ArgumentRangeError, type InvalidArgumentCode } from './invalid-argument';
export { parseKey, formatKey, keyToBuffer, readKey, type KeyInput } from './scsi/keys';
export * from './scsi/reservation-types';
export * from './scsi/transport-id';
export type { ReadKeysResult, ReadReservationResult, Reservation, ReportCapabilitiesResult, ReadFullStatusResult, FullStatusRegistration } from './scsi/pr-in-parsers';
export type { RegisterOptions, RegisterAndIgnoreExistingKeyOptions, ReserveOptions, ClearOptions, PreemptOptions, RegisterAndMoveOptions, ReplaceLostReservationOptions } from './scsi/pr-out-requests';
export { decodeSense, formatSense, senseKeyName, type DecodedSense } from './scsi/sense';
export { ascName } from './scsi/asc-names';
export { DEFAULT_RETRY, type RetryOptions } from './retry-policy';
export type { RawResult } from './scsi/raw-result';
export { toJSONSafe } from './hex-inspect';

// ---- fencing -----------------------------------------------------------------
export { fence, type FenceOptions, type FenceReport, type FenceDeviceReport, type ProgressEvent } from './fencing/fence';
export { unfence, type UnfenceOptions, type UnfenceReport, type UnfenceDeviceReport } from './fencing/unfence';
export { status, type StatusOptions, type StatusReport, type StatusDeviceReport } from './fencing/fence-status';
export { clusterNodeKey, parseClusterNodeKey, ipv4Key, localIpv4Key, fenceScsiKey, fenceScsiKeyString, type FenceScsiKeyOptions } from './fencing/fence-keys';
export {
  sharedVolumeGroupDevices,
  parseVgsReport,
  parseLvsDevicesReport,
  multipathPaths,
  expandDevices,
  sysfsWwid,
  DeviceDiscoveryError,
  type SharedVolumeGroupOptions,
  type SharedVolumeGroupDevice,
  type VgsRecord,
  type ExpandedDevice,
} from './fencing/device-discovery';
export { openLogicalUnits, type LogicalUnit, type DeviceInput } from './fencing/logical-units';
export { serviceStart, serviceStop, serviceStatus } from './fencing/service';
