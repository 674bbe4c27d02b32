import { join } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENTRIES } from '../../scripts/entries.js';
import * as root from '../../src/index.js';

// The root entry is what a host that mounts the handler uses; building blocks live in
// `mcp-llmchat/engine` and `mcp-llmchat/sse`. This list is the root's runtime surface: adding a
// value to it is a decision, not an accident of `export *`.
const ROOT_VALUES = [
  'ChatService',
  'ERROR_CODES',
  'ERROR_HTTP_STATUS',
  'LlmChatError',
  'LockManager',
  'SessionStore',
  'createChatHandler',
  'encodeSseEvent',
  'isLlmChatError',
  'memoryStorage',
  'toHttpError',
];

// Names no entry may export: the zod schemas and the body parser, the provider stream reader, and
// the names of the types renamed because they shadowed DOM globals.
const NEVER_EXPORTED = [
  'chatBodySchema',
  'connectBodySchema',
  'disconnectBodySchema',
  'parseBody',
  'ChatBody',
  'ConnectBody',
  'DisconnectBody',
  'readSse',
  'ReadSseOptions',
  'wrapError',
  'Storage',
  'Lock',
  'ErrorEvent',
];

// `LockManager` is also a DOM global (the Web Locks API), but the public contract names it at the root.
const DOM_NAMES_ALLOWED_BY_CONTRACT = ['LockManager'];

const ROOT = join(import.meta.dirname, '../..');
/** Every name (value or type) each entry exports, as the TypeScript checker sees it. */
const exportsByEntry = new Map<string, string[]>();
/** Names declared at the top level of TypeScript's DOM library. */
const domGlobals = new Set<string>();

beforeAll(() => {
  const files = Object.values(ENTRIES).map((file) => join(ROOT, file));
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Preserve,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    types: ['node'],
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  for (const [name, file] of Object.entries(ENTRIES)) {
    const source = program.getSourceFile(join(ROOT, file));
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`${file} is not a module`);
    exportsByEntry.set(
      name,
      checker.getExportsOfModule(moduleSymbol).map((symbol) => symbol.name),
    );
  }
  const dom = program.getSourceFiles().find((file) => file.fileName.endsWith('lib.dom.d.ts'));
  for (const statement of dom?.statements ?? []) {
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) domGlobals.add(declaration.name.getText(dom));
    } else if (
      (ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isFunctionDeclaration(statement)) &&
      statement.name
    ) {
      domGlobals.add(statement.name.text);
    }
  }
}, 60_000);

describe('the public surface', () => {
  it('the root entry exports exactly the host values at runtime', () => {
    expect(Object.keys(root).sort()).toEqual([...ROOT_VALUES].sort());
  });

  it('reads the exports of every entry, types included', () => {
    expect([...exportsByEntry.keys()].sort()).toEqual(Object.keys(ENTRIES).sort());
    expect(exportsByEntry.get('index')).toEqual(
      expect.arrayContaining(['ChatHandlerOptions', 'ChatEvent', 'ChatStorage']),
    );
    expect(exportsByEntry.get('engine')).toEqual(expect.arrayContaining(['McpToolbox', 'MemoryLockBackend']));
  });

  it('no entry exports a zod schema, the provider stream reader, an internal helper or a renamed name', () => {
    const leaks = [...exportsByEntry].flatMap(([entry, names]) =>
      names.filter((name) => NEVER_EXPORTED.includes(name)).map((name) => `${entry}: ${name}`),
    );
    expect(leaks).toEqual([]);
  });

  it('no entry exports a name that is also a DOM global', () => {
    // The scan itself must see the DOM: these are the names that were renamed.
    expect(['Storage', 'Lock', 'ErrorEvent'].filter((name) => domGlobals.has(name))).toEqual([
      'Storage',
      'Lock',
      'ErrorEvent',
    ]);
    const clashes = [...exportsByEntry].flatMap(([entry, names]) =>
      names
        .filter((name) => domGlobals.has(name) && !DOM_NAMES_ALLOWED_BY_CONTRACT.includes(name))
        .map((name) => `${entry}: ${name}`),
    );
    expect(clashes).toEqual([]);
  });
});
