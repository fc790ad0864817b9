/**
 * The fence agent's outside world: the library calls, the clock, the host
 * name, corosync.conf and the version come in through {@link AgentDeps}, so
 * the whole agent runs in unit tests without devices.
 */
import { hostname } from 'node:os';
import { fence as libFence, type FenceOptions, type FenceReport } from '../../fencing/fence';
import { unfence as libUnfence, type UnfenceOptions, type UnfenceReport } from '../../fencing/unfence';
import { status as libStatus, type StatusOptions, type StatusReport } from '../../fencing/fence-status';
import { expandDevices } from '../../transport/device-expansion';
import { resolveDevicePath } from '../../transport/device-path';
import { readCorosyncConf, type CorosyncConfig } from './fence-agent-corosync';
import { packageVersion } from '../package-version';

/** The agent's outside world. */
export interface AgentDeps {
  fence: (o: FenceOptions) => Promise<FenceReport>;
  unfence: (o: UnfenceOptions) => Promise<UnfenceReport>;
  status: (o: StatusOptions) => Promise<StatusReport>;
  /** validate-all: problems with the devices, found without opening them (sysfs and stat only). */
  checkDevices: (devices: string[]) => Promise<string[]>;
  readCorosync: (path: string) => CorosyncConfig | null;
  hostname: () => string;
  sleep: (ms: number) => Promise<void>;
  version: () => string;
}

/** Find device problems without opening a device: multipath maps expand, every path is stat()ed and checked in sysfs. */
export async function checkDevicesWithoutIo(devices: string[]): Promise<string[]> {
  const problems: string[] = [];
  let expanded: Array<{ device: string; paths: string[] }>;
  try {
    expanded = await expandDevices(devices);
  } catch (e) {
    return [(e as Error).message];
  }
  for (const d of expanded) {
    for (const p of d.paths) {
      try {
        resolveDevicePath(p);
      } catch (e) {
        problems.push(p === d.device ? (e as Error).message : `${d.device}: path ${(e as Error).message}`);
      }
    }
  }
  return problems;
}

/** The real dependencies. */
export function defaultDeps(): AgentDeps {
  return {
    fence: libFence,
    unfence: libUnfence,
    status: libStatus,
    checkDevices: checkDevicesWithoutIo,
    readCorosync: readCorosyncConf,
    hostname,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    version: () => packageVersion(),
  };
}
