/**
 * scsi-pr's PR IN text against sg_persist's. The expected strings are what
 * `sg_persist -n` (sg3_utils 1.46) printed in the lab for the same responses;
 * the responses are built as raw parameter data and go through the real parsers.
 */
import { describe, it, expect } from 'vitest';
import { parseReadFullStatus, parseReadKeys, parseReadReservation, parseReportCapabilities } from '../../../../lib/scsi/pr-in-parsers';
import { encodeTransportId, type TransportId } from '../../../../lib/scsi/transport-id';
import {
  errorToJSON,
  formatFenceReport,
  formatReadFullStatus,
  formatReadKeys,
  formatReadReservation,
  formatReportCapabilities,
  formatServiceStart,
  formatServiceStatus,
  formatServiceStop,
  formatStatusReport,
  formatTransportIdLines,
  formatUnfenceReport,
  formatUnitAttentions,
  progressLine,
  sgTypeName,
  toJSONText,
} from '../../../../lib/cli/scsi-pr/cli-output';
import { ReservationConflictError, ScsiPrError, ScsiSenseError } from '../../../../lib/errors';
import { decodeSense } from '../../../../lib/scsi/sense';

const N1 = 'iqn.2026-11.org.scsi-pr.lab:node1';
const N2 = 'iqn.2026-11.org.scsi-pr.lab:node2';

function keysResponse(generation: number, keys: bigint[]): Buffer {
  const b = Buffer.alloc(8 + keys.length * 8);
  b.writeUInt32BE(generation, 0);
  b.writeUInt32BE(keys.length * 8, 4);
  keys.forEach((k, i) => b.writeBigUInt64BE(k, 8 + i * 8));
  return b;
}

function reservationResponse(generation: number, res?: { key: bigint; type: number; scope?: number }): Buffer {
  const b = Buffer.alloc(res ? 24 : 8);
  b.writeUInt32BE(generation, 0);
  if (res) {
    b.writeUInt32BE(16, 4);
    b.writeBigUInt64BE(res.key, 8);
    b[21] = ((res.scope ?? 0) << 4) | res.type;
  }
  return b;
}

interface Desc {
  key: bigint;
  allTargetPorts?: boolean;
  holder?: boolean;
  type?: number;
  rtpi?: number;
  tid: TransportId;
}

function fullStatusResponse(generation: number, descs: Desc[]): Buffer {
  const parts = descs.map((d) => {
    const tid = encodeTransportId(d.tid);
    const b = Buffer.alloc(24 + tid.length);
    b.writeBigUInt64BE(d.key, 0);
    b[12] = (d.allTargetPorts ? 2 : 0) | (d.holder ? 1 : 0);
    b[13] = d.type ?? 0;
    b.writeUInt16BE(d.rtpi ?? 0, 18);
    b.writeUInt32BE(tid.length, 20);
    tid.copy(b, 24);
    return b;
  });
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(generation, 0);
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

const parse = <T>(fn: (b: Buffer, n: number) => T, b: Buffer): T => fn(b, b.length);

describe('READ KEYS like sg_persist -n -k', () => {
  it('no keys', () => {
    expect(formatReadKeys(parse(parseReadKeys, keysResponse(0, [])))).toBe('  PR generation=0x0, there are NO registered reservation keys\n');
  });
  it('one key', () => {
    expect(formatReadKeys(parse(parseReadKeys, keysResponse(1, [0x7n])))).toBe('  PR generation=0x1, 1 registered reservation key follows:\n    0x7\n');
  });
  it('several keys, in device order, duplicates kept, 64-bit keys in lowercase hex without padding', () => {
    expect(formatReadKeys(parse(parseReadKeys, keysResponse(0x4, [0x5c5c0001n, 0x5c5c0002n, 0x5c5c0002n, 0xffffffffffffffffn])))).toBe(
      '  PR generation=0x4, 4 registered reservation keys follow:\n    0x5c5c0001\n    0x5c5c0002\n    0x5c5c0002\n    0xffffffffffffffff\n',
    );
  });
  it('the lab example (sg_persist 1.46 output, verbatim)', () => {
    expect(formatReadKeys(parse(parseReadKeys, keysResponse(2, [0x5c5c0001n, 0x5c5c0002n])))).toBe(
      '  PR generation=0x2, 2 registered reservation keys follow:\n    0x5c5c0001\n    0x5c5c0002\n',
    );
  });
});

describe('READ RESERVATION like sg_persist -n -r', () => {
  it('none', () => {
    expect(formatReadReservation(parse(parseReadReservation, reservationResponse(5)))).toBe('  PR generation=0x5, there is NO reservation held\n');
  });
  it('held (note sg_persist\'s two spaces before "type:")', () => {
    expect(formatReadReservation(parse(parseReadReservation, reservationResponse(2, { key: 0x5c5c0001n, type: 5 })))).toBe(
      '  PR generation=0x2, Reservation follows:\n    Key=0x5c5c0001\n    scope: LU_SCOPE,  type: Write Exclusive, registrants only\n',
    );
  });
  it('every type name is sg_persist\'s', () => {
    const want: Record<number, string> = {
      0: 'obsolete [0]',
      1: 'Write Exclusive',
      2: 'obsolete [2]',
      3: 'Exclusive Access',
      4: 'obsolete [4]',
      5: 'Write Exclusive, registrants only',
      6: 'Exclusive Access, registrants only',
      7: 'Write Exclusive, all registrants',
      8: 'Exclusive Access, all registrants',
      9: 'obsolete [9]',
      10: 'obsolete [0xa]',
      15: 'obsolete [0xf]',
    };
    for (const [code, name] of Object.entries(want)) expect(sgTypeName(Number(code))).toBe(name);
  });
  it('a non-LU scope is printed as a number', () => {
    expect(formatReadReservation(parse(parseReadReservation, reservationResponse(1, { key: 0n, type: 7, scope: 2 })))).toBe(
      '  PR generation=0x1, Reservation follows:\n    Key=0x0\n    scope: 2  type: Write Exclusive, all registrants\n',
    );
  });
});

describe('REPORT CAPABILITIES like sg_persist -n -c', () => {
  it('LIO (verbatim from the lab)', () => {
    const b = Buffer.from([0x00, 0x08, 0x1d, 0x90, 0xea, 0x01, 0x00, 0x00]);
    expect(formatReportCapabilities(parse(parseReportCapabilities, b))).toBe(
      [
        'Report capabilities response:',
        '  Replace Lost Reservation Capable(RLR_C): 0',
        '  Compatible Reservation Handling(CRH): 1',
        '  Specify Initiator Ports Capable(SIP_C): 1',
        '  All Target Ports Capable(ATP_C): 1',
        '  Persist Through Power Loss Capable(PTPL_C): 1',
        '  Type Mask Valid(TMV): 1',
        '  Allow Commands: 1',
        '  Persist Through Power Loss Active(PTPL_A): 0',
        '    Support indicated in Type mask:',
        '      Write Exclusive, all registrants: 1',
        '      Exclusive Access, registrants only: 1',
        '      Write Exclusive, registrants only: 1',
        '      Exclusive Access: 1',
        '      Write Exclusive: 1',
        '      Exclusive Access, all registrants: 1',
        '',
      ].join('\n'),
    );
  });
  it('TMV clear: no type mask lines; PTPL_A and RLR_C set', () => {
    const b = Buffer.from([0x00, 0x08, 0x81, 0x01, 0xff, 0xff, 0x00, 0x00]);
    const text = formatReportCapabilities(parse(parseReportCapabilities, b));
    expect(text).toContain('  Replace Lost Reservation Capable(RLR_C): 1\n');
    expect(text).toContain('  Type Mask Valid(TMV): 0\n');
    expect(text).toContain('  Persist Through Power Loss Active(PTPL_A): 1\n');
    expect(text).not.toContain('Support indicated');
  });
  it('a partial type mask', () => {
    const b = Buffer.from([0x00, 0x08, 0x00, 0x80, 0x20, 0x00, 0x00, 0x00]);
    const text = formatReportCapabilities(parse(parseReportCapabilities, b));
    expect(text).toContain('      Write Exclusive, registrants only: 1\n      Exclusive Access: 0\n');
    expect(text).toContain('      Exclusive Access, all registrants: 0\n');
  });
});

describe('READ FULL STATUS like sg_persist -n -s', () => {
  it('no descriptors', () => {
    expect(formatReadFullStatus(parse(parseReadFullStatus, fullStatusResponse(5, [])))).toBe('  PR generation=0x5\n  No full status descriptors\n');
  });
  it('holder and registrant over iSCSI (verbatim from the lab)', () => {
    const r = parse(
      parseReadFullStatus,
      fullStatusResponse(2, [
        { key: 0x5c5c0001n, holder: true, type: 5, rtpi: 1, tid: { protocol: 'iscsi', name: N1, isid: '00023d000002' } },
        { key: 0x5c5c0002n, rtpi: 1, tid: { protocol: 'iscsi', name: N2, isid: '00023d000001' } },
      ]),
    );
    expect(formatReadFullStatus(r)).toBe(
      [
        '  PR generation=0x2',
        '    Key=0x5c5c0001',
        '      All target ports bit clear',
        '      Relative port address: 0x1',
        '      << Reservation holder >>',
        '      scope: LU_SCOPE,  type: Write Exclusive, registrants only',
        '      Transport Id of initiator:',
        `        iSCSI world wide unique port id: ${N1},i,0x00023d000002`,
        '    Key=0x5c5c0002',
        '      All target ports bit clear',
        '      Relative port address: 0x1',
        '      not reservation holder',
        '      Transport Id of initiator:',
        `        iSCSI world wide unique port id: ${N2},i,0x00023d000001`,
        '',
      ].join('\n'),
    );
  });
  it('ALL_TG_PT set: no relative port line (verbatim from the lab)', () => {
    const r = parse(parseReadFullStatus, fullStatusResponse(4, [{ key: 0x7n, allTargetPorts: true, tid: { protocol: 'iscsi', name: N1, isid: '00023d000002' } }]));
    expect(formatReadFullStatus(r)).toBe(
      `  PR generation=0x4\n    Key=0x7\n      All target ports bit set\n      not reservation holder\n      Transport Id of initiator:\n        iSCSI world wide unique port id: ${N1},i,0x00023d000002\n`,
    );
  });
});

describe('TransportIDs like sg3_utils sg_decode_transportid_str', () => {
  const lines = (id: TransportId) => formatTransportIdLines(id, '      ');
  it('iSCSI name only', () => {
    expect(lines({ protocol: 'iscsi', name: N1 })).toBe(`      Transport Id of initiator:\n        iSCSI name: ${N1}\n`);
  });
  it('FCP: hex bytes', () => {
    expect(lines({ protocol: 'fcp', nPortName: 0x10000000c9f3a571n })).toBe('      Transport Id of initiator:\n        FCP-2 World Wide Name:\n      10 00 00 00 c9 f3 a5 71\n');
  });
  it('SAS', () => {
    expect(lines({ protocol: 'sas', sasAddress: 0x5000c50005b32001n })).toBe('      Transport Id of initiator:\n        SAS address: 0x5000c50005b32001\n');
  });
  it('SPI', () => {
    expect(lines({ protocol: 'spi', scsiAddress: 7, relativePortId: 1 })).toBe(
      '      Transport Id of initiator:\n        Parallel SCSI initiator SCSI address: 0x7\n        relative port number (of corresponding target): 0x1\n',
    );
  });
  it('SRP: 16 bytes with the extra space after 8', () => {
    expect(lines({ protocol: 'srp', initiatorPortId: Buffer.from('00112233445566778899aabbccddeeff', 'hex') })).toBe(
      '      Transport Id of initiator:\n        RDMA initiator port identifier:\n      00 11 22 33 44 55 66 77  88 99 aa bb cc dd ee ff\n',
    );
  });
  it('SBP, SOP, unknown', () => {
    expect(lines({ protocol: 'sbp', eui64: 0x0123456789abcdefn })).toContain('IEEE 1394 EUI-64 name:\n      01 23 45 67 89 ab cd ef\n');
    expect(lines({ protocol: 'sop', routingId: 0x102 })).toContain('SOP Routing ID: 0x102\n');
    const raw = Buffer.alloc(24);
    raw[0] = 0x07;
    expect(lines({ protocol: 'unknown', protocolId: 7, format: 0, raw })).toContain('  ADT:\n        TPID format: 0\n      07 00 00 00');
  });
});

describe('JSON', () => {
  it('keys become "0x…" strings; errors keep name, code, message, path and sense', () => {
    const sense = decodeSense(Buffer.from([0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x2a, 0x05, 0, 0, 0, 0]))!;
    const conflict = new ReservationConflictError('/dev/sg1: PERSISTENT RESERVE OUT (RESERVE) failed: RESERVATION CONFLICT', { path: '/dev/sg1', cdb: Buffer.from([0x5f, 1]) });
    const ua = new ScsiSenseError('/dev/sg1: failed: UNIT ATTENTION', sense, { path: '/dev/sg1' });
    const j = JSON.parse(toJSONText({ keys: [1n, 0x5c5c0001n], error: conflict, nested: { e: ua }, unitAttentions: [sense] }));
    expect(j.keys).toEqual(['0x1', '0x5c5c0001']);
    expect(j.error).toEqual({ name: 'ReservationConflictError', message: conflict.message, code: 'ERR_RESERVATION_CONFLICT', path: '/dev/sg1', cdb: '5f01' });
    expect(j.nested.e).toMatchObject({ code: 'ERR_UNIT_ATTENTION', sense: { key: 6, asc: 0x2a, ascq: 5, ascName: 'REGISTRATIONS PREEMPTED' } });
    expect(j.unitAttentions).toEqual([{ key: 6, keyName: 'UNIT ATTENTION', asc: 0x2a, ascq: 5, ascName: 'REGISTRATIONS PREEMPTED' }]);
    expect(errorToJSON('plain')).toEqual({ message: 'plain' });
  });
  it('verbose UNIT ATTENTION lines', () => {
    const sense = decodeSense(Buffer.from([0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x2a, 0x05, 0, 0, 0, 0]))!;
    expect(formatUnitAttentions('/dev/sg1', [sense])).toBe('/dev/sg1: retried after UNIT ATTENTION: REGISTRATIONS PREEMPTED (asc 0x2a, ascq 0x05)\n');
  });
});

const NO_PHASES = { open: 0, check: 0, arbiter: 0, preempt: 0, verify: 0, close: 0 };

describe('multi-device reports', () => {
  it('fence: every LU, then one summary line', () => {
    const text = formatFenceReport(
      {
        ok: false,
        lost: false,
        fenced: ['/dev/sg1'],
        notFenced: ['/dev/sg9'],
        withoutAbort: [],
        durationMs: 3,
        phases: NO_PHASES,
        devices: [
          { device: '/dev/sg1', wwn: 'naa.1', outcome: 'fenced', ok: true, generationBefore: 2, generationAfter: 3, reservation: { key: 1n, type: 5 }, durationMs: 1 },
          { device: '/dev/sg9', wwn: 'path:/dev/sg9', outcome: 'failed', ok: false, error: new ScsiPrError('ERR_NO_PATH', '/dev/sg9: no such device'), durationMs: 1 },
        ],
      },
      2n,
    );
    expect(text).toBe(
      '/dev/sg1  fenced          generation 0x2 -> 0x3, reservation 0x1 Write Exclusive, registrants only\n' +
        '/dev/sg9  failed          /dev/sg9: no such device\n' +
        'fence: 0x2 fenced on 1 of 2 logical unit(s); NOT fenced: /dev/sg9\n',
    );
    const lost = formatFenceReport({ ok: false, lost: true, fenced: [], notFenced: ['/dev/sg1'], withoutAbort: [], durationMs: 1, phases: NO_PHASES, devices: [{ device: '/dev/sg1', wwn: 'w', outcome: 'lost', ok: false, durationMs: 1 }] }, 2n);
    expect(lost).toMatch(/fence: LOST: our own key is gone/);
    const noAbort = formatFenceReport(
      {
        ok: true,
        lost: false,
        fenced: ['/dev/sg1', '/dev/sg2'],
        notFenced: [],
        withoutAbort: ['/dev/sg2'],
        durationMs: 2,
        phases: NO_PHASES,
        devices: [
          { device: '/dev/sg1', wwn: 'naa.1', outcome: 'fenced', ok: true, method: 'preempt-and-abort', reservation: { key: 1n, type: 5 }, durationMs: 1 },
          { device: '/dev/sg2', wwn: 'naa.2', outcome: 'fenced', ok: true, method: 'preempt', reservation: { key: 1n, type: 5 }, durationMs: 1 },
        ],
      },
      2n,
    );
    expect(noAbort).toMatch(/^fence: 0x2 fenced on all 2 logical unit\(s\) in 2\.0 ms\nfence: the target refused PREEMPT AND ABORT on 1 logical unit\(s\), fenced with PREEMPT: the victim's commands already queued there were not aborted: \/dev\/sg2 \(--require-abort refuses this\)\n$/m);
  });
  it('unfence and status', () => {
    expect(
      formatUnfenceReport({ ok: true, durationMs: 1, devices: [{ device: '/dev/sdb', wwn: 'w', ok: true, pathsRegistered: 2, paths: 2, reservation: 'reserved', unitAttentions: [], errors: [], durationMs: 1 }] }, 1n),
    ).toBe('/dev/sdb  ok      registered on 2/2 path(s), reserved\nunfence: 0x1 registered on all 1 logical unit(s)\n');
    const st = formatStatusReport(
      {
        registeredEverywhere: false,
        devices: [
          { device: '/dev/sdb', wwn: 'w', reachable: true, registered: true, registrations: 2, reservationHolder: true, reservation: { key: 1n, type: 5 }, keys: [1n, 1n, 2n] },
          { device: '/dev/sdc', wwn: 'w2', reachable: false, registered: false, registrations: 0, reservationHolder: false, reservation: null, keys: [], error: new Error('/dev/sdc: no such device') },
        ],
      },
      1n,
      (d) => (d === '/dev/sdb' ? ['vg0'] : []),
    );
    expect(st).toBe(
      '/dev/sdb  holder          2 path(s) with our key, reservation 0x1 Write Exclusive, registrants only, keys: 0x1 0x1 0x2  [vg0]\n' +
        '/dev/sdc  unreachable     /dev/sdc: no such device\n' +
        'status: 0x1 registered on 1 of 2 logical unit(s)\n',
    );
  });
  it('progress line', () => {
    expect(progressLine({ operation: 'fence', phase: 'preempt', device: '/dev/sg3', done: 2, total: 12, ok: true })).toBe('fence: preempt 2/12 /dev/sg3');
    expect(progressLine({ operation: 'unfence', phase: 'unfence', device: '/dev/sg3', done: 1, total: 2, ok: false })).toBe('unfence: unfence 1/2 FAILED /dev/sg3');
  });
});

describe('service messages', () => {
  const dev = { device: '/dev/mapper/mpatha', wwn: 'naa.1', volumeGroups: ['vg_db'] };
  it('start', () => {
    const text = formatServiceStart({
      key: 0x0a000001n,
      keySource: 'ipv4',
      ok: true,
      devices: [{ ...dev, ok: true, pathsRegistered: 2, paths: 2, reservation: 'existing', holder: 0x0a000002n, unitAttentions: [], errors: [], durationMs: 1 }],
    });
    expect(text).toBe(
      'scsi-pr service: /dev/mapper/mpatha [vg_db]: registered on 2/2 path(s), reservation held by 0xa000002\n' +
        'scsi-pr service: started: key 0xa000001 (from the IPv4 address) registered on all 1 device(s)\n',
    );
  });
  it('stop', () => {
    const text = formatServiceStop({
      key: 1n,
      keySource: 'option',
      ok: false,
      devices: [
        { ...dev, ok: true, released: true, pathsUnregistered: 2, paths: 2, registrationsBefore: 2, errors: [] },
        { device: '/dev/sdc', volumeGroups: ['vg_db'], ok: false, released: false, pathsUnregistered: 0, paths: 1, registrationsBefore: 1, errors: [new Error('/dev/sdc: transport error')] },
        { device: '/dev/sdd', volumeGroups: [], ok: true, released: false, pathsUnregistered: 1, paths: 1, registrationsBefore: 0, errors: [] },
        { device: '/dev/sde', volumeGroups: [], ok: true, released: true, pathsUnregistered: 2, paths: 2, registrationsBefore: 2, errors: [], source: 'read-keys' },
        { device: '/dev/sdf', volumeGroups: [], ok: true, released: false, pathsUnregistered: 1, paths: 1, registrationsBefore: 1, errors: [], source: 'read-full-status' },
      ],
    });
    expect(text).toBe(
      'scsi-pr service: /dev/mapper/mpatha [vg_db]: reservation released, unregistered on 2/2 path(s)\n' +
        'scsi-pr service: /dev/sdc [vg_db]: FAILED (unregistered on 0/1 path(s)): /dev/sdc: transport error\n' +
        'scsi-pr service: /dev/sdd: was not registered\n' +
        'scsi-pr service: /dev/sde: reservation released, unregistered on 2/2 path(s) (checked with READ KEYS: no READ FULL STATUS on this target)\n' +
        'scsi-pr service: /dev/sdf: unregistered on 1/1 path(s)\n' +
        'scsi-pr service: stop FAILED: key 0x1 may still be registered on /dev/sdc\n',
    );
  });
  it('status', () => {
    const base = { wwn: 'w', reservation: null, keys: [], reachable: true };
    const text = formatServiceStatus({
      key: 1n,
      keySource: 'option',
      registeredEverywhere: false,
      registeredNowhere: false,
      unknown: false,
      devices: [
        { ...base, device: '/dev/sdb', volumeGroups: ['vg_db'], registered: true, registrations: 1, reservationHolder: true },
        { ...base, device: '/dev/sdc', volumeGroups: ['vg_logs'], registered: false, registrations: 0, reservationHolder: false },
      ],
    });
    expect(text).toBe(
      '/dev/sdb  vg_db    registered on 1 path(s), reservation holder\n' +
        '/dev/sdc  vg_logs  not registered\n' +
        'scsi-pr service: partial: key 0x1 registered on 1 of 2 device(s)\n',
    );
    expect(formatServiceStatus({ key: 1n, keySource: 'option', registeredEverywhere: false, registeredNowhere: true, unknown: false, devices: [] })).toBe(
      'scsi-pr service: not running: no device of a shared volume group found\n',
    );
  });
});
