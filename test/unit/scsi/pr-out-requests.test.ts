import { describe, it, expect } from 'vitest';
import { prOutRequest, type PrOutRequest } from '../../../lib/scsi/pr-out-requests';
import type { PrOutMethod } from '../../../lib/scsi/pr-service-actions';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { hex } from '../support/hex-bytes';
import { thrown } from '../support/thrown';

/** One PR OUT action's request builder, as the `Device` method of that name runs it. */
const builder =
  (method: PrOutMethod) =>
  (options: unknown): PrOutRequest =>
    prOutRequest(method, options);
const registerRequest = builder('register');
const registerAndIgnoreExistingKeyRequest = builder('registerAndIgnoreExistingKey');
const reserveRequest = builder('reserve');
const releaseRequest = builder('release');
const clearRequest = builder('clear');
const preemptRequest = builder('preempt');
const preemptAndAbortRequest = builder('preemptAndAbort');
const registerAndMoveRequest = builder('registerAndMove');
const replaceLostReservationRequest = builder('replaceLostReservation');

/** Expected vectors are written by hand from the SPC-4 CDB and parameter list layouts. */
const Z8 = '00 00 00 00 00 00 00 00';

type Any = (o: never) => PrOutRequest;
const call = (fn: Any, o: unknown): PrOutRequest => fn(o as never);

function expectErr(
  fn: () => unknown,
  cls: typeof ArgumentRangeError | typeof ArgumentTypeError,
  code: string,
  ...patterns: RegExp[]
): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(cls);
  expect(e.code).toBe(code);
  for (const p of patterns) expect(e.message).toMatch(p);
}

/** iSCSI format 0 "iqn.a" (24 bytes). */
const ISCSI_A = hex('05 00 00 14 69 71 6e 2e 61 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00');
/** SAS 0x5000c50005b32001 (24 bytes). */
const SAS = hex('06 00 00 00 50 00 c5 00 05 b3 20 01 00 00 00 00 00 00 00 00 00 00 00 00');

describe('REGISTER', () => {
  it('new registration: RK 0, SARK = newKey', () => {
    const r = registerRequest({ newKey: '0x123abc' });
    expect(r.action).toBe(0);
    expect(r.cdb).toEqual(hex('5f 00 00 00 00 00 00 00 18 00'));
    expect(r.parameterList).toEqual(hex(`${Z8} 00 00 00 00 00 12 3a bc ${Z8}`));
  });
  it('change key: RK = old key', () => {
    const r = registerRequest({ key: 0x123abcn, newKey: 'abcdef' });
    expect(r.parameterList).toEqual(hex(`00 00 00 00 00 12 3a bc 00 00 00 00 00 ab cd ef ${Z8}`));
  });
  it('unregister: SARK 0', () => {
    const r = registerRequest({ key: 0x123abcn, newKey: 0 });
    expect(r.parameterList).toEqual(hex(`00 00 00 00 00 12 3a bc ${Z8} ${Z8}`));
  });
  it('aptpl → byte 20 bit 0', () => {
    const r = registerRequest({ newKey: 1, aptpl: true });
    expect(r.parameterList).toEqual(hex(`${Z8} 00 00 00 00 00 00 00 01 00 00 00 00 01 00 00 00`));
  });
  it('allTargetPorts → byte 20 bit 2', () => {
    const r = registerRequest({ newKey: 1, allTargetPorts: true });
    expect(r.parameterList).toEqual(hex(`${Z8} 00 00 00 00 00 00 00 01 00 00 00 00 04 00 00 00`));
  });
  it('aptpl + allTargetPorts, explicit false', () => {
    expect(registerRequest({ newKey: 1, aptpl: true, allTargetPorts: true }).parameterList[20]).toBe(0x05);
    expect(registerRequest({ newKey: 1, aptpl: false, allTargetPorts: false }).parameterList[20]).toBe(0x00);
  });
  it('transportIds → SPEC_I_PT, list length at 24–27, IDs from 28', () => {
    const r = registerRequest({
      newKey: 0xbn,
      transportIds: [{ protocol: 'sas', sasAddress: 0x5000c50005b32001n }, ISCSI_A],
    });
    expect(r.cdb).toEqual(hex('5f 00 00 00 00 00 00 00 4c 00'));
    expect(r.parameterList).toEqual(
      Buffer.concat([hex(`${Z8} 00 00 00 00 00 00 00 0b 00 00 00 00 08 00 00 00 00 00 00 30`), SAS, ISCSI_A]),
    );
  });
  it('rejects bad transportIds', () => {
    expectErr(() => registerRequest({ newKey: 1, transportIds: [] }), ArgumentRangeError, 'ERR_INVALID_OPTION', /^register: /, /transportIds/);
    expectErr(() => call(registerRequest, { newKey: 1, transportIds: SAS }), ArgumentTypeError, 'ERR_INVALID_OPTION', /transportIds/);
    expectErr(() => registerRequest({ key: 1, newKey: 0, transportIds: [SAS] }), ArgumentRangeError, 'ERR_INVALID_OPTION', /newKey is 0/);
    expectErr(
      () => registerRequest({ newKey: 1, transportIds: [SAS, { protocol: 'sas', sasAddress: -1n }] }),
      ArgumentRangeError,
      'ERR_INVALID_TRANSPORT_ID',
      /^register: transportIds\[1\]: /,
    );
    expectErr(() => registerRequest({ newKey: 1, transportIds: [Buffer.alloc(20)] }), ArgumentRangeError, 'ERR_INVALID_TRANSPORT_ID', /transportIds\[0\]/);
  });
  it('rejects invalid keys with the action and option named', () => {
    expectErr(() => registerRequest({ newKey: 'abc xyz' }), ArgumentRangeError, 'ERR_INVALID_KEY', /^register: newKey "abc xyz" is not a hex string/);
    expectErr(() => registerRequest({ key: '1ffffffffffffffff', newKey: 1 }), ArgumentRangeError, 'ERR_INVALID_KEY', /register: key /);
    expectErr(() => call(registerRequest, { newKey: true }), ArgumentTypeError, 'ERR_INVALID_KEY', /register: newKey must be/);
  });
});

describe('REGISTER AND IGNORE EXISTING KEY', () => {
  it('RK 0, SARK = newKey, flags', () => {
    const r = registerAndIgnoreExistingKeyRequest({ newKey: 0xabcn, aptpl: true });
    expect(r.action).toBe(6);
    expect(r.cdb).toEqual(hex('5f 06 00 00 00 00 00 00 18 00'));
    expect(r.parameterList).toEqual(hex(`${Z8} 00 00 00 00 00 00 0a bc 00 00 00 00 01 00 00 00`));
    expect(registerAndIgnoreExistingKeyRequest({ newKey: 1, allTargetPorts: true }).parameterList[20]).toBe(0x04);
    expect(registerAndIgnoreExistingKeyRequest({ newKey: 0 }).parameterList).toEqual(Buffer.alloc(24));
  });
});

describe('RESERVE / RELEASE / CLEAR', () => {
  it('RESERVE: type in CDB byte 2, RK = key', () => {
    const r = reserveRequest({ key: 0x123abcn, type: 'we' });
    expect(r.action).toBe(1);
    expect(r.cdb).toEqual(hex('5f 01 01 00 00 00 00 00 18 00'));
    expect(r.parameterList).toEqual(hex(`00 00 00 00 00 12 3a bc ${Z8} ${Z8}`));
  });
  it('RESERVE with every type', () => {
    for (const t of [1, 3, 5, 6, 7, 8] as const) {
      expect(reserveRequest({ key: 1, type: t }).cdb).toEqual(hex(`5f 01 0${t} 00 00 00 00 00 18 00`));
    }
  });
  it('RELEASE', () => {
    const r = releaseRequest({ key: 'ABCDEF', type: 'ea-ro' });
    expect(r.action).toBe(2);
    expect(r.cdb).toEqual(hex('5f 02 06 00 00 00 00 00 18 00'));
    expect(r.parameterList).toEqual(hex(`00 00 00 00 00 ab cd ef ${Z8} ${Z8}`));
  });
  it('CLEAR: type byte 0', () => {
    const r = clearRequest({ key: Buffer.from('0102030405060708', 'hex') });
    expect(r.action).toBe(3);
    expect(r.cdb).toEqual(hex('5f 03 00 00 00 00 00 00 18 00'));
    expect(r.parameterList).toEqual(hex(`01 02 03 04 05 06 07 08 ${Z8} ${Z8}`));
  });
  it('invalid type names the action', () => {
    expectErr(() => reserveRequest({ key: 1, type: 2 }), ArgumentRangeError, 'ERR_INVALID_RESERVATION_TYPE', /^reserve: type 2 is not a reservation type/);
    expectErr(() => releaseRequest({ key: 1, type: 'shared' }), ArgumentRangeError, 'ERR_INVALID_RESERVATION_TYPE', /^release: /);
    expectErr(() => call(reserveRequest, { key: 1, type: null }), ArgumentTypeError, 'ERR_INVALID_RESERVATION_TYPE');
  });
});

describe('PREEMPT / PREEMPT AND ABORT', () => {
  it('PREEMPT: RK = own key, SARK = preempted key, type', () => {
    const r = preemptRequest({ key: 0xan, preemptKey: 0xbn, type: 'ea-ar' });
    expect(r.action).toBe(4);
    expect(r.cdb).toEqual(hex('5f 04 08 00 00 00 00 00 18 00'));
    expect(r.parameterList).toEqual(hex(`00 00 00 00 00 00 00 0a 00 00 00 00 00 00 00 0b ${Z8}`));
  });
  it('PREEMPT AND ABORT', () => {
    const r = preemptAndAbortRequest({ key: 'a', preemptKey: 'ffffffffffffffff', type: 'write-exclusive-registrants-only' });
    expect(r.action).toBe(5);
    expect(r.cdb).toEqual(hex('5f 05 05 00 00 00 00 00 18 00'));
    expect(r.parameterList).toEqual(hex(`00 00 00 00 00 00 00 0a ff ff ff ff ff ff ff ff ${Z8}`));
  });
  it('preemptKey 0 is allowed (all-registrants reservations)', () => {
    expect(preemptRequest({ key: 1, preemptKey: 0, type: 7 }).parameterList.subarray(8, 16)).toEqual(Buffer.alloc(8));
  });
  it('invalid preemptKey names the action and option', () => {
    expectErr(() => preemptAndAbortRequest({ key: 1, preemptKey: -5, type: 1 }), ArgumentRangeError, 'ERR_INVALID_KEY', /^preemptAndAbort: preemptKey -5/);
  });
});

describe('REGISTER AND MOVE', () => {
  it('RK = holder key, SARK = destination key, flags byte 17, RTPI, one TransportID', () => {
    const r = registerAndMoveRequest({
      key: 0xan,
      newKey: 0xbn,
      transportId: { protocol: 'iscsi', name: 'iqn.a' },
      relativeTargetPortId: 2,
      unregister: true,
      aptpl: true,
    });
    expect(r.action).toBe(7);
    expect(r.cdb).toEqual(hex('5f 07 00 00 00 00 00 00 30 00'));
    expect(r.parameterList).toEqual(
      Buffer.concat([hex('00 00 00 00 00 00 00 0a 00 00 00 00 00 00 00 0b 00 03 00 02 00 00 00 18'), ISCSI_A]),
    );
  });
  it('no flags, Buffer TransportID, RTPI 0xffff', () => {
    const r = registerAndMoveRequest({ key: 1, newKey: 2, transportId: SAS, relativeTargetPortId: 0xffff });
    expect(r.parameterList).toEqual(
      Buffer.concat([hex('00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 02 00 00 ff ff 00 00 00 18'), SAS]),
    );
    expect(registerAndMoveRequest({ key: 1, newKey: 2, transportId: SAS, relativeTargetPortId: 0, unregister: true }).parameterList[17]).toBe(0x02);
    expect(registerAndMoveRequest({ key: 1, newKey: 2, transportId: SAS, relativeTargetPortId: 0, aptpl: true }).parameterList[17]).toBe(0x01);
  });

  it('sends TYPE in CDB byte 2 when given (0 when omitted), validated like every type', () => {
    const cdb = (t?: unknown) => registerAndMoveRequest({ key: 1, newKey: 2, transportId: SAS, relativeTargetPortId: 1, ...(t === undefined ? {} : { type: t as 5 }) }).cdb;
    expect([...cdb()]).toEqual([0x5f, 0x07, 0x00, 0, 0, 0, 0, 0, 0x30, 0]);
    expect(cdb('write-exclusive-registrants-only')[2]).toBe(0x05);
    expect(cdb(8)[2]).toBe(0x08);
    expectErr(() => cdb(2), ArgumentRangeError, 'ERR_INVALID_RESERVATION_TYPE', /^registerAndMove: /);
  });
  it('relativeTargetPortId must be an integer 0..65535', () => {
    for (const rtpi of [-1, 65536, 1.5, NaN]) {
      expectErr(
        () => registerAndMoveRequest({ key: 1, newKey: 2, transportId: SAS, relativeTargetPortId: rtpi }),
        ArgumentRangeError,
        'ERR_INVALID_OPTION',
        /^registerAndMove: /,
        /relativeTargetPortId/,
      );
    }
    expectErr(() => call(registerAndMoveRequest, { key: 1, newKey: 2, transportId: SAS, relativeTargetPortId: '1' }), ArgumentTypeError, 'ERR_INVALID_OPTION', /relativeTargetPortId/);
  });
  it('exactly one TransportID', () => {
    expectErr(
      () => call(registerAndMoveRequest, { key: 1, newKey: 2, transportId: [SAS], relativeTargetPortId: 1 }),
      ArgumentRangeError,
      'ERR_INVALID_OPTION',
      /registerAndMove: option transportId must be exactly one TransportID/,
    );
    expectErr(
      () => registerAndMoveRequest({ key: 1, newKey: 2, transportId: { protocol: 'iscsi', name: 'iqn a' }, relativeTargetPortId: 1 }),
      ArgumentRangeError,
      'ERR_INVALID_TRANSPORT_ID',
      /^registerAndMove: transportId: /,
    );
  });
  it('newKey must not be 0', () => {
    expectErr(() => registerAndMoveRequest({ key: 1, newKey: 0, transportId: SAS, relativeTargetPortId: 1 }), ArgumentRangeError, 'ERR_INVALID_OPTION', /newKey must not be 0/);
  });
});

describe('REPLACE LOST RESERVATION', () => {
  it('RK 0, SARK = newKey, type', () => {
    const r = replaceLostReservationRequest({ newKey: 0xbn, type: 3 });
    expect(r.action).toBe(8);
    expect(r.cdb).toEqual(hex('5f 08 03 00 00 00 00 00 18 00'));
    expect(r.parameterList).toEqual(hex(`${Z8} 00 00 00 00 00 00 00 0b ${Z8}`));
  });
});

describe('option validation for every action', () => {
  const actions: Array<{ name: string; method: string; fn: Any; valid: Record<string, unknown>; inapplicable: Record<string, unknown> }> = [
    {
      name: 'REGISTER',
      method: 'register',
      fn: registerRequest as Any,
      valid: { newKey: 1 },
      inapplicable: { type: 1, preemptKey: 2, transportId: SAS, relativeTargetPortId: 1, unregister: true },
    },
    {
      name: 'REGISTER AND IGNORE EXISTING KEY',
      method: 'registerAndIgnoreExistingKey',
      fn: registerAndIgnoreExistingKeyRequest as Any,
      valid: { newKey: 1 },
      inapplicable: { key: 1, transportIds: [SAS], type: 1, preemptKey: 1, unregister: false },
    },
    {
      name: 'RESERVE',
      method: 'reserve',
      fn: reserveRequest as Any,
      valid: { key: 1, type: 1 },
      inapplicable: { aptpl: true, allTargetPorts: true, newKey: 2, preemptKey: 2, transportIds: [SAS] },
    },
    {
      name: 'RELEASE',
      method: 'release',
      fn: releaseRequest as Any,
      valid: { key: 1, type: 1 },
      inapplicable: { aptpl: false, transportIds: [SAS], newKey: 2, unregister: true },
    },
    {
      name: 'CLEAR',
      method: 'clear',
      fn: clearRequest as Any,
      valid: { key: 1 },
      inapplicable: { type: 1, newKey: 2, aptpl: true, preemptKey: 2 },
    },
    {
      name: 'PREEMPT',
      method: 'preempt',
      fn: preemptRequest as Any,
      valid: { key: 1, preemptKey: 2, type: 1 },
      inapplicable: { aptpl: true, newKey: 3, allTargetPorts: true, transportId: SAS },
    },
    {
      name: 'PREEMPT AND ABORT',
      method: 'preemptAndAbort',
      fn: preemptAndAbortRequest as Any,
      valid: { key: 1, preemptKey: 2, type: 1 },
      inapplicable: { allTargetPorts: true, transportIds: [SAS], unregister: true, newKey: 3 },
    },
    {
      name: 'REGISTER AND MOVE',
      method: 'registerAndMove',
      fn: registerAndMoveRequest as Any,
      valid: { key: 1, newKey: 2, transportId: SAS, relativeTargetPortId: 1 },
      inapplicable: { transportIds: [SAS], allTargetPorts: true, preemptKey: 3 },
    },
    {
      name: 'REPLACE LOST RESERVATION',
      method: 'replaceLostReservation',
      fn: replaceLostReservationRequest as Any,
      valid: { newKey: 2, type: 1 },
      inapplicable: { key: 1, aptpl: true, preemptKey: 3, transportIds: [SAS] },
    },
  ];

  for (const { name, method, fn, valid, inapplicable } of actions) {
    describe(name, () => {
      it('accepts the minimal valid options; CDB length matches the parameter list', () => {
        const r = call(fn, valid);
        expect(r.cdb.length).toBe(10);
        expect(r.cdb[0]).toBe(0x5f);
        expect(r.cdb.readUInt32BE(5)).toBe(r.parameterList.length);
        expect(r.cdb[2]! >> 4).toBe(0); // LU_SCOPE
      });

      for (const [opt, value] of Object.entries(inapplicable)) {
        it(`rejects inapplicable option ${opt}`, () => {
          expectErr(
            () => call(fn, { ...valid, [opt]: value }),
            ArgumentRangeError,
            'ERR_INVALID_OPTION',
            new RegExp(`^${method}: option "${opt}" does not apply to ${name}; accepted options: `),
          );
        });
      }

      it('rejects an unknown option name (typo)', () => {
        expectErr(() => call(fn, { ...valid, nweKey: 5 }), ArgumentRangeError, 'ERR_INVALID_OPTION', new RegExp(`^${method}: option "nweKey" is not an option of ${name}`));
      });

      it('treats undefined-valued options as absent', () => {
        expect(() => call(fn, { ...valid, ...Object.fromEntries(Object.keys(inapplicable).map((k) => [k, undefined])) })).not.toThrow();
      });

      for (const req of Object.keys(valid)) {
        it(`requires ${req}`, () => {
          const o: Record<string, unknown> = { ...valid };
          delete o[req];
          expectErr(() => call(fn, o), ArgumentTypeError, 'ERR_INVALID_OPTION', new RegExp(`^${method}: option ${req} is required`));
        });
      }

      it('rejects a non-object options argument', () => {
        for (const bad of [undefined, null, 'key', 5, [valid]]) {
          expectErr(() => call(fn, bad), ArgumentTypeError, 'ERR_INVALID_OPTION', new RegExp(`^${method}: options must be an object`));
        }
      });
    });
  }

  it('rejects non-boolean flags', () => {
    expectErr(() => call(registerRequest, { newKey: 1, aptpl: 1 }), ArgumentTypeError, 'ERR_INVALID_OPTION', /^register: option aptpl must be a boolean/);
    expectErr(() => call(registerRequest, { newKey: 1, allTargetPorts: 'true' }), ArgumentTypeError, 'ERR_INVALID_OPTION', /allTargetPorts/);
    expectErr(() => call(registerAndIgnoreExistingKeyRequest, { newKey: 1, aptpl: null }), ArgumentTypeError, 'ERR_INVALID_OPTION', /aptpl/);
    expectErr(
      () => call(registerAndMoveRequest, { key: 1, newKey: 2, transportId: SAS, relativeTargetPortId: 1, unregister: 'yes' }),
      ArgumentTypeError,
      'ERR_INVALID_OPTION',
      /^registerAndMove: option unregister must be a boolean/,
    );
  });
});
