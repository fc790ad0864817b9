/**
 * fence_scsi_pr metadata: well-formed XML (checked by a small strict XML
 * parser below — no dependency) with the layout Pacemaker and pcs expect.
 */
import { describe, it, expect } from 'vitest';
import { metadataXml, xmlEscape } from '../../../../lib/cli/fence-agent/fence-agent-metadata';
import { AGENT_PARAMETERS } from '../../../../lib/cli/fence-agent/fence-agent-options';

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/**
 * A strict, character-by-character XML 1.0 well-formedness parser for the
 * subset an agent prints: optional XML declaration, comments, elements,
 * attributes (quoted, unique), character data with the five predefined entities
 * and numeric character references. Throws with the offset on any error.
 */
function parseXml(src: string): XmlElement {
  let i = 0;
  const err = (msg: string): never => {
    throw new Error(`XML error at offset ${i}: ${msg} (near ${JSON.stringify(src.slice(i, i + 20))})`);
  };
  const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  const isNameStart = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === ':');
  const isNameChar = (c: string | undefined) => isNameStart(c) || (c !== undefined && ((c >= '0' && c <= '9') || c === '-' || c === '.'));
  const skipSpace = () => {
    while (isSpace(src[i])) i++;
  };
  const name = (): string => {
    if (!isNameStart(src[i])) err('expected a name');
    const s = i;
    while (isNameChar(src[i])) i++;
    return src.slice(s, i);
  };
  const expect = (lit: string) => {
    if (!src.startsWith(lit, i)) err(`expected ${JSON.stringify(lit)}`);
    i += lit.length;
  };
  const reference = (): string => {
    expect('&');
    const s = i;
    while (i < src.length && src[i] !== ';') {
      if (src[i] === '&' || src[i] === '<' || isSpace(src[i])) err('unterminated entity reference');
      i++;
    }
    if (src[i] !== ';') err('unterminated entity reference');
    const ent = src.slice(s, i);
    i++;
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (ent in named) return named[ent];
    if (ent.startsWith('#x')) {
      const digits = ent.slice(2);
      if (digits.length === 0 || [...digits].some((c) => !'0123456789abcdefABCDEF'.includes(c))) err(`bad reference &${ent};`);
      return String.fromCodePoint(parseInt(digits, 16));
    }
    if (ent.startsWith('#')) {
      const digits = ent.slice(1);
      if (digits.length === 0 || [...digits].some((c) => c < '0' || c > '9')) err(`bad reference &${ent};`);
      return String.fromCodePoint(Number(digits));
    }
    return err(`undefined entity &${ent};`);
  };
  const attrValue = (): string => {
    const q = src[i];
    if (q !== '"' && q !== "'") err('attribute value must be quoted');
    i++;
    let out = '';
    while (i < src.length && src[i] !== q) {
      if (src[i] === '<') err('"<" in attribute value');
      if (src[i] === '&') out += reference();
      else out += src[i++];
    }
    if (src[i] !== q) err('unterminated attribute value');
    i++;
    return out;
  };
  const comment = () => {
    expect('<!--');
    const end = src.indexOf('-->', i);
    if (end < 0) err('unterminated comment');
    if (src.slice(i, end).includes('--')) err('"--" inside a comment');
    i = end + 3;
  };
  const misc = () => {
    for (;;) {
      skipSpace();
      if (src.startsWith('<!--', i)) comment();
      else return;
    }
  };
  const element = (): XmlElement => {
    expect('<');
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      const hadSpace = isSpace(src[i]);
      skipSpace();
      if (src.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      if (!hadSpace) err('attributes must be separated by white space');
      const an = name();
      skipSpace();
      expect('=');
      skipSpace();
      if (an in el.attrs) err(`duplicate attribute ${an}`);
      el.attrs[an] = attrValue();
    }
    for (;;) {
      if (i >= src.length) err(`unclosed <${el.name}>`);
      if (src.startsWith('</', i)) {
        i += 2;
        const closing = name();
        if (closing !== el.name) err(`</${closing}> closes <${el.name}>`);
        skipSpace();
        expect('>');
        return el;
      }
      if (src.startsWith('<!--', i)) comment();
      else if (src.startsWith('<![CDATA[', i) || src.startsWith('<?', i) || src.startsWith('<!', i)) err('unsupported markup');
      else if (src[i] === '<') el.children.push(element());
      else if (src[i] === '&') el.text += reference();
      else if (src.startsWith(']]>', i)) err('"]]>" in content');
      else el.text += src[i++];
    }
  };
  if (src.startsWith('<?xml', i)) {
    i += 5;
    if (!isSpace(src[i])) err('bad XML declaration');
    skipSpace();
    expect('version');
    skipSpace();
    expect('=');
    skipSpace();
    const version = attrValue();
    if (version !== '1.0') err(`XML version ${version}`);
    skipSpace();
    expect('?>');
  }
  misc();
  if (src[i] !== '<') err('expected the root element');
  const root = element();
  misc();
  if (i !== src.length) err('content after the root element');
  return root;
}

const child = (el: XmlElement, name: string) => el.children.filter((c) => c.name === name);

describe('the XML checker itself', () => {
  const bad: Array<[string, string]> = [
    ['unclosed element', '<a><b></a>'],
    ['mismatched close', '<a></b>'],
    ['unquoted attribute', '<a x=1/>'],
    ['duplicate attribute', '<a x="1" x="2"/>'],
    ['raw ampersand', '<a>x & y</a>'],
    ['undefined entity', '<a>&nbsp;</a>'],
    ['< in attribute', '<a x="<"/>'],
    ['two roots', '<a/><b/>'],
    ['text after root', '<a/>x'],
    ['no root', '   '],
    ['missing space between attributes', '<a x="1"y="2"/>'],
    ['bad declaration', '<?xml version="2.0"?><a/>'],
  ];
  for (const [label, doc] of bad) {
    it(`rejects ${label}`, () => {
      expect(() => parseXml(doc)).toThrow(/XML error/);
    });
  }
  it('accepts entities, comments, declaration', () => {
    const r = parseXml('<?xml version="1.0" ?>\n<!-- c --><a x="&quot;&#65;&#x42;">t &lt; &amp;<b/></a>\n');
    expect(r.attrs.x).toBe('"AB');
    expect(r.text).toBe('t < &');
    expect(r.children[0].name).toBe('b');
  });
});

describe('fence_scsi_pr metadata', () => {
  const xml = metadataXml();
  const root = parseXml(xml);

  it('is a well-formed resource-agent document', () => {
    expect(xml.startsWith('<?xml version="1.0" ?>\n')).toBe(true);
    expect(root.name).toBe('resource-agent');
    expect(root.attrs.name).toBe('fence_scsi_pr');
    expect(root.attrs.shortdesc).toMatch(/persistent reservation/i);
    expect(child(root, 'longdesc')).toHaveLength(1);
    expect(child(root, 'vendor-url')).toHaveLength(1);
    expect(child(root, 'parameters')).toHaveLength(1);
    expect(child(root, 'actions')).toHaveLength(1);
  });

  it('uses the agent name it is given (symlinked binaries)', () => {
    expect(parseXml(metadataXml('fence_foo')).attrs.name).toBe('fence_foo');
  });

  it('advertises on with on_target="1" automatic="1" (unfencing), and the other actions plainly', () => {
    const actions = child(child(root, 'actions')[0], 'action');
    expect(actions.map((a) => a.attrs.name)).toEqual(['on', 'off', 'status', 'monitor', 'list', 'metadata', 'validate-all']);
    const on = actions.find((a) => a.attrs.name === 'on')!;
    expect(on.attrs).toEqual({ name: 'on', on_target: '1', automatic: '1' });
    for (const a of actions.filter((x) => x.attrs.name !== 'on')) expect(a.attrs).toEqual({ name: a.attrs.name });
    expect(actions.map((a) => a.attrs.name)).not.toContain('reboot');
  });

  it('prints the actions block exactly as fence-agents lays it out', () => {
    const block = xml.slice(xml.indexOf('<actions>'), xml.indexOf('</actions>') + '</actions>'.length);
    expect(block).toBe(
      [
        '<actions>',
        '\t<action name="on" on_target="1" automatic="1"/>',
        '\t<action name="off" />',
        '\t<action name="status" />',
        '\t<action name="monitor" />',
        '\t<action name="list" />',
        '\t<action name="metadata" />',
        '\t<action name="validate-all" />',
        '</actions>',
      ].join('\n'),
    );
    expect(xml.endsWith('</actions>\n</resource-agent>\n')).toBe(true);
  });

  const params = child(child(root, 'parameters')[0], 'parameter');
  const param = (n: string) => params.find((p) => p.attrs.name === n);

  it('lists the parameters Pacemaker/pcs need', () => {
    for (const n of ['action', 'plug', 'port', 'nodename', 'nodeid', 'devices', 'key', 'nodes', 'key_value', 'cluster_name', 'cluster_id', 'corosync_conf', 'aptpl', 'command_timeout', 'delay', 'logfile', 'debug_file', 'verbose', 'quiet']) {
      expect(param(n), n).toBeDefined();
    }
    const names = params.map((p) => p.attrs.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives every parameter unique/required, a getopt, a content type and an English shortdesc', () => {
    for (const p of params) {
      expect(p.attrs.unique).toBe('0');
      expect(['0', '1']).toContain(p.attrs.required);
      expect(child(p, 'getopt')).toHaveLength(1);
      expect(child(p, 'getopt')[0].attrs.mixed).toMatch(/--[a-z]/);
      const content = child(p, 'content');
      expect(content).toHaveLength(1);
      expect(['string', 'boolean', 'integer', 'second']).toContain(content[0].attrs.type);
      const sd = child(p, 'shortdesc');
      expect(sd).toHaveLength(1);
      expect(sd[0].attrs.lang).toBe('en');
      expect(sd[0].text.length).toBeGreaterThan(5);
    }
  });

  it('marks port as the deprecated spelling of plug, like fence-agents', () => {
    expect(param('plug')!.attrs.obsoletes).toBe('port');
    expect(param('port')!.attrs.deprecated).toBe('1');
    expect(child(param('plug')!, 'getopt')[0].attrs.mixed).toBe('-n, --plug=[nodename]');
  });

  it('types and defaults match the option table', () => {
    expect(child(param('aptpl')!, 'content')[0].attrs.type).toBe('boolean');
    expect(child(param('aptpl')!, 'getopt')[0].attrs.mixed).toBe('-a, --aptpl');
    expect(child(param('action')!, 'content')[0].attrs.default).toBe('off');
    expect(child(param('key_value')!, 'content')[0].attrs.default).toBe('hash');
    expect(child(param('delay')!, 'content')[0].attrs.type).toBe('second');
    expect(child(param('devices')!, 'getopt')[0].attrs.mixed).toBe('-d, --devices=[devices]');
    for (const p of AGENT_PARAMETERS) if (!p.hidden) expect(param(p.name), p.name).toBeDefined();
  });

  it('escapes markup in text and attributes', () => {
    expect(xmlEscape(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
    expect(parseXml(`<x a="${xmlEscape('<&>"\'')}">${xmlEscape('<&>')}</x>`).attrs.a).toBe(`<&>"'`);
  });
});
