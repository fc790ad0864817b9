/**
 * `scsi-pr status` as an operator's picture: a LUN × key matrix. One row per
 * logical unit (device name, short WWN, PR generation, reservation type), one
 * column per key registered on any LU (ours first, marked), and in each cell
 * whether that key is registered there, through how many I_T nexuses, and
 * whether it holds the reservation; then what is wrong at a glance (a key on
 * some LUs only, our key missing, reservations held by different keys,
 * unreadable LUs), a legend and the same summary line as the list form.
 *
 * Pure: text in, text out (the CLI decides when to use it: a terminal, or
 * `--matrix`). Plain ASCII; ANSI colours only when asked (the CLI asks on a
 * terminal without NO_COLOR). Too many keys for the width: key columns are
 * labelled A, B, C… (named below the table), and wrap into further blocks
 * that repeat the LU name.
 */
import { formatKey } from '../../scsi/keys';
import type { StatusDeviceReport, StatusReport } from '../../fencing/fence-status';

/** Options of {@link formatStatusMatrix}. */
export interface StatusMatrixOptions {
  /** Our key: the first column, marked "ours". */
  key: bigint;
  /** Line width to fit (a terminal's columns); default 80, at least 40. */
  width?: number;
  /** ANSI colours (bold for our column, red/yellow for what is wrong). Default false. */
  color?: boolean;
  /** Volume groups of a device (`--lvm`): a VG column when any LU has one. */
  vgsOf?: (device: string) => readonly string[];
}

/** Short names of the reservation types: WE, EA, WE-RO, EA-RO, WE-AR, EA-AR (`type N` for others). */
export function shortTypeName(type: number): string {
  return { 1: 'WE', 3: 'EA', 5: 'WE-RO', 6: 'EA-RO', 7: 'WE-AR', 8: 'EA-AR' }[type] ?? `type ${type}`;
}

/** Column label `i`: A…Z, then AA, AB… */
export function columnLabel(i: number): string {
  let s = '';
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/**
 * Short forms of LU WWNs that still tell the LUs apart: the designator type
 * (`naa.`) is dropped and, when longer than `max`, a window of the rest is
 * kept that covers where the WWNs differ (LIO's differ in the middle, most
 * arrays' at the end), with `..` where text was cut. `path:` (no WWN) is `-`.
 */
export function shortWwns(wwns: readonly string[], max = 18): string[] {
  const bare = wwns.map((w) => (w.startsWith('path:') ? '' : w.replace(/^(naa|eui|t10|wwn)\./i, '')));
  const real = bare.filter((b) => b.length > 0);
  if (real.every((b) => b.length <= max)) return bare.map((b) => b || '-');
  const minLen = Math.min(...real.map((b) => b.length));
  let p = 0;
  while (p < minLen && real.every((b) => b[p] === real[0]![p])) p++;
  let q = 0;
  while (q < minLen - p && real.every((b) => b[b.length - 1 - q] === real[0]![real[0]!.length - 1 - q])) q++;
  return bare.map((b) => {
    if (!b) return '-';
    if (b.length <= max) return b;
    const regionEnd = real.length > 1 && p < b.length - q ? b.length - q : b.length;
    const cut = (w: number): string => {
      const start = Math.max(0, Math.min(regionEnd - w, b.length - w));
      return `${start > 0 ? '..' : ''}${b.slice(start, start + w)}${start + w < b.length ? '..' : ''}`;
    };
    const one = cut(max - 2); // cut at one end
    return one.length <= max ? one : cut(max - 4); // at both
  });
}

/** A device name for the LU column: `/dev/` dropped, long names cut at the front. */
function deviceLabel(name: string, max = 24): string {
  const s = name.startsWith('/dev/') ? name.slice(5) : name;
  return s.length <= max ? s : `..${s.slice(s.length - (max - 2))}`;
}

function firstLine(e: Error | undefined): string {
  return e ? e.message.split('\n')[0]! : 'not read';
}

/** One key's registrations on one LU, as status() reported them (older reports: from `keys`). */
type Registrant = NonNullable<StatusDeviceReport['registrants']>[number];

function registrantsOf(d: StatusDeviceReport): Registrant[] {
  if (d.registrants) return d.registrants;
  const out = new Map<bigint, Registrant>();
  for (const k of d.keys) {
    const r = out.get(k) ?? { key: k, nexuses: 0, reservationHolder: d.reservation?.key === k };
    r.nexuses = (r.nexuses ?? 0) + 1;
    out.set(k, r);
  }
  return [...out.values()];
}

/** The label of the row under the matrix: on how many readable LUs each key is registered. */
const FOOTER_LABEL = 'registered on';

const ANSI = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33' } as const;

/** A space {@link wrap} never breaks at. */
const NBSP = '\u00a0';

/** Word-wrap `text` to `width` (never at {@link NBSP}), continuation lines indented by `indent` spaces. */
function wrap(text: string, width: number, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = ' '.repeat(indent) + word;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  if (line.trim().length > 0) lines.push(line);
  return lines.map((l) => l.replaceAll(NBSP, ' '));
}

/** `text` as one unbreakable unit for {@link wrap}. */
function unit(text: string): string {
  return text.replaceAll(' ', NBSP);
}

interface Column {
  header: string;
  cells: string[];
  /** Right-aligned (numbers). */
  right?: boolean;
  /** Colour of the cells (ANSI code), by row. */
  paint?: (row: number) => string | undefined;
  /** Key columns: the "registered on" count under the rows. */
  footer?: string;
}

function columnWidth(c: Column): number {
  return Math.max(c.header.length, ...c.cells.map((x) => x.length));
}

/** What {@link findings} needs of the matrix. */
interface MatrixModel {
  devices: readonly StatusDeviceReport[];
  /** Registrants per device (same order). */
  regs: readonly Registrant[][];
  /** Row labels per device. */
  labels: readonly string[];
  /** Readable LUs. */
  readable: number;
  ours: bigint;
  /** Every column's key, ours first. */
  keys: readonly bigint[];
  /** On how many readable LUs a key is registered. */
  count: (k: bigint) => number;
  /** Registered on some readable LUs, not all. */
  partial: (k: bigint) => boolean;
  /** A key as the notes name it (with its column letter when letters are used). */
  nameOf: (k: bigint) => string;
}

/**
 * What differs between the LUs or is wrong, in words (`bad`: printed with
 * `!`): our key missing, a key on some LUs only (partial or split fence),
 * fewer registered nexuses than paths, different reservation holders or none,
 * unreadable LUs, counts unknown, truncated lists.
 */
function findings(m: MatrixModel): Array<{ text: string; bad: boolean }> {
  const { devices, regs, labels, readable, ours, nameOf } = m;
  const where = (pred: (d: StatusDeviceReport, i: number) => boolean): string[] => devices.flatMap((d, i) => (pred(d, i) ? [labels[i]!] : []));
  const lacks = (k: bigint) => (d: StatusDeviceReport, i: number): boolean => d.reachable && !regs[i]!.some((r) => r.key === k);
  const notes: Array<{ text: string; bad: boolean }> = [];
  const missingOurs = where(lacks(ours));
  if (missingOurs.length > 0) {
    const some = missingOurs.length < readable;
    notes.push({ bad: true, text: `our key ${nameOf(ours)} is not registered on ${some ? missingOurs.join(', ') : 'any readable LU'}${some ? ': partially fenced, or not unfenced there' : ''}` });
  }
  for (const k of m.keys) {
    if (k !== ours && m.partial(k)) notes.push({ bad: true, text: `${nameOf(k)} is registered on ${m.count(k)} of ${readable} readable LUs (not on ${where(lacks(k)).join(', ')}): a partial fence, or a partial unfence` });
  }
  const fewPaths = where((d, i) => {
    const r = regs[i]!.find((x) => x.key === ours);
    return d.reachable && r?.nexuses !== undefined && d.paths !== undefined && r.nexuses < d.paths;
  });
  if (fewPaths.length > 0) notes.push({ bad: true, text: `our key is registered on fewer I_T nexuses than this host has paths on ${fewPaths.join(', ')}: a path may be unregistered (unfence registers every path)` });
  const holderOf = (d: StatusDeviceReport, i: number): string => {
    if (!d.reservation) return 'none';
    const type = shortTypeName(d.reservation.type);
    if (isAllRegistrantsType(d.reservation.type)) return `all registrants (${type})`;
    return `${nameOf(regs[i]!.find((r) => r.reservationHolder)?.key ?? d.reservation.key)} (${type})`;
  };
  const holders = new Map<string, string[]>();
  devices.forEach((d, i) => {
    if (d.reachable) holders.set(holderOf(d, i), [...(holders.get(holderOf(d, i)) ?? []), labels[i]!]);
  });
  if (holders.size > 1) {
    notes.push({ bad: true, text: `the LUs differ in who holds the reservation: ${[...holders].map(([h, lus]) => `${h} on ${lus.join(', ')}`).join('; ')}` });
  } else if (holders.has('none')) {
    notes.push({ bad: true, text: 'no LU has a reservation: registrations alone keep nobody from writing, fenced nodes included' });
  }
  for (const d of devices) if (!d.reachable) notes.push({ bad: true, text: `${deviceLabel(d.device)} (${d.wwn.startsWith('path:') ? 'no WWN' : d.wwn}) could not be read: ${firstLine(d.error)}` });
  const noCount = where((d) => d.reachable && d.source === 'read-keys');
  if (noCount.length > 0) notes.push({ bad: false, text: `${noCount.join(', ')}: no READ FULL STATUS on this target (ILLEGAL REQUEST): read with READ KEYS and READ RESERVATION, so "+" is registered without a count of I_T nexuses` });
  const truncated = where((d) => d.reachable && d.truncated === true);
  if (truncated.length > 0) notes.push({ bad: true, text: `${truncated.join(', ')}: more registrations than fit in one response (65535 bytes): only the first ones are shown` });
  return notes;
}

/** WE-AR (7) and EA-AR (8): every registrant holds the reservation. */
function isAllRegistrantsType(type: number): boolean {
  return type === 7 || type === 8;
}

/**
 * The matrix of {@link status}'s report, for a terminal (see the file
 * comment). Each cell: `N` the key is registered through N I_T nexuses
 * (READ FULL STATUS), `N/P` the same in our column with this host's P paths
 * to the LU, `+` registered with the count unknown (the target has no READ
 * FULL STATUS), `*` appended when the key holds the reservation, `.` not
 * registered. The last line is the list form's summary line.
 */
export function formatStatusMatrix(report: StatusReport, options: StatusMatrixOptions): string {
  const width = Math.max(40, options.width ?? 80);
  const color = options.color === true;
  const paint = (code: string | undefined, text: string): string => (color && code ? `\x1b[${code}m${text}\x1b[0m` : text);
  const ours = options.key;
  const devices = report.devices;
  const readable = devices.filter((d) => d.reachable);
  const regs = devices.map(registrantsOf);

  // Columns: our key first, then every other key seen (registered or holding), in numeric order.
  const others = new Set<bigint>();
  devices.forEach((d, i) => {
    if (!d.reachable) return;
    for (const r of regs[i]!) if (r.key !== ours) others.add(r.key);
    if (d.reservation && d.reservation.key !== ours && d.reservation.key !== 0n && !isAllRegistrantsType(d.reservation.type)) others.add(d.reservation.key);
  });
  const keys = [ours, ...[...others].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))];
  const letter = new Map(keys.map((k, i) => [k, columnLabel(i)]));

  const cell = (i: number, k: bigint): string => {
    const d = devices[i]!;
    const r = regs[i]!.find((x) => x.key === k);
    if (!r) return '.';
    let text = r.nexuses === undefined ? '+' : String(r.nexuses);
    if (k === ours && r.nexuses !== undefined && d.paths !== undefined && d.paths > 0) text += `/${d.paths}`;
    return r.reservationHolder ? `${text}*` : text;
  };
  const cellPaint = (i: number, k: bigint): string | undefined => {
    const c = cell(i, k);
    if (c === '.') return k === ours ? ANSI.red : ANSI.dim;
    return k === ours ? ANSI.bold : undefined;
  };

  // The footer: on how many readable LUs each key is registered.
  const count = (k: bigint): number => devices.filter((d, i) => d.reachable && regs[i]!.some((r) => r.key === k)).length;
  const partial = (k: bigint): boolean => count(k) > 0 && count(k) < readable.length;
  const footer = (k: bigint): string => `${count(k)}/${readable.length}${partial(k) || (k === ours && count(k) < readable.length) ? '!' : ''}`;

  const vgs = devices.map((d) => options.vgsOf?.(d.device) ?? []);
  const withVg = vgs.some((v) => v.length > 0);
  const labels = devices.map((d) => deviceLabel(d.device));

  const fixed = (idMax: number): Column[] => {
    const ids = shortWwns(devices.map((d) => d.wwn), idMax);
    return [
      { header: 'LU', cells: labels },
      { header: 'WWN', cells: ids },
      ...(withVg ? [{ header: 'VG', cells: vgs.map((v) => v.join(',') || '-') }] : []),
      { header: 'gen', cells: devices.map((d) => (d.reachable && d.generation !== undefined ? `0x${d.generation.toString(16)}` : '?')), right: true },
      { header: 'type', cells: devices.map((d) => (!d.reachable ? '?' : d.reservation ? shortTypeName(d.reservation.type) : '-')) },
    ];
  };
  const keyColumns = (full: boolean): Column[] =>
    keys.map((k) => {
      const name = full ? formatKey(k) : letter.get(k)!;
      return {
        header: k === ours ? `${name} ours` : name,
        cells: devices.map((d, i) => (d.reachable ? cell(i, k) : '')),
        footer: footer(k),
        paint: (row: number) => (devices[row]!.reachable ? cellPaint(row, k) : undefined),
      };
    });
  const footerOf = (c: Column): string => c.footer ?? '';
  const span = (cols: Column[]): number => cols.reduce((s, c) => s + Math.max(columnWidth(c), footerOf(c).length), 0) + 2 * Math.max(0, cols.length - 1);

  // The widest layout that fits: full WWNs and keys as headers, short WWNs, then letters, then blocks.
  let layout: { fixed: Column[]; keyCols: Column[]; full: boolean } | undefined;
  for (const [idMax, full] of [[64, true], [18, true], [64, false], [18, false]] as const) {
    const f = fixed(idMax);
    const k = keyColumns(full);
    // Whole WWNs only if they leave room for an unreadable LU's reason too.
    const reasons = idMax > 18 ? devices.filter((d) => !d.reachable).map((d) => span(f) + 2 + `UNREADABLE: ${firstLine(d.error)}`.length) : [];
    if (span([...f, ...k]) <= width && reasons.every((w) => w <= width)) {
      layout = { fixed: f, keyCols: k, full };
      break;
    }
  }
  layout ??= { fixed: fixed(18), keyCols: keyColumns(false), full: false };

  // Key columns into blocks: the first after the fixed columns, the others after the LU name alone.
  const blocks: Array<{ lead: Column[]; keys: Column[] }> = [];
  let rest = layout.keyCols;
  let lead = layout.fixed;
  while (rest.length > 0 || blocks.length === 0) {
    let n = 0;
    while (n < rest.length && (n === 0 || span([...lead, ...rest.slice(0, n + 1)]) <= width)) n++;
    blocks.push({ lead, keys: rest.slice(0, n) });
    rest = rest.slice(n);
    lead = [{ ...layout.fixed[0]!, footer: FOOTER_LABEL }];
    if (n === 0) break;
  }

  const out: string[] = [];
  const padCell = (c: Column, text: string, w: number): string => (c.right ? text.padStart(w) : text.padEnd(w));
  for (const [b, block] of blocks.entries()) {
    if (b > 0) out.push('');
    const cols = [...block.lead, ...block.keys];
    const widths = cols.map((c) => Math.max(columnWidth(c), footerOf(c).length));
    const line = (parts: string[]): string => parts.join('  ').trimEnd();
    out.push(line(cols.map((c, j) => paint(j >= block.lead.length && c.header.endsWith(' ours') ? ANSI.bold : undefined, padCell(c, c.header, widths[j]!)))));
    out.push(line(widths.map((w) => '-'.repeat(w))));
    devices.forEach((d, i) => {
      const leadText = block.lead.map((c, j) => padCell(c, c.cells[i]!, widths[j]!));
      if (!d.reachable) {
        const used = leadText.join('  ').length + 2;
        const msg = b === 0 ? `UNREADABLE: ${firstLine(d.error)}` : 'UNREADABLE';
        const room = Math.max(10, width - used);
        out.push(`${leadText.join('  ')}  ${paint(ANSI.red, msg.length > room ? `${msg.slice(0, room - 2)}..` : msg)}`);
        return;
      }
      const keyText = block.keys.map((c, j) => paint(c.paint?.(i), padCell(c, c.cells[i]!, widths[block.lead.length + j]!)));
      out.push(line([...leadText, ...keyText]));
    });
    if (block.keys.length > 0) {
      const leadWidth = widths.slice(0, block.lead.length).reduce((s, w) => s + w, 0) + 2 * (block.lead.length - 1);
      const label = FOOTER_LABEL;
      const footCells = block.keys.map((c, j) => {
        const f = footerOf(c);
        return paint(f.endsWith('!') ? ANSI.yellow : undefined, f.padEnd(widths[block.lead.length + j]!));
      });
      out.push(line([label.length <= leadWidth ? label.padStart(leadWidth) : label.slice(0, leadWidth), ...footCells]));
    }
  }

  const notes = findings({ devices, regs, labels, readable: readable.length, ours, keys, count, partial, nameOf: (k) => (layout.full ? formatKey(k) : `${letter.get(k)} ${formatKey(k)}`) });
  out.push('');
  if (!layout.full) {
    const names = keys.map((k) => unit(`${letter.get(k)} ${formatKey(k)}${k === ours ? ' (ours)' : ''}`));
    out.push(...wrap(`keys:  ${names.join(', ')}`, width, 7));
  }
  for (const n of notes) for (const l of wrap(`${n.bad ? '!' : '-'} ${n.text}`, width, 2)) out.push(n.bad ? paint(ANSI.yellow, l) : l);
  const cells = [
    unit('N registered through N I_T nexuses'),
    ...(devices.some((d) => d.paths !== undefined) ? [`(${unit('N/P in our column: this host has P paths to the LU')})`] : []),
    ...(devices.some((d) => d.reachable && d.source === 'read-keys') ? [unit('+ registered, count unknown')] : []),
    unit('* holds the reservation'),
    unit('. not registered'),
  ];
  out.push(...wrap(`cells: ${cells.join(', ')}`, width, 7));
  const types = ['WE Write Exclusive', 'EA Exclusive Access', '-RO Registrants Only', '-AR All Registrants (each holds it)', '- none'].map(unit);
  out.push(...wrap(`type:  ${types.join(', ')}; ${unit('gen: PR generation')}`, width, 7));
  const reg = devices.filter((d) => d.registered).length;
  out.push(`status: ${formatKey(ours)} registered on ${reg} of ${devices.length} logical unit(s)`);
  return out.join('\n') + '\n';
}
