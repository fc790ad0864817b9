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
 *
 * The public API, by layer: one device (`open`, `Device`, and each PR command
 * as a module-level function taking a path or a Device), the codecs a caller
 * needs (keys, reservation types, TransportIDs, sense), errors, and fencing
 * many LUs at once (`fence`, `unfence`, `status`, keys for clusters, LVM
 * discovery, the boot-time service). Nothing else is importable: see the
 * `exports` map in package.json.
 * @packageDocumentation
 */

// ---- one device ------------------------------------------------------------
export { open, Device, DEFAULT_TIMEOUT_MS } from './device';
export type { OpenOptions, CallOptions, CallReport, DeviceInfo, PrOutResult, InquiryResult, Capacity, ExecuteRequest, ExecuteResult } from './device';
export type { DataDirection, ResetLevel } from './transport/scsi-transport';
// ---- NVMe namespaces (open('/dev/nvme0n1') returns an NvmeDevice) -----------
export { NvmeDevice } from './nvme/nvme-device';
export type { NamespaceIdentity } from './nvme/namespace-identity';
export type { NvmeReservationStatus, NvmeRegistrant } from './nvme/reservation-report';
export { NvmeStatusError, type NvmeStatusErrorCode, type DecodedNvmeStatus } from './nvme/nvme-status';
export type { NvmeHostTransportId } from './scsi/transport-id';
export { KernelFeatureError } from './block-pr/kernel-feature-error';
// ---- the kernel's block PR API (open('/dev/dm-N') or interface: 'block-pr' returns a BlockPrDevice)
export { BlockPrDevice } from './block-pr/block-pr-device';
export type { BlockDeviceIdentity, BlockDeviceKind } from './block-pr/block-device-identity';
export { PrStatusError } from './block-pr/pr-status-error';
export type { Designator, DesignatorAssociation, DesignatorType } from './scsi/inquiry';
export {
  readKeys,
  readReservation,
  reportCapabilities,
  readFullStatus,
  register,
  registerAndIgnoreExistingKey,
  reserve,
  release,
  clear,
  preempt,
  preemptAndAbort,
  registerAndMove,
  replaceLostReservation,
  type PathOrDevice,
  type OneShotOptions,
  type PrInFunction,
  type PrOutFunction,
} from './pr-api';
export type { PrInMethod, PrOutMethod, PrInResult } from './scsi/pr-service-actions';
export type { PrOutOptions } from './device-pr-methods';
export type { ReadKeysResult, ReadReservationResult, Reservation, ReportCapabilitiesResult, ReadFullStatusResult, FullStatusRegistration } from './scsi/pr-in-parsers';
export type {
  RegisterOptions,
  RegisterAndIgnoreExistingKeyOptions,
  ReserveOptions,
  ClearOptions,
  PreemptOptions,
  RegisterAndMoveOptions,
  ReplaceLostReservationOptions,
} from './scsi/pr-out-requests';
export { DEFAULT_RETRY, type RetryOptions } from './retry-policy';
export type { RawResult } from './scsi/raw-result';

// ---- values on the wire ------------------------------------------------------
export { parseKey, formatKey, keyToBuffer, type KeyInput } from './scsi/keys';
export {
  ReservationType,
  parseReservationType,
  reservationTypeName,
  reservationTypeLabel,
  type ReservationTypeCode,
  type ReservationTypeName,
  type ReservationTypeInput,
} from './scsi/reservation-types';
export {
  ProtocolId,
  encodeTransportId,
  decodeTransportId,
  type TransportId,
  type FcpTransportId,
  type SpiTransportId,
  type SbpTransportId,
  type SrpTransportId,
  type IscsiTransportId,
  type SasTransportId,
  type SopTransportId,
  type UnknownTransportId,
} from './scsi/transport-id';
export { parseTransportId, formatTransportId } from './scsi/transport-id-text';
export { decodeSense, formatSense, senseKeyName, type DecodedSense, type SenseDescriptor, type SenseKeySpecific } from './scsi/sense';
export { ascName } from './scsi/asc-names';
export { toJSONSafe } from './hex-inspect';

// ---- errors ------------------------------------------------------------------
export { ErrorCodes, type ErrorCode, type SystemErrorCode } from './error-codes';
export {
  ScsiPrError,
  SyscallError,
  DeviceError,
  TransportError,
  ReservationConflictError,
  ScsiSenseError,
  ScsiStatusError,
  TimeoutError,
  AbortError,
  MalformedResponseError,
  DeviceClosedError,
  type ErrorContext,
  type DeviceErrorCode,
  type SenseErrorCode,
} from './errors';
export { ArgumentTypeError, ArgumentRangeError, type InvalidArgumentCode } from './invalid-argument';

// ---- fencing many LUs --------------------------------------------------------
export type { ProgressEvent, ProgressOperation } from './fencing/progress-event';
export type { DeviceInput } from './fencing/logical-units';
export { fence, type FenceOptions, type FenceReport, type FenceDeviceReport, type PreemptMethod } from './fencing/fence';
export { unfence, type UnfenceOptions, type UnfenceReport, type UnfenceDeviceReport } from './fencing/unfence';
export { status, type StatusOptions, type StatusReport, type StatusDeviceReport } from './fencing/fence-status';
export { watchRegistration, describeFencedEvidence, type WatchRegistrationOptions, type RegistrationWatch, type FencedEvidence } from './fencing/registration-watch';
export {
  clusterNodeKey,
  parseClusterNodeKey,
  ipv4Key,
  localIpv4Key,
  fenceScsiKey,
  fenceScsiKeyString,
  cmapClusterName,
  cmapNodeIndex,
  type ClusterNodeKeyFields,
  type LocalIpv4KeyOptions,
  type FenceScsiKeyOptions,
} from './fencing/fence-keys';
export {
  sharedVolumeGroupDevices,
  parseVgsReport,
  parseLvsDevicesReport,
  DeviceDiscoveryError,
  type SharedVolumeGroupOptions,
  type SharedVolumeGroupDevice,
  type VgsRecord,
  type ReportParseOptions,
  type DeviceDiscoveryErrorCode,
} from './fencing/lvm-volume-groups';
export { execFileRunner, type Runner, type RunOptions, type RunResult } from './fencing/command-runner';
export { expandDevices, multipathPaths, sysfsWwid, type ExpandDevicesOptions, type ExpandedDevice } from './transport/device-expansion';
export {
  serviceStart,
  serviceStop,
  serviceStatus,
  type ServiceOptions,
  type ServiceStartOptions,
  type KeySource,
  type ServiceReportBase,
  type ServiceStartDevice,
  type ServiceStartReport,
  type ServiceStopDevice,
  type ServiceStopReport,
  type ServiceStatusDevice,
  type ServiceStatusReport,
} from './fencing/service';
