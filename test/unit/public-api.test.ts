import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import * as pr from '../../lib';

const ROOT = join(__dirname, '..', '..');
const INDEX = join(ROOT, 'lib', 'index.ts');

/** What `require('scsi-pr')` gives at run time. Adding or removing a name is a decision: change this list with it. */
const RUNTIME_EXPORTS = [
  'AbortError',
  'ArgumentRangeError',
  'ArgumentTypeError',
  'BlockPrDevice',
  'DEFAULT_RETRY',
  'DEFAULT_TIMEOUT_MS',
  'Device',
  'DeviceClosedError',
  'DeviceDiscoveryError',
  'DeviceError',
  'ErrorCodes',
  'KernelFeatureError',
  'MalformedResponseError',
  'NvmeDevice',
  'NvmeStatusError',
  'PrStatusError',
  'ProtocolId',
  'ReservationConflictError',
  'ReservationType',
  'ScsiPrError',
  'ScsiSenseError',
  'ScsiStatusError',
  'SyscallError',
  'TimeoutError',
  'TransportError',
  'ascName',
  'clear',
  'clusterNodeKey',
  'cmapClusterName',
  'cmapNodeIndex',
  'decodeSense',
  'decodeTransportId',
  'describeFencedEvidence',
  'encodeTransportId',
  'execFileRunner',
  'expandDevices',
  'fence',
  'fenceScsiKey',
  'fenceScsiKeyString',
  'formatKey',
  'formatSense',
  'formatTransportId',
  'ipv4Key',
  'keyToBuffer',
  'localIpv4Key',
  'multipathPaths',
  'open',
  'parseClusterNodeKey',
  'parseKey',
  'parseLvsDevicesReport',
  'parseReservationType',
  'parseTransportId',
  'parseVgsReport',
  'preempt',
  'preemptAndAbort',
  'readFullStatus',
  'readKeys',
  'readReservation',
  'register',
  'registerAndIgnoreExistingKey',
  'registerAndMove',
  'release',
  'replaceLostReservation',
  'reportCapabilities',
  'reservationTypeLabel',
  'reservationTypeName',
  'reserve',
  'senseKeyName',
  'serviceStart',
  'serviceStatus',
  'serviceStop',
  'sharedVolumeGroupDevices',
  'status',
  'sysfsWwid',
  'toJSONSafe',
  'unfence',
  'watchRegistration',
];

/** The type-only exports (interfaces and type aliases). */
const TYPE_EXPORTS = [
  'WatchRegistrationOptions',
  'RegistrationWatch',
  'FencedEvidence',
  'DataDirection',
  'ResetLevel',
  'Designator',
  'DesignatorAssociation',
  'DesignatorType',
  'PrInFunction',
  'PrOutFunction',
  'PrInMethod',
  'PrOutMethod',
  'PrInResult',
  'PrOutOptions',
  'SenseDescriptor',
  'SenseKeySpecific',
  'DeviceErrorCode',
  'SenseErrorCode',
  'DeviceDiscoveryErrorCode',
  'CallOptions',
  'CallReport',
  'Capacity',
  'ClearOptions',
  'ClusterNodeKeyFields',
  'DecodedSense',
  'DeviceInfo',
  'DeviceInput',
  'ErrorCode',
  'ErrorContext',
  'ExecuteRequest',
  'ExecuteResult',
  'ExpandDevicesOptions',
  'ExpandedDevice',
  'FcpTransportId',
  'FenceDeviceReport',
  'PreemptMethod',
  'FenceOptions',
  'FenceReport',
  'FenceScsiKeyOptions',
  'FullStatusRegistration',
  'InquiryResult',
  'InvalidArgumentCode',
  'IscsiTransportId',
  'KeyInput',
  'KeySource',
  'NamespaceIdentity',
  'BlockDeviceIdentity',
  'BlockDeviceKind',
  'NvmeHostTransportId',
  'NvmeStatusErrorCode',
  'DecodedNvmeStatus',
  'NvmeRegistrant',
  'NvmeReservationStatus',
  'LocalIpv4KeyOptions',
  'OneShotOptions',
  'OpenOptions',
  'PathOrDevice',
  'PreemptOptions',
  'PrOutResult',
  'ProgressEvent',
  'ProgressOperation',
  'RawResult',
  'ReadFullStatusResult',
  'ReadKeysResult',
  'ReadReservationResult',
  'RegisterAndIgnoreExistingKeyOptions',
  'RegisterAndMoveOptions',
  'RegisterOptions',
  'ReplaceLostReservationOptions',
  'ReportCapabilitiesResult',
  'ReportParseOptions',
  'Reservation',
  'ReservationTypeCode',
  'ReservationTypeInput',
  'ReservationTypeName',
  'ReserveOptions',
  'RetryOptions',
  'RunOptions',
  'RunResult',
  'Runner',
  'SasTransportId',
  'SbpTransportId',
  'ServiceOptions',
  'ServiceReportBase',
  'ServiceStartDevice',
  'ServiceStartOptions',
  'ServiceStartReport',
  'ServiceStatusDevice',
  'ServiceStatusReport',
  'ServiceStopDevice',
  'ServiceStopReport',
  'SharedVolumeGroupDevice',
  'SharedVolumeGroupOptions',
  'SopTransportId',
  'SpiTransportId',
  'SrpTransportId',
  'StatusDeviceReport',
  'StatusOptions',
  'StatusReport',
  'SystemErrorCode',
  'TransportId',
  'UnfenceDeviceReport',
  'UnfenceOptions',
  'UnfenceReport',
  'UnknownTransportId',
  'VgsRecord',
];

const sourceCache = new Map<string, ts.SourceFile>();
function parse(file: string): ts.SourceFile {
  let sf = sourceCache.get(file);
  if (!sf) {
    sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    sourceCache.set(file, sf);
  }
  return sf;
}

function moduleFile(from: string, specifier: string): string {
  const base = resolve(dirname(from), specifier);
  return existsSync(`${base}.ts`) ? `${base}.ts` : join(base, 'index.ts');
}

const isExported = (node: ts.Node): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

/** The declaration `name` refers to in `file`, following `export { … } from` chains. */
function declarationOf(file: string, name: string): ts.Node | undefined {
  for (const statement of parse(file).statements) {
    if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      const element = statement.exportClause.elements.find((e) => e.name.text === name);
      if (element) return declarationOf(moduleFile(file, (statement.moduleSpecifier as ts.StringLiteral).text), element.propertyName?.text ?? name);
      continue;
    }
    if (!isExported(statement)) continue;
    if (ts.isVariableStatement(statement)) {
      const declaration = statement.declarationList.declarations.find((d) => ts.isIdentifier(d.name) && d.name.text === name);
      if (declaration) return declaration;
    } else if (
      (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement)) &&
      statement.name?.text === name
    ) {
      return statement;
    }
  }
  return undefined;
}

const hasJsDoc = (node: ts.Node): boolean => ts.getJSDocCommentsAndTags(node).some((d) => ts.isJSDoc(d) && d.comment !== undefined && d.comment.length > 0);

/** Every `export { … } from` of lib/index.ts, as [name, type-only]. */
function indexExports(): Array<[string, boolean]> {
  const out: Array<[string, boolean]> = [];
  for (const statement of parse(INDEX).statements) {
    if (!ts.isExportDeclaration(statement)) continue;
    expect(statement.exportClause, '`export *` re-exports whole modules: name each export').toBeDefined();
    if (statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      for (const e of statement.exportClause.elements) out.push([e.name.text, statement.isTypeOnly || e.isTypeOnly]);
    }
  }
  return out;
}

describe('the public API (lib/index.ts)', () => {
  it('exports exactly the listed names at run time', () => {
    expect(Object.keys(pr).sort()).toEqual(RUNTIME_EXPORTS);
  });

  it('exports exactly the listed types, with named exports only', () => {
    const types = indexExports().filter(([, typeOnly]) => typeOnly).map(([name]) => name);
    expect([...types].sort()).toEqual([...TYPE_EXPORTS].sort());
    expect(indexExports().filter(([, typeOnly]) => !typeOnly).map(([name]) => name).sort()).toEqual(RUNTIME_EXPORTS);
  });

  it('documents every export with JSDoc on its declaration', () => {
    const undocumented = indexExports()
      .map(([name]) => [name, declarationOf(INDEX, name)] as const)
      .filter(([, node]) => node === undefined || !hasJsDoc(node))
      .map(([name, node]) => (node === undefined ? `${name} (declaration not found)` : name));
    expect(undocumented).toEqual([]);
  });

  it('keeps every name the README uses as pr.<name> or imports from scsi-pr', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const names = new Set([...readme.matchAll(/(?<![\w/.-])pr\.([A-Za-z_]\w*)/g)].map((m) => m[1]!));
    for (const m of readme.matchAll(/import \{([^}]*)\} from 'scsi-pr'/g)) for (const n of m[1]!.split(',')) names.add(n.trim());
    const exported = new Set(indexExports().map(([name]) => name));
    expect([...names].filter((n) => !exported.has(n))).toEqual([]);
  });

  it('keeps internal helpers internal', () => {
    for (const name of ['withDevice', 'withHexInspect', 'openLogicalUnits', 'onAnyPath', 'readKey', 'LU_SCOPE', 'ServiceProgressEvent']) {
      expect(Object.keys(pr), name).not.toContain(name);
      expect(indexExports().map(([n]) => n), name).not.toContain(name);
    }
  });

  it('package.json exports only the main entry and package.json', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; types: string; exports: unknown };
    expect(pkg.exports).toEqual({
      '.': { types: './dist/index.d.ts', require: './dist/index.js', import: './dist/index.js', default: './dist/index.js' },
      './package.json': './package.json',
    });
    expect(pkg.main).toBe('dist/index.js');
    expect(pkg.types).toBe('dist/index.d.ts');
  });
});
