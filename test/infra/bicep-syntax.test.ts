import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { bicepFiles, repoPath } from './bicep-source.js';

// A syntax check with tree-sitter-bicep, a Bicep grammar we did not write (run as WebAssembly, no
// native build). It finds syntax errors only: no types, no resource schemas, no scopes. It is not
// the Bicep compiler, which cannot be installed here (NuGet and GitHub releases only).

// Every .bicep file in infra/, read from the folder, so a new module cannot go unchecked.
const FILES = bicepFiles();

let parser: Parser;

beforeAll(async () => {
  await Parser.init();
  const wasm = createRequire(import.meta.url).resolve('tree-sitter-bicep/tree-sitter-bicep.wasm');
  parser = new Parser();
  parser.setLanguage(await Language.load(wasm));
});

function syntaxErrors(source: string): string[] {
  const tree = parser.parse(source);
  if (tree === null) throw new Error('tree-sitter returned no tree');
  const errors: string[] = [];
  const visit = (node: Node): void => {
    if (node.isError || node.isMissing) {
      errors.push(
        `${node.isMissing ? 'missing' : 'unexpected'} ${node.type} at ${node.startPosition.row + 1}:${node.startPosition.column + 1}`,
      );
    }
    for (const child of node.children) if (child !== null) visit(child);
  };
  visit(tree.rootNode);
  return errors;
}

describe('infra/*.bicep syntax (tree-sitter-bicep)', () => {
  it('rejects broken Bicep, so a pass below means something', () => {
    expect(syntaxErrors("resource r 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: \n")).not.toEqual([]);
    expect(syntaxErrors("param p string = 'unterminated\n")).not.toEqual([]);
  });

  it('finds the templates to check', () => {
    expect(FILES).toContain('infra/main.bicep');
    expect(FILES).toContain('infra/resources.bicep');
  });

  it.each(FILES)('%s parses without a syntax error', (file) => {
    expect(syntaxErrors(readFileSync(repoPath(file), 'utf8'))).toEqual([]);
  });
});
