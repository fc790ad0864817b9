import { describe, expect, it } from 'vitest';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import {
  ADDR_OFFSET,
  NVME_IOCTL_ADMIN_CMD,
  NVME_IOCTL_ID,
  NVME_IOCTL_IO_CMD,
  PASSTHRU_CMD_SIZE,
  RESULT_OFFSET,
  encodePassthruCommand,
  ioctlRequest,
  passthruResult,
} from '../../../lib/nvme/passthru-command';
import { hex } from '../support/hex-bytes';
import { thrown } from '../support/thrown';

/** Vectors are written by hand from struct nvme_passthru_cmd in linux/nvme_ioctl.h (little-endian host). */
const Z4 = '00 00 00 00';

describe('ioctl request numbers', () => {
  it('match the values the C preprocessor gives for linux/nvme_ioctl.h on x86_64', () => {
    // Checked with gcc: NVME_IOCTL_ID=0x4e40, NVME_IOCTL_IO_CMD=0xc0484e43, NVME_IOCTL_ADMIN_CMD=0xc0484e41.
    expect(NVME_IOCTL_ID).toBe(0x4e40);
    expect(NVME_IOCTL_IO_CMD).toBe(0xc0484e43);
    expect(NVME_IOCTL_ADMIN_CMD).toBe(0xc0484e41);
  });

  it('encode dir<<30 | size<<16 | type<<8 | nr as an unsigned number', () => {
    // linux/pr.h: IOC_PR_REGISTER = _IOW('p', 200, 24-byte struct) = 0x401870c8.
    expect(ioctlRequest(1, 0x70, 200, 24)).toBe(0x401870c8);
    expect(ioctlRequest(3, 0x4e, 0x43, 72)).toBeGreaterThan(0);
  });
});

describe('encodePassthruCommand', () => {
  it('lays out a Reservation Report command', () => {
    const buf = encodePassthruCommand({ opcode: 0x0e, nsid: 1, cdw10: 0x0f, cdw11: 1, dataLength: 64, timeoutMs: 5000 });
    expect(buf).toEqual(
      hex(`
        0e 00 00 00 | 01 00 00 00 | ${Z4} | ${Z4}
        ${Z4} ${Z4} | ${Z4} ${Z4}
        ${Z4} | 40 00 00 00
        0f 00 00 00 | 01 00 00 00 | ${Z4} | ${Z4} | ${Z4} | ${Z4}
        88 13 00 00 | ${Z4}`),
    );
    expect(buf.length).toBe(72);
    expect(PASSTHRU_CMD_SIZE).toBe(72);
  });

  it('puts every field at its offset', () => {
    const buf = encodePassthruCommand({
      opcode: 0xff,
      nsid: 0x01020304,
      cdw2: 0x11121314,
      cdw3: 0x21222324,
      dataLength: 0x31323334,
      cdw10: 0xa0a1a2a3,
      cdw11: 0xb0b1b2b3,
      cdw12: 0xc0c1c2c3,
      cdw13: 0xd0d1d2d3,
      cdw14: 0xe0e1e2e3,
      cdw15: 0xf0f1f2f3,
      timeoutMs: 0xffffffff,
    });
    expect(buf).toEqual(
      hex(`
        ff 00 00 00 | 04 03 02 01 | 14 13 12 11 | 24 23 22 21
        ${Z4} ${Z4} | ${Z4} ${Z4}
        ${Z4} | 34 33 32 31
        a3 a2 a1 a0 | b3 b2 b1 b0 | c3 c2 c1 c0 | d3 d2 d1 d0 | e3 e2 e1 e0 | f3 f2 f1 f0
        ff ff ff ff | ${Z4}`),
    );
    expect(ADDR_OFFSET).toBe(24);
    expect(RESULT_OFFSET).toBe(68);
  });

  it('refuses fields out of range or of the wrong type', () => {
    for (const bad of [{ opcode: 256 }, { opcode: -1 }, { opcode: 1.5 }, { opcode: 1, nsid: 2 ** 32 }, { opcode: 1, cdw10: -1 }]) {
      const e = thrown(() => encodePassthruCommand(bad));
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e.code).toBe('ERR_INVALID_OPTION');
    }
    for (const bad of [{ opcode: '1' }, {}, { opcode: 1, dataLength: 10n }, null]) {
      const e = thrown(() => encodePassthruCommand(bad as never));
      expect(e).toBeInstanceOf(ArgumentTypeError);
      expect(e.code).toBe('ERR_INVALID_OPTION');
    }
  });
});

describe('passthruResult', () => {
  it('reads completion dword 0 from offset 68', () => {
    const buf = Buffer.alloc(72);
    hex('78 56 34 12').copy(buf, 68);
    expect(passthruResult(buf)).toBe(0x12345678);
  });

  it('refuses a buffer shorter than the struct', () => {
    const e = thrown(() => passthruResult(Buffer.alloc(71)));
    expect(e).toBeInstanceOf(ArgumentRangeError);
    expect(e.message).toMatch(/71 bytes/);
  });
});
