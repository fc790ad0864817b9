/**
 * NvmeDevice against a scripted fake of the addon's ioctlBuffer: which
 * NVME_IOCTL_IO_CMD passthru struct and data bytes each PR method sends, how
 * Reservation Report data comes back as the library's results, how NVMe
 * statuses and syscall failures become typed errors, what is refused before
 * any ioctl, and when the fd is closed.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUT_MS } from '../../../lib/device-options';
import { AbortError, DeviceClosedError, ReservationConflictError, SyscallError, TransportError } from '../../../lib/errors';
import { ArgumentRangeError } from '../../../lib/invalid-argument';
import type { NamespaceIdentity } from '../../../lib/nvme/namespace-identity';
import { NvmeDevice } from '../../../lib/nvme/nvme-device';
import { NvmeStatusError } from '../../../lib/nvme/nvme-status';
import { ADDR_OFFSET, NVME_IOCTL_IO_CMD, PASSTHRU_CMD_SIZE } from '../../../lib/nvme/passthru-command';
import type { NativeBinding } from '../../../lib/transport/native';
import { syscallError } from '../support/fake-native';
import { hex } from '../support/hex-bytes';
import { rejection } from '../support/thrown';

const PATH = '/dev/nvme0n1';
const FD = 9;
const NSID = 3;
const IDENTITY: NamespaceIdentity = { wwn: 'eui.0123456789abcdef0123456789abcdef', nguid: '0123456789abcdef0123456789abcdef', nsid: NSID };

const KEY = 0x0102030405060708n;
const OTHER = 0x1112131415161718n;
/** `KEY` and `OTHER` little-endian, as the NVMe data structures hold keys. */
const KEY_LE = '08 07 06 05 04 03 02 01';
const OTHER_LE = '18 17 16 15 14 13 12 11';
const ZERO_LE = '00 00 00 00 00 00 00 00';

/** Opcodes (NVM command set). */
const REGISTER = 0x0d;
const REPORT = 0x0e;
const ACQUIRE = 0x11;
const RELEASE = 0x15;

/** One ioctlBuffer call as the fake saw it: the passthru struct decoded, the data copied when the call was made. */
interface Call {
  fd: number;
  request: number;
  offset: number;
  opcode: number;
  nsid: number;
  cdw10: number;
  cdw11: number;
  dataLength: number;
  timeoutMs: number;
  argLength: number;
  /** The data buffer as sent (a copy). */
  sent: Buffer | null;
}

/** What the "kernel" does with one call: may write into data, then returns a status (or a promise of one) or throws. */
type Step = (data: Buffer | null, arg: Buffer) => number | Promise<number>;

interface Fake {
  native: NativeBinding;
  calls: Call[];
  /** 'ioctl <opcode>', 'settled <opcode>', 'closeDevice <fd>' in order. */
  events: string[];
}

function fake(...steps: Step[]): Fake {
  const calls: Call[] = [];
  const events: string[] = [];
  const native = {
    ioctlBuffer(fd: number, request: number, arg: Buffer, data: Buffer | null, offset: number): Promise<number> {
      const opcode = arg[0];
      calls.push({
        fd,
        request,
        offset,
        opcode,
        nsid: arg.readUInt32LE(4),
        cdw10: arg.readUInt32LE(40),
        cdw11: arg.readUInt32LE(44),
        dataLength: arg.readUInt32LE(36),
        timeoutMs: arg.readUInt32LE(64),
        argLength: arg.length,
        sent: data ? Buffer.from(data) : null,
      });
      events.push(`ioctl ${opcode}`);
      const step = steps.shift();
      if (!step) return Promise.reject(new Error('unscripted ioctl'));
      let p: Promise<number>;
      try {
        p = Promise.resolve(step(data, arg));
      } catch (e) {
        p = Promise.reject(e);
      }
      return p.finally(() => events.push(`settled ${opcode}`));
    },
    closeDevice(fd: number): void {
      events.push(`closeDevice ${fd}`);
    },
  };
  return { native: native as unknown as NativeBinding, calls, events };
}

function device(f: Fake, options: { timeoutMs?: number } = {}): NvmeDevice {
  return new NvmeDevice(PATH, PATH, PATH, f.native, FD, NSID, IDENTITY, options);
}

const ok: Step = () => 0;
const status =
  (s: number): Step =>
  () =>
    s;
const fail =
  (code: string, errno: number): Step =>
  () => {
    throw syscallError(code, errno, 'ioctl');
  };

interface Entry {
  cntlid: number;
  holds?: boolean;
  key: bigint;
  /** 32 hex digits. */
  hostId: string;
}

/**
 * A Reservation Report answer in the extended format: 64-byte header (GEN u32 @0, RTYPE @4,
 * REGCTL u16 @5, PTPLS @9), then 64-byte entries (CNTLID u16 @0, RCSTS @2, RKEY u64 @8,
 * HOSTID @16). REGCTL counts every entry; only the entries the buffer holds are written.
 */
function report(gen: number, rtype: number, entries: Entry[], ptpls = false): Step {
  return (data) => {
    if (!data) throw new Error('report without a data buffer');
    data.writeUInt32LE(gen, 0);
    data[4] = rtype;
    data.writeUInt16LE(entries.length, 5);
    data[9] = ptpls ? 1 : 0;
    entries.forEach((e, i) => {
      const at = 64 + i * 64;
      if (at + 64 > data.length) return;
      data.writeUInt16LE(e.cntlid, at);
      data[at + 2] = e.holds ? 1 : 0;
      data.writeBigUInt64LE(e.key, at + 8);
      Buffer.from(e.hostId, 'hex').copy(data, at + 16);
    });
    return 0;
  };
}

const HOST_A = '000102030405060708090a0b0c0d0e0f';
const HOST_B = 'f0e0d0c0b0a090807060504030201000';

/** A deferred ioctl completion. */
function deferred(): { step: Step; resolve: (s: number) => void; reject: (e: unknown) => void } {
  let resolve!: (s: number) => void;
  let reject!: (e: unknown) => void;
  const p = new Promise<number>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { step: () => p, resolve, reject };
}

/** Lets pending promise callbacks run. */
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('NvmeDevice: the passthru struct', () => {
  it('every command goes to NVME_IOCTL_IO_CMD on the fd with a 72-byte struct, the namespace ID, data_len and the timeout', async () => {
    const f = fake(ok, ok);
    const dev = device(f, { timeoutMs: 5000 });
    await dev.reserve({ key: KEY, type: 'write-exclusive' });
    await dev.reserve({ key: KEY, type: 'write-exclusive', timeoutMs: 1234 });
    expect(f.calls[0]).toMatchObject({ fd: FD, request: NVME_IOCTL_IO_CMD, offset: ADDR_OFFSET, argLength: PASSTHRU_CMD_SIZE, nsid: NSID, dataLength: 16, timeoutMs: 5000 });
    expect(f.calls[1].timeoutMs).toBe(1234);
    expect(NVME_IOCTL_IO_CMD).toBe(0xc0484e43);
    expect(ADDR_OFFSET).toBe(24);
  });

  it('the default timeout is DEFAULT_TIMEOUT_MS', async () => {
    const f = fake(ok);
    await device(f).clear({ key: KEY });
    expect(f.calls[0].timeoutMs).toBe(DEFAULT_TIMEOUT_MS);
  });
});

describe('NvmeDevice.register', () => {
  it('key 0 → Register (RREGA 0) with NRKEY; data CRKEY 0, NRKEY little-endian', async () => {
    const f = fake(ok);
    const r = await device(f).register({ newKey: KEY });
    expect(r).toMatchObject({ action: 'register', unitAttentions: [] });
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0]).toMatchObject({ opcode: REGISTER, cdw10: 0, dataLength: 16 });
    expect(f.calls[0].sent).toEqual(hex(`${ZERO_LE} | ${KEY_LE}`));
  });

  it('key and newKey → Replace (RREGA 2): CRKEY = key, NRKEY = newKey', async () => {
    const f = fake(ok);
    await device(f).register({ key: KEY, newKey: OTHER });
    expect(f.calls[0]).toMatchObject({ opcode: REGISTER, cdw10: 2 });
    expect(f.calls[0].sent).toEqual(hex(`${KEY_LE} | ${OTHER_LE}`));
  });

  it('newKey 0 → Unregister (RREGA 1): CRKEY = key, NRKEY 0', async () => {
    const f = fake(ok);
    await device(f).register({ key: KEY, newKey: 0 });
    expect(f.calls[0]).toMatchObject({ opcode: REGISTER, cdw10: 1 });
    expect(f.calls[0].sent).toEqual(hex(`${KEY_LE} | ${ZERO_LE}`));
  });

  it('aptpl → CPTPL 11b in CDW10 bits 31:30; without aptpl CPTPL is 00b (no change)', async () => {
    const f = fake(ok, ok, ok);
    const dev = device(f);
    await dev.register({ newKey: KEY, aptpl: true });
    await dev.register({ key: KEY, newKey: OTHER, aptpl: true });
    await dev.register({ key: OTHER, newKey: 0n, aptpl: false });
    expect(f.calls.map((c) => c.cdw10)).toEqual([0xc000_0000, 0xc000_0002, 0x0000_0001]);
  });

  it('key 0 and newKey 0 sends nothing (nothing to unregister)', async () => {
    const f = fake();
    expect(await device(f).register({ newKey: 0 })).toMatchObject({ action: 'register' });
    expect(f.calls).toHaveLength(0);
  });
});

describe('NvmeDevice.registerAndIgnoreExistingKey', () => {
  it('not registered (or registered with newKey): one Register (RREGA 0) with NRKEY', async () => {
    const f = fake(ok);
    const r = await device(f).registerAndIgnoreExistingKey({ newKey: KEY });
    expect(r).toMatchObject({ action: 'register-and-ignore-existing-key' });
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0]).toMatchObject({ opcode: REGISTER, cdw10: 0 });
    expect(f.calls[0].sent).toEqual(hex(`${ZERO_LE} | ${KEY_LE}`));
  });

  it('Register conflicts (0x0083, registered with another key) → Replace with IEKEY (CDW10 bit 3, RREGA 2), CRKEY 0', async () => {
    const f = fake(status(0x0083), ok);
    await device(f).registerAndIgnoreExistingKey({ newKey: KEY });
    expect(f.calls).toHaveLength(2);
    expect(f.calls[1]).toMatchObject({ opcode: REGISTER, cdw10: 0x8 | 2 });
    expect(f.calls[1].sent).toEqual(hex(`${ZERO_LE} | ${KEY_LE}`));
  });

  it('aptpl goes with both commands', async () => {
    const f = fake(status(0x4083), ok);
    await device(f).registerAndIgnoreExistingKey({ newKey: KEY, aptpl: true });
    expect(f.calls.map((c) => c.cdw10)).toEqual([0xc000_0000, 0xc000_000a]);
  });

  it('a conflict on the Replace is the caller’s ReservationConflictError', async () => {
    const f = fake(status(0x0083), status(0x0083));
    const e = await rejection(device(f).registerAndIgnoreExistingKey({ newKey: KEY }));
    expect(e).toBeInstanceOf(ReservationConflictError);
    expect(f.calls).toHaveLength(2);
  });

  it('another failure of the first Register is not retried as Replace', async () => {
    const f = fake(status(0x4002));
    const e = await rejection(device(f).registerAndIgnoreExistingKey({ newKey: KEY }));
    expect(e).toBeInstanceOf(NvmeStatusError);
    expect(f.calls).toHaveLength(1);
  });

  it('newKey 0 → Unregister with IEKEY (CDW10 9), CRKEY 0', async () => {
    const f = fake(ok);
    await device(f).registerAndIgnoreExistingKey({ newKey: 0n });
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0]).toMatchObject({ opcode: REGISTER, cdw10: 0x8 | 1 });
    expect(f.calls[0].sent).toEqual(hex(`${ZERO_LE} | ${ZERO_LE}`));
  });

  it('newKey 0 when not registered: the conflict is tolerated', async () => {
    const f = fake(status(0x0083));
    expect(await device(f).registerAndIgnoreExistingKey({ newKey: 0n })).toMatchObject({ action: 'register-and-ignore-existing-key' });
    expect(f.calls).toHaveLength(1);
  });

  it('newKey 0: other failures still reject', async () => {
    const f = fake(status(0x0300));
    expect(await rejection(device(f).registerAndIgnoreExistingKey({ newKey: 0n }))).toBeInstanceOf(TransportError);
  });
});

describe('NvmeDevice: Acquire and Release', () => {
  it('reserve → Acquire (RACQA 0), RTYPE in CDW10 bits 15:8, data CRKEY + PRKEY 0', async () => {
    const f = fake(ok, ok);
    const dev = device(f);
    expect(await dev.reserve({ key: KEY, type: 'write-exclusive-registrants-only' })).toMatchObject({ action: 'reserve' });
    await dev.reserve({ key: KEY, type: 3 }); // SPC code 3 = exclusive access = NVMe RTYPE 2
    expect(f.calls[0]).toMatchObject({ opcode: ACQUIRE, cdw10: 0x0300, dataLength: 16 });
    expect(f.calls[0].sent).toEqual(hex(`${KEY_LE} | ${ZERO_LE}`));
    expect(f.calls[1]).toMatchObject({ opcode: ACQUIRE, cdw10: 0x0200 });
  });

  it('every library type maps to its NVMe RTYPE', async () => {
    const spc = [1, 3, 5, 6, 7, 8];
    const f = fake(...spc.map(() => ok));
    const dev = device(f);
    for (const type of spc) await dev.reserve({ key: KEY, type });
    expect(f.calls.map((c) => c.cdw10 >> 8)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('release → Release (RRELA 0) with RTYPE, data CRKEY (8 bytes)', async () => {
    const f = fake(ok);
    expect(await device(f).release({ key: KEY, type: 'exclusive-access-all-registrants' })).toMatchObject({ action: 'release' });
    expect(f.calls[0]).toMatchObject({ opcode: RELEASE, cdw10: 0x0600, dataLength: 8 });
    expect(f.calls[0].sent).toEqual(hex(KEY_LE));
  });

  it('clear → Release with RRELA 1, RTYPE 0, data CRKEY', async () => {
    const f = fake(ok);
    expect(await device(f).clear({ key: KEY })).toMatchObject({ action: 'clear' });
    expect(f.calls[0]).toMatchObject({ opcode: RELEASE, cdw10: 1, dataLength: 8 });
    expect(f.calls[0].sent).toEqual(hex(KEY_LE));
  });

  it('preempt → Acquire RACQA 1; preemptAndAbort → RACQA 2; data CRKEY = key, PRKEY = preemptKey', async () => {
    const f = fake(ok, ok);
    const dev = device(f);
    expect(await dev.preempt({ key: KEY, preemptKey: OTHER, type: 'write-exclusive-registrants-only' })).toMatchObject({ action: 'preempt' });
    expect(await dev.preemptAndAbort({ key: KEY, preemptKey: OTHER, type: 3 })).toMatchObject({ action: 'preempt-and-abort' });
    expect(f.calls[0]).toMatchObject({ opcode: ACQUIRE, cdw10: 0x0301 });
    expect(f.calls[1]).toMatchObject({ opcode: ACQUIRE, cdw10: 0x0202 });
    for (const c of f.calls) expect(c.sent).toEqual(hex(`${KEY_LE} | ${OTHER_LE}`));
  });

  it('preempt with preemptKey 0 (all-registrants reservation) sends PRKEY 0', async () => {
    const f = fake(ok);
    await device(f).preempt({ key: KEY, preemptKey: 0n, type: 'write-exclusive-all-registrants' });
    expect(f.calls[0]).toMatchObject({ cdw10: 0x0501 });
    expect(f.calls[0].sent).toEqual(hex(`${KEY_LE} | ${ZERO_LE}`));
  });
});

describe('NvmeDevice: Reservation Report', () => {
  const holderA: Entry = { cntlid: 1, holds: true, key: KEY, hostId: HOST_A };
  const otherB: Entry = { cntlid: 2, key: OTHER, hostId: HOST_B };

  it('one Report (opcode 0x0e) with EDS = 1 and room for 16 controllers (NUMD 0’s based)', async () => {
    const f = fake(report(7, 0, []));
    await device(f).readKeys();
    expect(f.calls[0]).toMatchObject({ opcode: REPORT, cdw11: 1, dataLength: 64 + 16 * 64, cdw10: (64 + 16 * 64) / 4 - 1 });
  });

  it('readKeys: the generation and every registrant’s key', async () => {
    const f = fake(report(0x01020304, 3, [holderA, otherB]));
    const r = await device(f).readKeys();
    expect(r).toMatchObject({ generation: 0x01020304, keys: [KEY, OTHER], truncated: false, unitAttentions: [] });
  });

  it('readKeys with nobody registered', async () => {
    const f = fake(report(2, 0, []));
    expect(await device(f).readKeys()).toMatchObject({ generation: 2, keys: [], truncated: false });
  });

  it('readReservation: the holder’s key and the SPC type code (RTYPE 3 → 5)', async () => {
    const f = fake(report(5, 3, [otherB, holderA]));
    const r = await device(f).readReservation();
    expect(r).toMatchObject({ generation: 5, reservation: { key: KEY, scope: 0, type: 5, typeName: 'write-exclusive-registrants-only' }, truncated: false });
  });

  it('readReservation: RTYPE 2 → SPC 3 (exclusive access)', async () => {
    const f = fake(report(5, 2, [holderA]));
    expect((await device(f).readReservation()).reservation).toMatchObject({ key: KEY, type: 3, typeName: 'exclusive-access' });
  });

  it('readReservation: no reservation (RTYPE 0) → null', async () => {
    const f = fake(report(5, 0, [otherB]));
    expect((await device(f).readReservation()).reservation).toBeNull();
  });

  it('readReservation: all-registrants types report key 0, as SPC does (RTYPE 5 → 7, RTYPE 6 → 8)', async () => {
    const all = [
      { ...holderA, holds: true },
      { ...otherB, holds: true },
    ];
    const f = fake(report(9, 5, all), report(9, 6, all));
    const dev = device(f);
    expect((await dev.readReservation()).reservation).toEqual({ key: 0n, scope: 0, type: 7, typeName: 'write-exclusive-all-registrants' });
    expect((await dev.readReservation()).reservation).toEqual({ key: 0n, scope: 0, type: 8, typeName: 'exclusive-access-all-registrants' });
  });

  it('readFullStatus: every registrant with its host ID, controller ID and holder flag; the type only on the holder', async () => {
    const f = fake(report(11, 4, [holderA, otherB]));
    const r = await device(f).readFullStatus();
    expect(r.generation).toBe(11);
    expect(r.truncated).toBe(false);
    expect(r.registrations).toEqual([
      {
        key: KEY,
        allTargetPorts: false,
        reservationHolder: true,
        scope: 0,
        type: 6,
        typeName: 'exclusive-access-registrants-only',
        relativeTargetPortId: 1,
        transportId: { protocol: 'nvme', hostId: HOST_A, controllerId: 1 },
      },
      {
        key: OTHER,
        allTargetPorts: false,
        reservationHolder: false,
        scope: 0,
        type: 0,
        relativeTargetPortId: 2,
        transportId: { protocol: 'nvme', hostId: HOST_B, controllerId: 2 },
      },
    ]);
  });

  it('a truncated report (REGCTL > entries that fit) is re-read with room for every controller', async () => {
    const many: Entry[] = Array.from({ length: 20 }, (_, i) => ({ cntlid: i + 1, holds: i === 17, key: BigInt(i + 1), hostId: HOST_A }));
    const f = fake(report(3, 1, many), report(3, 1, many));
    const r = await device(f).readReservation();
    expect(f.calls).toHaveLength(2);
    expect(f.calls[0].dataLength).toBe(64 + 16 * 64);
    expect(f.calls[1]).toMatchObject({ opcode: REPORT, cdw11: 1, dataLength: 64 + 20 * 64, cdw10: (64 + 20 * 64) / 4 - 1 });
    expect(r).toMatchObject({ truncated: false, reservation: { key: 18n, type: 1 } });
    const keys = await device(fake(report(3, 1, many), report(3, 1, many))).readKeys();
    expect(keys.keys).toEqual(many.map((e) => e.key));
  });

  it('reads at most three times when the registrant count keeps growing, and says truncated', async () => {
    const grow = (n: number) => report(1, 0, Array.from({ length: n }, (_, i) => ({ cntlid: i, key: BigInt(i + 1), hostId: HOST_B })));
    const f = fake(grow(17), grow(18), grow(19));
    const r = await device(f).readKeys();
    expect(f.calls.map((c) => c.dataLength)).toEqual([64 + 16 * 64, 64 + 17 * 64, 64 + 18 * 64]);
    expect(r).toMatchObject({ truncated: true });
    expect(r.keys).toHaveLength(18);
  });

  it('reportCapabilities is refused with ERR_NOT_SCSI before any ioctl', async () => {
    const f = fake();
    const e = await rejection(device(f).reportCapabilities());
    expect(e.code).toBe('ERR_NOT_SCSI');
    expect(f.calls).toHaveLength(0);
  });
});

describe('NvmeDevice: statuses and failures', () => {
  it('0x0083 and 0x4083 (DNR) → ReservationConflictError', async () => {
    for (const s of [0x0083, 0x4083]) {
      const e = await rejection(device(fake(status(s))).reserve({ key: KEY, type: 1 }));
      expect(e).toBeInstanceOf(ReservationConflictError);
      expect(e.code).toBe('ERR_RESERVATION_CONFLICT');
      expect(e.message).toContain(PATH);
    }
  });

  it('a path-related status (SCT 3) → TransportError', async () => {
    for (const s of [0x0300, 0x0370, 0x4371]) {
      const e = await rejection(device(fake(status(s))).preemptAndAbort({ key: KEY, preemptKey: OTHER, type: 1 }));
      expect(e).toBeInstanceOf(TransportError);
      expect(e.code).toBe('ERR_TRANSPORT');
    }
  });

  it('any other status → NvmeStatusError (ERR_NVME_STATUS) with the decoded fields', async () => {
    const e = (await rejection(device(fake(status(0x4002))).clear({ key: KEY }))) as unknown as NvmeStatusError;
    expect(e).toBeInstanceOf(NvmeStatusError);
    expect(e).toMatchObject({ code: 'ERR_NVME_STATUS', status: 0x4002, sct: 0, sc: 2, dnr: true, statusName: 'INVALID FIELD IN COMMAND', classification: 'invalid' });
    expect(e.message).toContain(PATH);
  });

  it('a failed report is an error too (no parsing of an unfilled buffer)', async () => {
    const e = await rejection(device(fake(status(0x0006))).readKeys());
    expect(e).toBeInstanceOf(NvmeStatusError);
  });

  it('a native rejection → SyscallError with code, errno, syscall and the path', async () => {
    const e = await rejection(device(fake(fail('EIO', -5))).register({ newKey: KEY }));
    expect(e).toBeInstanceOf(SyscallError);
    expect(e).toMatchObject({ code: 'EIO', errno: -5, syscall: 'ioctl' });
    expect(e.message).toContain(PATH);
    expect(e.message).toContain('Reservation Register');
  });
});

describe('NvmeDevice: refused before any ioctl', () => {
  it('SCSI-only options: allTargetPorts true, transportIds', async () => {
    const f = fake();
    const dev = device(f);
    const e1 = await rejection(dev.register({ newKey: KEY, allTargetPorts: true }));
    expect(e1).toBeInstanceOf(ArgumentRangeError);
    expect(e1.code).toBe('ERR_INVALID_OPTION');
    expect(e1.message).toContain('allTargetPorts');
    const e2 = await rejection(dev.registerAndIgnoreExistingKey({ newKey: KEY, allTargetPorts: true }));
    expect(e2.code).toBe('ERR_INVALID_OPTION');
    const e3 = await rejection(dev.register({ newKey: KEY, transportIds: [{ protocol: 'iscsi', name: 'iqn.2003-01.org.example:a' }] }));
    expect(e3.code).toBe('ERR_INVALID_OPTION');
    expect(f.calls).toHaveLength(0);
  });

  it('allTargetPorts: false is accepted', async () => {
    const f = fake(ok);
    await device(f).register({ newKey: KEY, allTargetPorts: false });
    expect(f.calls).toHaveLength(1);
  });

  it('bad keys, bad types, missing and unknown options', async () => {
    const f = fake();
    const dev = device(f);
    const bad: Array<[string, () => Promise<unknown>]> = [
      ['key too large', () => dev.register({ newKey: 1n << 64n })],
      ['negative key', () => dev.reserve({ key: -1n, type: 1 })],
      ['key not hex', () => dev.clear({ key: 'xyz' })],
      ['preemptKey missing', () => dev.preempt({ key: KEY, type: 1 } as never)],
      ['bad type', () => dev.reserve({ key: KEY, type: 2 as never })],
      ['unknown option', () => dev.release({ key: KEY, type: 1, scope: 1 } as never)],
      ['bad timeout', () => dev.clear({ key: KEY, timeoutMs: 0 })],
      ['readKeys unknown option', () => dev.readKeys({ nope: 1 } as never)],
    ];
    for (const [what, call] of bad) {
      const e = await rejection(call());
      expect(e.name, what).toMatch(/^Argument(Range|Type)Error$/);
    }
    expect(f.calls).toHaveLength(0);
  });

  it('execute and inquiry are refused with ERR_NOT_SCSI', async () => {
    const f = fake();
    const dev = device(f);
    const e1 = await rejection(dev.execute({ cdb: hex('00 00 00 00 00 00'), direction: 'none' }));
    expect(e1.code).toBe('ERR_NOT_SCSI');
    const e2 = await rejection(dev.inquiry());
    expect(e2.code).toBe('ERR_NOT_SCSI');
    expect(f.calls).toHaveLength(0);
  });

  it('REGISTER AND MOVE without a type is refused with ERR_NOT_SCSI without reading the reservation first', async () => {
    const f = fake();
    const e = await rejection(device(f).registerAndMove({ key: 1n, newKey: 2n, transportId: { protocol: 'iscsi', name: 'iqn.2026-12.x:y' }, relativeTargetPortId: 1 }));
    expect(e.code).toBe('ERR_NOT_SCSI');
    expect(f.calls).toHaveLength(0);
  });

  it('an already-aborted signal is refused before the ioctl', async () => {
    const f = fake();
    const e = await rejection(device(f).reserve({ key: KEY, type: 1, signal: AbortSignal.abort() }));
    expect(e).toBeInstanceOf(AbortError);
    expect(f.calls).toHaveLength(0);
  });
});

describe('NvmeDevice.close', () => {
  it('closes the fd once, at once when idle; isClosed turns true', async () => {
    const f = fake();
    const dev = device(f);
    expect(dev.isClosed).toBe(false);
    await dev.close();
    await dev.close();
    expect(dev.isClosed).toBe(true);
    expect(f.events).toEqual([`closeDevice ${FD}`]);
  });

  it('an in-flight ioctl settles first; then the fd is closed, once', async () => {
    const d = deferred();
    const f = fake(d.step);
    const dev = device(f);
    const pending = dev.reserve({ key: KEY, type: 1 });
    await tick();
    expect(f.calls).toHaveLength(1);
    await dev.close();
    await dev.close();
    await tick();
    expect(f.events).toEqual([`ioctl ${ACQUIRE}`]); // not closed under the running ioctl
    d.resolve(0);
    expect(await pending).toMatchObject({ action: 'reserve' });
    expect(f.events).toEqual([`ioctl ${ACQUIRE}`, `settled ${ACQUIRE}`, `closeDevice ${FD}`]);
  });

  it('also after an in-flight ioctl that fails', async () => {
    const d = deferred();
    const f = fake(d.step);
    const dev = device(f);
    const pending = rejection(dev.clear({ key: KEY }));
    await tick();
    await dev.close();
    d.reject(syscallError('EINTR', -4, 'ioctl'));
    expect(await pending).toBeInstanceOf(SyscallError);
    expect(f.events).toEqual([`ioctl ${RELEASE}`, `settled ${RELEASE}`, `closeDevice ${FD}`]);
  });

  it('with two ioctls in flight the fd is closed after the last one', async () => {
    const a = deferred();
    const b = deferred();
    const f = fake(a.step, b.step);
    const dev = device(f);
    const pa = dev.clear({ key: KEY });
    const pb = dev.readKeys();
    await tick();
    await dev.close();
    a.resolve(0);
    await pa;
    expect(f.events).not.toContain(`closeDevice ${FD}`);
    b.resolve(0); // the report buffer stays zeroed: generation 0, nobody registered
    expect(await pb).toMatchObject({ keys: [] });
    expect(f.events.filter((e) => e.startsWith('closeDevice'))).toEqual([`closeDevice ${FD}`]);
    expect(f.events.at(-1)).toBe(`closeDevice ${FD}`);
  });

  it('every PR method after close rejects with DeviceClosedError and sends nothing', async () => {
    const f = fake();
    const dev = device(f);
    await dev.close();
    const calls: Array<() => Promise<unknown>> = [
      () => dev.register({ newKey: KEY }),
      () => dev.register({ key: KEY, newKey: OTHER }),
      () => dev.registerAndIgnoreExistingKey({ newKey: KEY }),
      () => dev.registerAndIgnoreExistingKey({ newKey: 0n }),
      () => dev.reserve({ key: KEY, type: 1 }),
      () => dev.release({ key: KEY, type: 1 }),
      () => dev.clear({ key: KEY }),
      () => dev.preempt({ key: KEY, preemptKey: OTHER, type: 1 }),
      () => dev.preemptAndAbort({ key: KEY, preemptKey: OTHER, type: 1 }),
      () => dev.readKeys(),
      () => dev.readReservation(),
      () => dev.readFullStatus(),
      () => dev.reservationReport(),
    ];
    for (const call of calls) {
      const e = await rejection(call());
      expect(e).toBeInstanceOf(DeviceClosedError);
      expect(e.code).toBe('ERR_DEVICE_CLOSED');
    }
    expect(f.calls).toHaveLength(0);
    expect(f.events).toEqual([`closeDevice ${FD}`]);
  });

  // `register({ key: 0, newKey: 0 })` sends nothing; on a closed device it must still reject
  // like every other call (and like Device.register on SCSI): the closed check is before it.
  it('register({ newKey: 0 }) after close rejects with DeviceClosedError too', async () => {
    const f = fake();
    const dev = device(f);
    await dev.close();
    expect(await rejection(dev.register({ newKey: 0n }))).toBeInstanceOf(DeviceClosedError);
  });
});
