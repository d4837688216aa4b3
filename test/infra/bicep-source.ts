import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * A small reader of our own Bicep files for structural tests. It is not a Bicep parser: it finds
 * declarations by their leading keyword and blocks by matching braces, which is enough for files
 * written in the plain style of `infra/` (one declaration per line, single-quoted strings).
 */

export const repoPath = (relative: string): string => fileURLToPath(new URL(`../../${relative}`, import.meta.url));

/** Every template in `infra/` (`infra/name.bicep`), so a new module is checked without being listed. */
export function bicepFiles(): string[] {
  return readdirSync(repoPath('infra'))
    .filter((name) => name.endsWith('.bicep'))
    .sort()
    .map((name) => `infra/${name}`);
}

export interface BicepFile {
  readonly name: string;
  /** The text with `//` comments removed (strings kept). */
  readonly code: string;
  readonly params: ReadonlyMap<string, { readonly type: string; readonly hasDefault: boolean }>;
  readonly vars: readonly string[];
  readonly outputs: readonly string[];
  readonly resources: readonly BicepResource[];
  readonly modules: readonly BicepModule[];
}

export interface BicepResource {
  readonly symbol: string;
  readonly type: string;
  readonly apiVersion: string;
  readonly existing: boolean;
  /** The declaration's `{ ... }` body, nested child resources included. */
  readonly body: string;
}

export interface BicepModule {
  readonly symbol: string;
  readonly path: string;
  readonly body: string;
}

export function readBicep(relative: string): BicepFile {
  const code = stripComments(readFileSync(repoPath(relative), 'utf8'));
  const params = new Map<string, { type: string; hasDefault: boolean }>();
  for (const m of code.matchAll(/^param (\w+) (\w+)( =)?/gm)) {
    params.set(m[1] ?? '', { type: m[2] ?? '', hasDefault: m[3] !== undefined });
  }
  const resources: BicepResource[] = [];
  for (const m of code.matchAll(/^\s*resource (\w+) '([^'@]+)(?:@([^']+))?'( existing)? = (?:\[\s*for [^:]+:\s*)?/gm)) {
    resources.push({
      symbol: m[1] ?? '',
      type: m[2] ?? '',
      apiVersion: m[3] ?? '',
      existing: m[4] !== undefined,
      body: blockAt(code, (m.index ?? 0) + m[0].length),
    });
  }
  const modules: BicepModule[] = [];
  for (const m of code.matchAll(/^module (\w+) '([^']+)' = (?:if \([^)]*\) )?/gm)) {
    modules.push({ symbol: m[1] ?? '', path: m[2] ?? '', body: blockAt(code, (m.index ?? 0) + m[0].length) });
  }
  return {
    name: relative,
    code,
    params,
    vars: [...code.matchAll(/^var (\w+) =/gm)].map((m) => m[1] ?? ''),
    outputs: [...code.matchAll(/^output (\w+) /gm)].map((m) => m[1] ?? ''),
    resources,
    modules,
  };
}

/** The resources of a type (child resources declared inside a parent have their short type). */
export function resourcesOfType(file: BicepFile, type: string): BicepResource[] {
  return file.resources.filter((r) => r.type === type && !r.existing);
}

/** The `{ ... }` block that starts at or after `from`, braces inside strings ignored. */
export function blockAt(code: string, from: number): string {
  const start = code.indexOf('{', from);
  if (start < 0) throw new Error(`no block after offset ${from}`);
  return code.slice(start, blockEnd(code, start) + 1);
}

// Index of the brace closing the one at `start`; a `${...}` inside a string is a nested block.
function blockEnd(code: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < code.length; i += 1) {
    const c = code[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === "'") inString = false;
      else if (c === '$' && code[i + 1] === '{') i = blockEnd(code, i + 1);
      continue;
    }
    if (c === "'") inString = true;
    else if (c === '{') depth += 1;
    else if (c === '}') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  throw new Error(`unbalanced block at offset ${start}`);
}

/** The value text of `key: value` inside a block (first match, one line). */
export function property(block: string, key: string): string | undefined {
  return new RegExp(`(?:^|[\\s{,])${key}: ([^\\n]+)`).exec(block)?.[1]?.trim();
}

/**
 * The `key: value` lines directly inside an object block (nested objects skipped), keys quoted or
 * not: `'AzureWebJobs.x.Disabled': 'true'` is read as `AzureWebJobs.x.Disabled`.
 */
export function entries(block: string): Map<string, string> {
  const inner = block.slice(1, -1);
  const found = new Map<string, string>();
  let depth = 0;
  for (const line of inner.split('\n')) {
    if (depth === 0) {
      const m = /^\s*(?:(\w+)|'([^']+)'): (.+)$/.exec(line);
      if (m !== null) found.set(m[1] ?? m[2] ?? '', (m[3] ?? '').trim());
    }
    depth += braceDepthChange(line);
  }
  return found;
}

// Net `{` minus `}` on one line, outside strings.
function braceDepthChange(line: string): number {
  let change = 0;
  let inString = false;
  for (const c of line) {
    if (c === "'") inString = !inString;
    else if (!inString && c === '{') change += 1;
    else if (!inString && c === '}') change -= 1;
  }
  return change;
}

/** The named object property's block, e.g. `properties: { ... }`. */
export function objectProperty(block: string, key: string): string {
  const at = new RegExp(`(?:^|[\\s{,])${key}: \\{`).exec(block);
  if (at === null) throw new Error(`no object property ${key}`);
  return blockAt(block, at.index);
}

function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === "'") inString = false;
    } else if (c === "'") {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i += 1;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}
