import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of shared/ (docs/design.md, "Layers"): a module imports only from its own layer or
 * the layers below it, and no chain of imports comes back to where it started.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['core', 'config', 'errors.ts'],
  ['logging', 'azure', 'storage', 'vault', 'pgp', 'outbound', 'sources'],
  ['auth', 'sandboxes', 'landing-zones', 'flows', 'catalog', 'pgp-keys', 'ingestion', 'cmk', 'hpke', 'health'],
  ['http'],
  ['app'],
  ['api', 'jobs'],
];

const shared = path.resolve(import.meta.dirname, '../../shared');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/** The relative imports and re-exports of a module, type-only ones included, resolved to .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|^import\s+'(\.[^']+)'/gm)].map((m) =>
    path.resolve(path.dirname(file), (m[1] ?? m[2] ?? '').replace(/\.js$/, '.ts')),
  );
}

/** `shared/flows/runs.ts` → `flows`; `shared/errors.ts` → `errors.ts`. */
function folderOf(file: string): string {
  return path.relative(shared, file).split(path.sep)[0] ?? '';
}

function layerOf(folder: string): number {
  const layer = LAYERS.findIndex((l) => l.includes(folder));
  if (layer < 0) throw new Error(`shared/${folder} is in no layer: add it to LAYERS here and to docs/design.md`);
  return layer;
}

const files = sources(shared);
const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => t.startsWith(shared))]));

/** Imports from a lower layer to a higher one, as `from → to`. */
function upwardImports(g: ReadonlyMap<string, readonly string[]>): string[] {
  const upward: string[] = [];
  for (const [file, targets] of g) {
    for (const target of targets) {
      if (layerOf(folderOf(target)) > layerOf(folderOf(file)))
        upward.push(`${path.relative(shared, file)} → ${path.relative(shared, target)}`);
    }
  }
  return upward;
}

/** Every import cycle found by a depth-first walk, as `a → b → a`. */
function importCycles(g: ReadonlyMap<string, readonly string[]>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const target of g.get(file) ?? []) {
      if (state.get(target) === 'open')
        cycles.push([...stack.slice(stack.indexOf(target)), target].map((f) => path.relative(shared, f)).join(' → '));
      else if (state.get(target) === undefined && g.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of g.keys()) if (state.get(file) === undefined) visit(file);
  return cycles;
}

describe('the layers of shared/', () => {
  it('place every folder of shared/ in a layer', () => {
    for (const file of files) expect(() => layerOf(folderOf(file)), file).not.toThrow();
  });

  it('never import upward', () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it('have no import cycle', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('are checked for real: a made-up upward import and cycle are reported', () => {
    const at = (p: string) => path.join(shared, p);
    const madeUp = new Map([
      [at('storage/table.ts'), [at('flows/runs.ts')]],
      [at('flows/runs.ts'), [at('flows/run-id.ts')]],
      [at('flows/run-id.ts'), [at('flows/runs.ts')]],
    ]);
    expect(upwardImports(madeUp)).toEqual(['storage/table.ts → flows/runs.ts']);
    expect(importCycles(madeUp)).toEqual(['flows/runs.ts → flows/run-id.ts → flows/runs.ts']);
    expect(() => layerOf('nowhere')).toThrow(/in no layer/);
  });
});
