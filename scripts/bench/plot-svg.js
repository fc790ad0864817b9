#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * The fence-scaling plot: scale-bench.js's JSON in, a small self-contained SVG out
 * (no dependencies). Log-log axes: LUN count (8, 64, 256) against time in ms;
 * one solid line per netem delay for fence() (median, min-max whiskers), one
 * dashed line per delay for the C PREEMPT AND ABORT fan-out, and a dotted
 * "linear" guide (time proportional to LUNs) through fence's first point at the
 * first delay: on log-log axes linear growth is that slope, flat is no growth.
 *
 *   node scripts/bench/plot-svg.js scale-bench.json [out.svg]   (default: stdout)
 */
const fs = require('node:fs');

/**
 * @typedef {{medianMs: number, minMs: number, maxMs: number}} Stat
 * @typedef {{delayMs: number, luns: number, fence: Stat, cFanout: Stat}} SummaryRow
 * @typedef {{summary: SummaryRow[], lab?: {nodes?: number, luns?: number, paths?: number, target?: string}, pathsPerLuFence?: number, rounds?: number}} ScaleBenchResult
 */

const W = 560;
const H = 330;
const M = { left: 58, right: 168, top: 34, bottom: 46 };
const COLORS = ['#1f66b0', '#c0392b', '#2e8b57', '#8e44ad'];

/** @param {number} x */
const fmt = (x) => (Math.round(x * 10) / 10).toString();
/** @param {string} s */
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** 1-2-5 ticks covering [lo, hi]. @param {number} lo @param {number} hi */
function logTicks(lo, hi) {
  const ticks = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e;
      if (t >= lo * 0.999 && t <= hi * 1.001) ticks.push(t);
    }
  }
  return ticks;
}

/**
 * Render the plot.
 * @param {ScaleBenchResult} result  scale-bench.js's JSON (its `summary` rows are what is drawn)
 * @returns {string} the SVG document
 */
function renderFenceScalingSvg(result) {
  const rows = result.summary;
  if (!Array.isArray(rows) || rows.length === 0) throw new Error('plot-svg: the JSON has no summary rows');
  const sizes = [...new Set(rows.map((r) => r.luns))].sort((a, b) => a - b);
  const delays = [...new Set(rows.map((r) => r.delayMs))].sort((a, b) => a - b);
  const values = rows.flatMap((r) => [r.fence.minMs, r.fence.maxMs, r.cFanout.minMs, r.cFanout.maxMs]).filter((v) => v > 0);
  const first = rows.find((r) => r.delayMs === delays[0] && r.luns === sizes[0]);
  const guide = first && sizes.length > 1 ? { from: first.fence.medianMs, to: first.fence.medianMs * (sizes[sizes.length - 1] / sizes[0]) } : null;
  if (guide) values.push(guide.to);
  const candidates = logTicks(10 ** Math.floor(Math.log10(Math.min(...values))), 10 ** Math.ceil(Math.log10(Math.max(...values))));
  const yLo = Math.max(...candidates.filter((t) => t <= Math.min(...values)));
  const yHi = Math.min(...candidates.filter((t) => t >= Math.max(...values)));
  const xLo = sizes[0] / 1.5;
  const xHi = sizes[sizes.length - 1] * 1.5;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (/** @type {number} */ v) => M.left + ((Math.log(v) - Math.log(xLo)) / (Math.log(xHi) - Math.log(xLo))) * pw;
  const y = (/** @type {number} */ v) => M.top + ph - ((Math.log(v) - Math.log(yLo)) / (Math.log(yHi) - Math.log(yLo))) * ph;
  const p = (/** @type {number} */ v) => v.toFixed(1);

  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  const paths = result.pathsPerLuFence ?? result.lab?.paths;
  const title = `fence() time vs LUN count${paths ? ` (${paths} path${paths > 1 ? 's' : ''}/LU)` : ''}, UML lab`;
  out.push(`<text x="${M.left}" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`);
  // grid and ticks
  out.push('<g stroke="#e3e3e3">');
  for (const t of logTicks(yLo, yHi)) out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${p(y(t))}" y2="${p(y(t))}"/>`);
  for (const s of sizes) out.push(`<line x1="${p(x(s))}" x2="${p(x(s))}" y1="${M.top}" y2="${M.top + ph}"/>`);
  out.push('</g>');
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#555"/>`);
  out.push('<g fill="#333" text-anchor="end">');
  for (const t of logTicks(yLo, yHi)) out.push(`<text x="${M.left - 5}" y="${p(y(t) + 4)}">${fmt(t)}</text>`);
  out.push('</g><g fill="#333" text-anchor="middle">');
  for (const s of sizes) out.push(`<text x="${p(x(s))}" y="${M.top + ph + 15}">${s}</text>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 10}">LUNs fenced (log scale)</text>`);
  out.push(`<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)">time, ms (log scale)</text>`);
  out.push('</g>');
  if (guide) {
    out.push(`<line x1="${p(x(sizes[0]))}" y1="${p(y(guide.from))}" x2="${p(x(sizes[sizes.length - 1]))}" y2="${p(y(guide.to))}" stroke="#999" stroke-dasharray="1 3"/>`);
  }
  // series: fence solid with whiskers, C dashed
  const legend = [];
  delays.forEach((d, i) => {
    const color = COLORS[i % COLORS.length];
    for (const [kind, dash] of /** @type {const} */ ([['fence', ''], ['cFanout', '6 4']])) {
      const pts = sizes.map((s) => rows.find((r) => r.delayMs === d && r.luns === s)).filter((r) => r !== undefined).map((r) => ({ luns: r.luns, st: r[kind] }));
      if (pts.length === 0) continue;
      const off = kind === 'fence' ? -3 : 3; // keep the whiskers of the two series apart
      out.push(`<g stroke="${color}" fill="${kind === 'fence' ? color : '#fff'}">`);
      out.push(`<polyline fill="none" stroke-width="${kind === 'fence' ? 2 : 1.5}"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts.map((q) => `${p(x(q.luns) + off)},${p(y(q.st.medianMs))}`).join(' ')}"/>`);
      for (const q of pts) {
        out.push(`<line x1="${p(x(q.luns) + off)}" x2="${p(x(q.luns) + off)}" y1="${p(y(q.st.minMs))}" y2="${p(y(q.st.maxMs))}"/>`);
        out.push(`<circle cx="${p(x(q.luns) + off)}" cy="${p(y(q.st.medianMs))}" r="2.8"/>`);
      }
      out.push('</g>');
      legend.push({ color, dash, label: `${kind === 'fence' ? 'fence()' : 'C fan-out'}, ${d} ms` });
    }
  });
  if (guide) legend.push({ color: '#999', dash: '1 3', label: 'linear (∝ LUNs)' });
  const lx = M.left + pw + 12;
  out.push(`<text x="${lx}" y="${M.top + 4}" fill="#333">at netem delay:</text>`);
  legend.forEach((l, i) => {
    const ly = M.top + 22 + i * 18;
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${l.color}" stroke-width="2"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''}/>`);
    out.push(`<text x="${lx + 28}" y="${ly + 4}">${esc(l.label)}</text>`);
  });
  const ly = M.top + 22 + legend.length * 18 + 8;
  const lab = result.lab;
  const notes = [
    'median; bar: min-max',
    `${result.rounds ?? '?'} rounds, netem on lo`,
    '(round trip = 2x delay)',
    ...(lab?.nodes ? [`lab: ${lab.nodes} nodes x ${lab.luns} LUNs`, `x ${lab.paths} path(s), ${lab.target ?? ''}`.trim()] : []),
  ];
  notes.forEach((n, i) => out.push(`<text x="${lx}" y="${ly + i * 14}" fill="#555" font-size="10">${esc(n)}</text>`));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

module.exports = { renderFenceScalingSvg };

if (require.main === module) {
  const [input, output] = process.argv.slice(2);
  if (!input) {
    console.error('usage: plot-svg.js scale-bench.json [out.svg]');
    process.exit(2);
  }
  const svg = renderFenceScalingSvg(JSON.parse(fs.readFileSync(input, 'utf8')));
  if (output) fs.writeFileSync(output, svg);
  else process.stdout.write(svg);
}
