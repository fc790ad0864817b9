import { describe, expect, it } from 'vitest';
import { ascName, isKnownAsc } from '../../../lib/scsi/asc-names';
import { decodeSense, formatSense, senseKeyName, undecodableSense } from '../../../lib/scsi/sense';
import { hex } from '../support/hex-bytes';

/** Buffer from a hex string; spaces, newlines and `|` are ignored. */

describe('decodeSense: fixed format', () => {
  it('decodes UNIT ATTENTION 2Ah/05h (registrations preempted), as LIO sends it', () => {
    const s = decodeSense(hex('70 00 06 00000000 0a 00000000 2a 05 00 000000'))!;
    expect(s).toMatchObject({
      format: 'fixed',
      responseCode: 0x70,
      deferred: false,
      senseKey: 6,
      senseKeyName: 'UNIT ATTENTION',
      asc: 0x2a,
      ascq: 0x05,
      ascName: 'REGISTRATIONS PREEMPTED',
    });
    expect(s.information).toBeUndefined();
    expect(s.senseKeySpecific).toBeUndefined();
    expect(s.descriptors).toBeUndefined();
    expect(formatSense(s)).toBe('UNIT ATTENTION: REGISTRATIONS PREEMPTED (asc 0x2a, ascq 0x05)');
  });

  it('reports the INFORMATION field only when VALID is set', () => {
    const valid = decodeSense(hex('f0 00 03 00001234 0a 00000000 11 00 00 000000'))!;
    expect(valid.senseKeyName).toBe('MEDIUM ERROR');
    expect(valid.ascName).toBe('UNRECOVERED READ ERROR');
    expect(valid.information).toBe(0x1234n);
    const invalid = decodeSense(hex('70 00 03 00001234 0a 00000000 11 00 00 000000'))!;
    expect(invalid.information).toBeUndefined();
  });

  it('decodes FILEMARK/EOM/ILI, command-specific information and FRU', () => {
    const s = decodeSense(hex('70 00 e0 00000000 0a 0000abcd 00 00 07 000000'))!;
    expect(s).toMatchObject({ senseKey: 0, filemark: true, eom: true, ili: true, fieldReplaceableUnitCode: 7 });
    expect(s.commandSpecificInformation).toBe(0xabcdn);
  });

  it('decodes an ILLEGAL REQUEST field pointer into the CDB with bit pointer', () => {
    const s = decodeSense(hex('70 00 05 00000000 0a 00000000 24 00 00 cc 0001'))!;
    expect(s.senseKeySpecific).toEqual({ kind: 'field-pointer', commandData: true, fieldPointer: 1, bitPointer: 4 });
    expect(formatSense(s)).toBe('ILLEGAL REQUEST: INVALID FIELD IN CDB (asc 0x24, ascq 0x00; CDB byte 1 bit 4)');
  });

  it('decodes an ILLEGAL REQUEST field pointer into the parameter list without bit pointer', () => {
    const s = decodeSense(hex('70 00 05 00000000 0a 00000000 26 00 00 80 0014'))!;
    expect(s.senseKeySpecific).toEqual({ kind: 'field-pointer', commandData: false, fieldPointer: 20 });
    expect(formatSense(s)).toBe(
      'ILLEGAL REQUEST: INVALID FIELD IN PARAMETER LIST (asc 0x26, ascq 0x00; parameter list byte 20)',
    );
  });

  it('ignores the sense key specific bytes when SKSV is clear', () => {
    const s = decodeSense(hex('70 00 05 00000000 0a 00000000 24 00 00 4c 0001'))!;
    expect(s.senseKeySpecific).toBeUndefined();
  });

  it('decodes progress indication for NOT READY', () => {
    const s = decodeSense(hex('70 00 02 00000000 0a 00000000 04 04 00 80 8000'))!;
    expect(s.ascName).toBe('LOGICAL UNIT NOT READY, FORMAT IN PROGRESS');
    expect(s.senseKeySpecific).toEqual({ kind: 'progress', progress: 0x8000, percent: 50 });
    expect(formatSense(s)).toContain('progress 50.0%');
  });

  it('decodes retry count, segment pointer, UA overflow and raw sense key specific data', () => {
    expect(decodeSense(hex('70 00 01 00000000 0a 00000000 17 01 00 80 0003'))!.senseKeySpecific).toEqual({
      kind: 'retry-count',
      retryCount: 3,
    });
    expect(decodeSense(hex('70 00 0a 00000000 0a 00000000 0d 00 00 aa 0010'))!.senseKeySpecific).toEqual({
      kind: 'segment-pointer',
      segmentDescriptor: true,
      fieldPointer: 16,
      bitPointer: 2,
    });
    expect(decodeSense(hex('70 00 06 00000000 0a 00000000 29 00 00 81 0000'))!.senseKeySpecific).toEqual({
      kind: 'unit-attention-overflow',
      overflow: true,
    });
    const raw = decodeSense(hex('70 00 07 00000000 0a 00000000 27 00 00 81 0203'))!.senseKeySpecific;
    expect(raw).toEqual({ kind: 'raw', bytes: hex('81 0203') });
  });

  it('decodes a deferred error (71h)', () => {
    const s = decodeSense(hex('71 00 03 00000000 0a 00000000 0c 00 00 000000'))!;
    expect(s.deferred).toBe(true);
    expect(s.responseCode).toBe(0x71);
    expect(formatSense(s)).toBe('MEDIUM ERROR: WRITE ERROR (asc 0x0c, ascq 0x00; deferred)');
  });

  it('reads ASC/ASCQ only when the additional sense length covers them', () => {
    // additional length 0: only the 8-byte header is valid, even though bytes follow
    const none = decodeSense(hex('70 00 06 00000000 00 00000000 2a 05'))!;
    expect(none).toMatchObject({ senseKey: 6, asc: 0, ascq: 0, ascName: 'NO ADDITIONAL SENSE INFORMATION' });
    // additional length 5 covers byte 12 (ASC) but not byte 13 (ASCQ)
    const ascOnly = decodeSense(hex('70 00 06 00000000 05 00000000 2a 05'))!;
    expect(ascOnly).toMatchObject({ asc: 0x2a, ascq: 0 });
    // additional length 6 covers both
    expect(decodeSense(hex('70 00 06 00000000 06 00000000 2a 05'))).toMatchObject({ asc: 0x2a, ascq: 5 });
  });

  it('does not read past a buffer shorter than the additional sense length claims', () => {
    const s = decodeSense(hex('70 00 06 00000000 ff 00000000 29 07'))!;
    expect(s).toMatchObject({ senseKey: 6, asc: 0x29, ascq: 0x07, ascName: 'I_T NEXUS LOSS OCCURRED' });
    expect(s.fieldReplaceableUnitCode).toBeUndefined();
    expect(s.senseKeySpecific).toBeUndefined();
    // VALID set but the INFORMATION bytes are not all there
    expect(decodeSense(hex('f0 00 06 0000'))!.information).toBeUndefined();
  });

  it('keeps the sense key of a short fixed buffer', () => {
    expect(decodeSense(hex('70 00 06'))).toMatchObject({ senseKey: 6, asc: 0, ascq: 0 });
    expect(decodeSense(hex('70 00'))).toBeNull();
    expect(decodeSense(hex('70'))).toBeNull();
  });

  it('copies the raw bytes', () => {
    const buf = hex('70 00 06 00000000 0a 00000000 2a 05 00 000000');
    const s = decodeSense(buf)!;
    buf.fill(0);
    expect(s.raw[12]).toBe(0x2a);
  });
});

describe('decodeSense: descriptor format', () => {
  it('decodes a header-only descriptor sense (UNIT ATTENTION 2Ah/03h)', () => {
    const s = decodeSense(hex('72 06 2a 03 000000 00'))!;
    expect(s).toMatchObject({
      format: 'descriptor',
      responseCode: 0x72,
      deferred: false,
      senseKey: 6,
      asc: 0x2a,
      ascq: 0x03,
      ascName: 'RESERVATIONS PREEMPTED',
      descriptors: [],
    });
    expect(formatSense(s)).toBe('UNIT ATTENTION: RESERVATIONS PREEMPTED (asc 0x2a, ascq 0x03)');
  });

  it('decodes information and sense key specific descriptors', () => {
    const info = '00 0a 80 00 0000000000001234';
    const sks = '02 06 0000 cc 0002 00';
    const s = decodeSense(hex(`72 05 24 00 000000 14 ${info} ${sks}`))!;
    expect(s.senseKeyName).toBe('ILLEGAL REQUEST');
    expect(s.information).toBe(0x1234n);
    expect(s.senseKeySpecific).toEqual({ kind: 'field-pointer', commandData: true, fieldPointer: 2, bitPointer: 4 });
    expect(s.descriptors!.map((d) => d.type)).toEqual([0x00, 0x02]);
    expect(s.descriptors![0]!.bytes).toEqual(hex(info));
  });

  it('decodes command-specific, FRU, stream and block descriptors', () => {
    const csi = '01 0a 0000 00000000000000ff';
    const fru = '03 02 00 09';
    const stream = '04 02 00 c0';
    const block = '05 02 00 20';
    const body = `${csi}${fru}${stream}${block}`.replace(/\s/g, '');
    const s = decodeSense(hex(`72 08 00 05 000000 ${(body.length / 2).toString(16)} ${body}`))!;
    expect(s.senseKeyName).toBe('BLANK CHECK');
    expect(s.ascName).toBe('END-OF-DATA DETECTED');
    expect(s.commandSpecificInformation).toBe(0xffn);
    expect(s).toMatchObject({ fieldReplaceableUnitCode: 9, filemark: true, eom: true, ili: true });
    expect(s.descriptors).toHaveLength(4);
  });

  it('ignores the INFORMATION descriptor when its VALID bit is clear', () => {
    const s = decodeSense(hex('72 03 11 00 000000 0c 00 0a 00 00 0000000000001234'))!;
    expect(s.information).toBeUndefined();
    expect(s.descriptors).toHaveLength(1);
  });

  it('decodes a deferred descriptor sense (73h)', () => {
    const s = decodeSense(hex('73 04 44 00 000000 00'))!;
    expect(s).toMatchObject({ deferred: true, senseKeyName: 'HARDWARE ERROR', ascName: 'INTERNAL TARGET FAILURE' });
  });

  it('drops a descriptor that runs past the additional length or the buffer', () => {
    const info = '00 0a 80 00 0000000000001234';
    // additional length 0x14 claims two descriptors, the buffer holds 1.5
    const s = decodeSense(hex(`72 05 24 00 000000 14 ${info} 02 06 0000 cc`))!;
    expect(s.descriptors!.map((d) => d.type)).toEqual([0x00]);
    expect(s.senseKeySpecific).toBeUndefined();
    // additional length stops inside the first descriptor
    const t = decodeSense(hex(`72 05 24 00 000000 06 ${info}`))!;
    expect(t.descriptors).toEqual([]);
    expect(t.information).toBeUndefined();
    // a lone byte where a descriptor header should be
    expect(decodeSense(hex('72 05 24 00 000000 01 00'))!.descriptors).toEqual([]);
  });

  it('handles descriptor sense shorter than the 8-byte header', () => {
    expect(decodeSense(hex('72 06 2a 05'))).toMatchObject({ senseKey: 6, asc: 0x2a, ascq: 5, descriptors: [] });
    expect(decodeSense(hex('72 06 2a'))).toMatchObject({ senseKey: 6, asc: 0x2a, ascq: 0 });
    expect(decodeSense(hex('72 06'))).toMatchObject({ senseKey: 6, asc: 0, ascq: 0 });
    expect(decodeSense(hex('72'))).toBeNull();
  });
});

describe('decodeSense: garbage', () => {
  it('returns null for empty, unknown and vendor-specific formats', () => {
    expect(decodeSense(Buffer.alloc(0))).toBeNull();
    expect(decodeSense(Buffer.alloc(18))).toBeNull();
    expect(decodeSense(hex('7f 00 06 00000000 0a 00000000 2a 05'))).toBeNull();
    expect(decodeSense(hex('74 06 2a 05 000000 00'))).toBeNull();
    expect(decodeSense(hex('ff ff ff ff'))).toBeNull();
  });

  it('masks the VALID bit from the response code (F0h/F1h/F2h are fixed/deferred/descriptor)', () => {
    expect(decodeSense(hex('f1 00 06 00000000 06 00000000 29 00'))).toMatchObject({ format: 'fixed', deferred: true });
    expect(decodeSense(hex('f2 06 29 00'))).toMatchObject({ format: 'descriptor', responseCode: 0x72 });
  });

  it('never throws on random bytes', () => {
    let seed = 0x12345678;
    const rand = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let i = 0; i < 3000; i++) {
      const buf = Buffer.alloc(rand() % 40);
      for (let j = 0; j < buf.length; j++) buf[j] = rand() & 0xff;
      if (buf.length > 0 && i % 2 === 0) buf[0] = 0x70 + (rand() % 4);
      const s = decodeSense(buf);
      if (s !== null) {
        expect(typeof formatSense(s)).toBe('string');
        expect(s.senseKey).toBeGreaterThanOrEqual(0);
        expect(s.senseKey).toBeLessThan(16);
      }
    }
  });
});

describe('undecodableSense / formatSense', () => {
  it('describes missing sense data', () => {
    const s = undecodableSense(Buffer.alloc(0));
    expect(s).toMatchObject({ format: 'unknown', responseCode: -1, senseKey: -1, asc: -1, ascq: -1 });
    expect(formatSense(s)).toBe('no sense data');
  });

  it('describes unrecognized sense data with its bytes', () => {
    const s = undecodableSense(hex('7f 01 02'));
    expect(s.responseCode).toBe(0x7f);
    expect(formatSense(s)).toBe('unrecognized sense data (3 bytes: 7f 01 02)');
    expect(formatSense(undecodableSense(Buffer.alloc(40)))).toMatch(/^unrecognized sense data \(40 bytes: (00 ){31}00 …\)$/);
  });
});

describe('senseKeyName', () => {
  it('names all sixteen sense keys', () => {
    expect([...Array(16).keys()].map(senseKeyName)).toEqual([
      'NO SENSE',
      'RECOVERED ERROR',
      'NOT READY',
      'MEDIUM ERROR',
      'HARDWARE ERROR',
      'ILLEGAL REQUEST',
      'UNIT ATTENTION',
      'DATA PROTECT',
      'BLANK CHECK',
      'VENDOR SPECIFIC',
      'COPY ABORTED',
      'ABORTED COMMAND',
      'EQUAL',
      'VOLUME OVERFLOW',
      'MISCOMPARE',
      'COMPLETED',
    ]);
  });

  it('falls back for out-of-range values', () => {
    expect(senseKeyName(16)).toBe('SENSE KEY 0x10');
    expect(senseKeyName(-1)).toBe('SENSE KEY 0xffffffff');
  });
});

describe('ascName', () => {
  it.each([
    [0x2a, 0x03, 'RESERVATIONS PREEMPTED'],
    [0x2a, 0x04, 'RESERVATIONS RELEASED'],
    [0x2a, 0x05, 'REGISTRATIONS PREEMPTED'],
    [0x2a, 0x01, 'MODE PARAMETERS CHANGED'],
    [0x2a, 0x06, 'ASYMMETRIC ACCESS STATE CHANGED'],
    [0x29, 0x00, 'POWER ON, RESET, OR BUS DEVICE RESET OCCURRED'],
    [0x29, 0x07, 'I_T NEXUS LOSS OCCURRED'],
    [0x04, 0x00, 'LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE'],
    [0x04, 0x0a, 'LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION'],
    [0x04, 0x0b, 'LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE'],
    [0x3f, 0x0e, 'REPORTED LUNS DATA HAS CHANGED'],
    [0x3f, 0x03, 'INQUIRY DATA HAS CHANGED'],
    [0x20, 0x00, 'INVALID COMMAND OPERATION CODE'],
    [0x24, 0x00, 'INVALID FIELD IN CDB'],
    [0x25, 0x00, 'LOGICAL UNIT NOT SUPPORTED'],
    [0x26, 0x00, 'INVALID FIELD IN PARAMETER LIST'],
    [0x26, 0x04, 'INVALID RELEASE OF PERSISTENT RESERVATION'],
    [0x2c, 0x00, 'COMMAND SEQUENCE ERROR'],
    [0x2c, 0x09, 'PREVIOUS RESERVATION CONFLICT STATUS'],
    [0x55, 0x02, 'INSUFFICIENT RESERVATION RESOURCES'],
    [0x55, 0x04, 'INSUFFICIENT REGISTRATION RESOURCES'],
    [0x3a, 0x00, 'MEDIUM NOT PRESENT'],
    [0x0e, 0x03, 'INVALID FIELD IN COMMAND INFORMATION UNIT'],
    [0x47, 0x7f, 'SOME COMMANDS CLEARED BY ISCSI PROTOCOL EVENT'],
    [0x4b, 0x07, 'CONNECTION LOST'],
    [0x44, 0x00, 'INTERNAL TARGET FAILURE'],
    [0x44, 0x01, 'PERSISTENT RESERVATION INFORMATION LOST'],
    [0x1a, 0x00, 'PARAMETER LIST LENGTH ERROR'],
    [0x5d, 0x00, 'FAILURE PREDICTION THRESHOLD EXCEEDED'],
    [0x5d, 0x14, 'HARDWARE IMPENDING FAILURE TOO MANY BLOCK REASSIGNS'],
    [0x5d, 0x6c, 'FIRMWARE IMPENDING FAILURE DRIVE CALIBRATION RETRY COUNT'],
  ])('ASC %#x ASCQ %#x is %s', (asc, ascq, name) => {
    expect(ascName(asc, ascq)).toBe(name);
    expect(isKnownAsc(asc, ascq)).toBe(true);
  });

  it('names parameterised codes', () => {
    expect(ascName(0x40, 0x85)).toBe('DIAGNOSTIC FAILURE ON COMPONENT 0x85');
    expect(ascName(0x40, 0x12)).toBe('RAM FAILURE (0x12)');
    expect(ascName(0x4d, 0x2c)).toBe('TAGGED OVERLAPPED COMMANDS (TASK TAG 0x2c)');
    expect(ascName(0x40, 0x00)).toBe('RAM FAILURE (SHOULD USE 40 NN)');
  });

  it('falls back for vendor-specific and unknown codes', () => {
    expect(ascName(0x80, 0x01)).toBe('VENDOR SPECIFIC (ASC 0x80, ASCQ 0x01)');
    expect(ascName(0xff, 0xff)).toBe('VENDOR SPECIFIC (ASC 0xff, ASCQ 0xff)');
    expect(ascName(0x04, 0x81)).toBe('VENDOR SPECIFIC ASCQ 0x81 OF ASC 0x04');
    expect(ascName(0x2a, 0x42)).toBe('ASC 0x2a ASCQ 0x42');
    expect(ascName(0x56, 0x00)).toBe('ASC 0x56 ASCQ 0x00');
    expect(isKnownAsc(0x2a, 0x42)).toBe(false);
    expect(isKnownAsc(0x80, 0x00)).toBe(false);
  });
});
