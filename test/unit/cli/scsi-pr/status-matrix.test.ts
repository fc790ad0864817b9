/**
 * The LUN × key matrix of `scsi-pr status` (lib/cli/scsi-pr/status-matrix.ts):
 * reports built by hand, as status() returns them, for the states an operator
 * must tell apart at a glance; and main() choosing it (terminal, --matrix) or
 * not (pipes, --list, --json).
 */
import { describe, it, expect } from 'vitest';
import { columnLabel, formatStatusMatrix, shortTypeName, shortWwns } from '../../../../lib/cli/scsi-pr/status-matrix';
import type { StatusDeviceReport, StatusReport } from '../../../../lib/fencing/fence-status';
import { TransportError } from '../../../../lib/errors';
import { main, type CliIO } from '../../../../lib/cli/scsi-pr';

const A = 0x5c5c0001n;
const B = 0x5c5c0002n;
const C = 0x5c5c0003n;
const WE_RO = 5;

/** [key, nexuses (undefined: unknown), holds the reservation]. */
type Reg = [bigint, number | undefined, boolean?];

/** One LU as status() reports it; `n` picks the device (sdb, sdc, …) and an LIO-like WWN. */
function lu(n: number, regs: Reg[], reservation: { key: bigint; type: number } | null = { key: A, type: WE_RO }, extra: Partial<StatusDeviceReport> = {}): StatusDeviceReport {
  const ours = regs.find((r) => r[0] === A);
  return {
    device: `/dev/sd${String.fromCharCode(98 + n)}`,
    wwn: `naa.6001405cab000${n + 2}000000000000000000`,
    reachable: true,
    registered: ours !== undefined,
    registrations: ours?.[1] ?? 0,
    reservationHolder: reservation?.key === A,
    reservation,
    generation: 0x10 + n,
    keys: regs.flatMap(([k, c]) => Array<bigint>(c ?? 1).fill(k)),
    registrants: regs.map(([key, nexuses, holder]) => ({ key, nexuses, reservationHolder: holder === true })),
    source: 'read-full-status',
    paths: 2,
    ...extra,
  };
}

function unreadable(n: number, message: string): StatusDeviceReport {
  return { device: `/dev/sd${String.fromCharCode(98 + n)}`, wwn: `naa.6001405cab000${n + 2}000000000000000000`, reachable: false, registered: false, registrations: 0, reservationHolder: false, reservation: null, keys: [], registrants: [], paths: 2, error: new TransportError(message, { hostStatus: 1, driverStatus: 0, hostStatusName: 'DID_NO_CONNECT' }) };
}

function report(devices: StatusDeviceReport[]): StatusReport {
  return { registeredEverywhere: devices.every((d) => d.reachable && d.registered), devices };
}

/** The matrix's rows: header cells, then one array of cells per LU (split at 2+ spaces). */
function table(text: string): { header: string[]; rows: string[][]; footer: string[] } {
  const lines = text.split('\n');
  const end = lines.findIndex((l) => l.trim().startsWith('registered on'));
  return {
    header: lines[0]!.split(/ {2,}/),
    rows: lines.slice(2, end).map((l) => l.split(/ {2,}/)),
    footer: lines[end]!.trim().split(/ {2,}/).slice(1),
  };
}

/** The text with wrapped notes and legend lines joined again (continuations are indented). */
function flat(text: string): string {
  return text.replace(/\n {2,}(?=\S)/g, ' ');
}

const healthy = (): StatusDeviceReport[] => [0, 1, 2].map((n) => lu(n, [[A, 2, true], [B, 2]]));

describe('formatStatusMatrix', () => {
  it('full fence: one row per LU, our key first, counts per nexus, the holder starred, no warning', () => {
    const text = formatStatusMatrix(report(healthy()), { key: A });
    const t = table(text);
    expect(t.header).toEqual(['LU', 'WWN', 'gen', 'type', '0x5c5c0001 ours', '0x5c5c0002']);
    expect(t.rows).toEqual([
      ['sdb', '6001405cab0002000000000000000000', '0x10', 'WE-RO', '2/2*', '2'],
      ['sdc', '6001405cab0003000000000000000000', '0x11', 'WE-RO', '2/2*', '2'],
      ['sdd', '6001405cab0004000000000000000000', '0x12', 'WE-RO', '2/2*', '2'],
    ]);
    expect(t.footer).toEqual(['3/3', '3/3']);
    expect(text).not.toMatch(/^!/m);
    expect(text).not.toMatch(/^keys:/m); // full keys head the columns: no letters to name
    expect(text).toMatch(/^cells: N registered through N I_T nexuses/m);
    expect(text.endsWith('status: 0x5c5c0001 registered on 3 of 3 logical unit(s)\n')).toBe(true);
  });

  it('split fence: the victim left on one LU is flagged in its column and in words', () => {
    const devices = healthy();
    devices[1] = lu(1, [[A, 2, true], [B, 2], [C, 1]]);
    const text = formatStatusMatrix(report(devices), { key: A });
    const t = table(text);
    expect(t.header.slice(4)).toEqual(['0x5c5c0001 ours', '0x5c5c0002', '0x5c5c0003']);
    expect(t.rows.map((r) => r[6])).toEqual(['.', '1', '.']);
    expect(t.footer).toEqual(['3/3', '3/3', '1/3!']);
    expect(flat(text)).toMatch(/^! 0x5c5c0003 is registered on 1 of 3 readable LUs \(not on sdb, sdd\): a partial fence, or a partial unfence$/m);
    expect(t.rows[0]![1], 'WWNs cut to make room').toBe('6001405cab000200..');
  });

  it('partial fence from our side: our key missing on one LU, another key holding there', () => {
    const devices = healthy();
    devices[2] = lu(2, [[B, 2, true]], { key: B, type: WE_RO });
    const text = formatStatusMatrix(report(devices), { key: A });
    const t = table(text);
    expect(t.rows[2]).toEqual(['sdd', '6001405cab0004000000000000000000', '0x12', 'WE-RO', '.', '2*']);
    expect(t.footer).toEqual(['2/3!', '3/3']);
    expect(flat(text)).toMatch(/^! our key 0x5c5c0001 is not registered on sdd: partially fenced, or not unfenced there$/m);
    expect(flat(text)).toMatch(/^! the LUs differ in who holds the reservation: 0x5c5c0001 \(WE-RO\) on sdb, sdc; 0x5c5c0002 \(WE-RO\) on sdd$/m);
    expect(text).toMatch(/status: 0x5c5c0001 registered on 2 of 3 logical unit\(s\)\n$/);
  });

  it('no reservation: type "-", no star, and said below', () => {
    const devices = [0, 1].map((n) => lu(n, [[A, 2], [B, 2]], null));
    const text = formatStatusMatrix(report(devices), { key: A });
    expect(table(text).rows).toEqual([
      ['sdb', '6001405cab0002000000000000000000', '0x10', '-', '2/2', '2'],
      ['sdc', '6001405cab0003000000000000000000', '0x11', '-', '2/2', '2'],
    ]);
    expect(text).toMatch(/^! no LU has a reservation/m);
  });

  it('an unreadable LU: shown with its reason, left out of the counts', () => {
    const devices = [lu(0, [[A, 2, true], [B, 2]]), unreadable(1, '/dev/sg7: DID_NO_CONNECT'), lu(2, [[A, 2, true], [B, 2]])];
    const text = formatStatusMatrix(report(devices), { key: A });
    const t = table(text);
    expect(t.rows[1], 'WWNs cut so that the reason fits').toEqual(['sdc', '6001405cab000300..', '?', '?', 'UNREADABLE: /dev/sg7: DID_NO_CONNECT']);
    expect(t.footer).toEqual(['2/2', '2/2']);
    expect(flat(text)).toMatch(/^! sdc \(naa\.6001405cab0003000000000000000000\) could not be read: \/dev\/sg7: DID_NO_CONNECT$/m);
    expect(text).toMatch(/status: 0x5c5c0001 registered on 2 of 3 logical unit\(s\)\n$/);
  });

  it('a long unreadable reason is cut to the width (the whole one is below)', () => {
    const why = `/dev/sg7: ${'x'.repeat(120)}`;
    const text = formatStatusMatrix(report([lu(0, [[A, 2, true]]), unreadable(1, why)]), { key: A });
    for (const l of text.split('\n').slice(0, 5)) expect(l.length, l).toBeLessThanOrEqual(80);
    expect(table(text).rows[1]![4]).toMatch(/^UNREADABLE: \/dev\/sg7: x+\.\.$/);
    expect(flat(text).replace(/ /g, '')).toContain(`couldnotberead:${why}`.replace(/ /g, ''));
  });

  it('count unknown (no READ FULL STATUS): "+" cells, the holder still starred, and why', () => {
    const devices = healthy();
    devices[1] = lu(1, [[A, undefined, true], [B, undefined]], { key: A, type: WE_RO }, { source: 'read-keys' });
    const text = formatStatusMatrix(report(devices), { key: A });
    expect(table(text).rows[1]!.slice(4)).toEqual(['+*', '+']);
    expect(flat(text)).toMatch(/^- sdc: no READ FULL STATUS on this target \(ILLEGAL REQUEST\): read with READ KEYS and READ RESERVATION, so "\+" is registered without a count/m);
    expect(text).toMatch(/\+ registered, count unknown/);
    expect(formatStatusMatrix(report(healthy()), { key: A })).not.toMatch(/count unknown/);
  });

  it('all-registrants types: every registrant holds the reservation', () => {
    const devices = [lu(0, [[A, 2, true], [B, 2, true]], { key: A, type: 7 })];
    const text = formatStatusMatrix(report(devices), { key: A });
    expect(table(text).rows[0]!.slice(3)).toEqual(['WE-AR', '2/2*', '2*']);
  });

  it('our key on fewer nexuses than this host has paths is pointed out', () => {
    const text = formatStatusMatrix(report([lu(0, [[A, 1, true], [B, 2]])]), { key: A });
    expect(table(text).rows[0]![4]).toBe('1/2*');
    expect(flat(text)).toMatch(/^! our key is registered on fewer I_T nexuses than this host has paths on sdb/m);
  });

  it('many keys: letters name the columns, blocks wrap at the width, every key in one column, nothing wider', () => {
    const keys = Array.from({ length: 12 }, (_, i) => 0x7370000700000000n + BigInt(i + 1));
    const devices = [0, 1, 2].map((n) => lu(n, keys.map((k, i): Reg => [k, 2, i === 0]), { key: keys[0]!, type: WE_RO }));
    for (const width of [64, 80, 100]) {
      const text = formatStatusMatrix(report(devices), { key: keys[0]!, width });
      const lines = text.split('\n');
      for (const l of lines) expect(l.length, `width ${width}: ${l}`).toBeLessThanOrEqual(width);
      const headers = lines.filter((l) => /^LU {2}/.test(l));
      if (width < 100) expect(headers.length, `width ${width}: blocks`).toBeGreaterThan(1);
      const labels = headers.flatMap((h) => h.split(/ {2,}/).slice(1).filter((c) => /^[A-Z]{1,2}( ours)?$/.test(c)));
      expect(labels).toEqual(keys.map((_, i) => columnLabel(i) + (i === 0 ? ' ours' : '')));
      // every row of every block has one cell per key
      expect(lines.filter((l) => /^sd[bcd] {2}/.test(l))).toHaveLength(3 * headers.length);
      const legend = text.slice(text.indexOf('keys:'), text.indexOf('\ncells:'));
      for (const [i, k] of keys.entries()) expect(legend, `key ${i}`).toMatch(new RegExp(`\\b${columnLabel(i)} 0x${k.toString(16)}${i === 0 ? ' \\(ours\\)' : ''}(,|$)`));
    }
    // 8 keys fit in one block of 80 columns
    const eight = formatStatusMatrix(report(devices.map((d) => ({ ...d, registrants: d.registrants!.slice(0, 8) }))), { key: keys[0]!, width: 80 });
    expect(eight.split('\n').filter((l) => /^LU {2}/.test(l))).toHaveLength(1);
    expect(table(eight).header.slice(4)).toEqual(['A ours', 'B', 'C', 'D', 'E', 'F', 'G', 'H']);
  });

  it('our key registered nowhere still gets its column', () => {
    const text = formatStatusMatrix(report([lu(0, [[B, 2, true]], { key: B, type: WE_RO })]), { key: A });
    expect(table(text).header.slice(4)).toEqual(['0x5c5c0001 ours', '0x5c5c0002']);
    expect(table(text).rows[0]!.slice(4)).toEqual(['.', '2*']);
    expect(flat(text)).toMatch(/^! our key 0x5c5c0001 is not registered on any readable LU$/m);
  });

  it('reports without registrants (older shape) are read from keys and the reservation', () => {
    const d = lu(0, [[A, 2, true], [B, 1]]);
    delete d.registrants;
    expect(table(formatStatusMatrix(report([d]), { key: A })).rows[0]!.slice(4)).toEqual(['2/2*', '1']);
  });

  it('colours only when asked: bold ours, red where ours is missing', () => {
    const devices = healthy();
    devices[2] = lu(2, [[B, 2, true]], { key: B, type: WE_RO });
    expect(formatStatusMatrix(report(devices), { key: A })).not.toContain('\x1b[');
    const c = formatStatusMatrix(report(devices), { key: A, color: true });
    expect(c).toContain('\x1b[1m2/2*');
    expect(c).toContain('\x1b[31m.');
    expect(c.replace(/\x1b\[\d+m/g, '')).toBe(formatStatusMatrix(report(devices), { key: A }));
  });

  it('volume groups get a column when any LU has one', () => {
    const text = formatStatusMatrix(report(healthy()), { key: A, vgsOf: (d) => (d === '/dev/sdb' ? ['vg_db'] : []) });
    expect(table(text).header.slice(0, 5)).toEqual(['LU', 'WWN', 'VG', 'gen', 'type']);
    expect(table(text).rows.map((r) => r[2])).toEqual(['vg_db', '-', '-']);
  });
});

describe('matrix helpers', () => {
  it('shortTypeName', () => {
    expect([1, 3, 5, 6, 7, 8, 2].map(shortTypeName)).toEqual(['WE', 'EA', 'WE-RO', 'EA-RO', 'WE-AR', 'EA-AR', 'type 2']);
  });

  it('columnLabel: A..Z, AA, AB..', () => {
    expect([0, 1, 25, 26, 27, 51, 52].map(columnLabel)).toEqual(['A', 'B', 'Z', 'AA', 'AB', 'AZ', 'BA']);
  });

  it('shortWwns keeps where WWNs differ: the middle (LIO), the end (arrays); short ones whole; none is "-"', () => {
    expect(shortWwns(['naa.6001405cab0002000000000000000000', 'naa.6001405cab0003000000000000000000'], 18)).toEqual(['6001405cab000200..', '6001405cab000300..']);
    expect(shortWwns(['naa.60060160a0b03300e8c2ad5f4c1ee711', 'naa.60060160a0b03300e8c2ad5f4c1ee799'])).toEqual(['..e8c2ad5f4c1ee711', '..e8c2ad5f4c1ee799']);
    expect(shortWwns(['naa.600140511111111111aa111111111111', 'naa.600140511111111111bb111111111111'])).toEqual(['..511111111111aa..', '..511111111111bb..']);
    expect(shortWwns(['naa.5000c500a1b2c3d4', 'path:/dev/sdx'])).toEqual(['5000c500a1b2c3d4', '-']);
    for (const s of shortWwns(['naa.60060160a0b03300e8c2ad5f4c1ee711', 'naa.600140511111111111aa111111111111'])) expect(s.length).toBeLessThanOrEqual(18);
  });
});

describe('scsi-pr status: which form', () => {
  function io(stdoutIsTTY: boolean, extra: Partial<CliIO> = {}): CliIO & { stdout: () => string; stderr: () => string } {
    let out = '';
    let err = '';
    return { out: (t) => (out += t), err: (t) => (err += t), stderrIsTTY: false, stdoutIsTTY, ...extra, stdout: () => out, stderr: () => err };
  }
  const missing = ['/dev/sd-missing-1'];

  it('a terminal gets the matrix; a pipe the list, as before; --matrix and --list force either', async () => {
    const tty = io(true, { columns: 100 });
    expect(await main(['status', '--key', '0x5c5c0001', ...missing], tty)).toBe(4);
    expect(tty.stdout()).toMatch(/^LU +WWN {2}gen {2}type {2}0x5c5c0001 ours\n/);
    expect(tty.stdout()).toMatch(/UNREADABLE: /);
    const pipe = io(false);
    expect(await main(['status', '--key', '0x5c5c0001', ...missing], pipe)).toBe(4);
    expect(pipe.stdout()).toMatch(/^\/dev\/sd-missing-1 {2}unreachable {4}/);
    const forced = io(false, { columns: 100 });
    await main(['status', '--matrix', '--key', '0x5c5c0001', ...missing], forced);
    expect(forced.stdout()).toBe(tty.stdout());
    const list = io(true);
    await main(['status', '--list', '--key', '0x5c5c0001', ...missing], list);
    expect(list.stdout()).toBe(pipe.stdout());
  });

  it('colours only on a terminal that wants them', async () => {
    const plain = io(true, { color: false });
    await main(['status', '--key', '0x5c5c0001', ...missing], plain);
    expect(plain.stdout()).not.toContain('\x1b[');
    const colored = io(true, { color: true });
    await main(['status', '--key', '0x5c5c0001', ...missing], colored);
    expect(colored.stdout()).toContain('\x1b[');
    const forced = io(false, { color: true });
    await main(['status', '--matrix', '--key', '0x5c5c0001', ...missing], forced);
    expect(forced.stdout()).not.toContain('\x1b[');
  });

  it('the live progress line (stderr) is cleared before the report starts on stdout', async () => {
    const writes: string[] = [];
    const both: CliIO = { out: (t) => writes.push(`out:${t}`), err: (t) => writes.push(`err:${t}`), stderrIsTTY: true, stdoutIsTTY: true };
    await main(['status', '--key', '0x5c5c0001', ...missing], both);
    const firstOut = writes.findIndex((w) => w.startsWith('out:'));
    expect(writes.slice(0, firstOut).some((w) => w.startsWith('err:') && w.includes('status 1/1'))).toBe(true);
    expect(writes[firstOut - 1]).toBe('err:\r\x1b[K');
    expect(writes.slice(firstOut).filter((w) => w.startsWith('err:'))).toEqual([]);
  });

  it('--json on a terminal stays JSON', async () => {
    const tty = io(true);
    await main(['status', '--json', '--key', '0x5c5c0001', ...missing], tty);
    expect(JSON.parse(tty.stdout())).toMatchObject({ operation: 'status', registeredEverywhere: false });
  });
});
