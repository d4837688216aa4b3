import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS, type SettingDeclaration } from '../../shared/config/settings.js';

// The README's table of every setting (section "Settings") against the declarations the app
// parses (`shared/config/settings.ts`), both ways, defaults and requirements included; and every
// other settings table in the README against them, so no section documents a setting or a
// default the app does not have.

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const DECLARED = Object.entries(SETTINGS) as [string, SettingDeclaration][];

interface Table {
  readonly heading: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** Every markdown table of the README whose first column is `Setting`, with the heading above it. */
function settingsTables(): Table[] {
  const tables: Table[] = [];
  const lines = README.split('\n');
  let heading = '';
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('```')) fenced = !fenced;
    // A shell comment in a code block is no heading.
    if (line.startsWith('#') && !fenced) heading = line.replace(/^#+\s*/, '');
    if (!line.startsWith('| Setting |')) continue;
    const rows: string[][] = [];
    let j = i + 2;
    for (; (lines[j] ?? '').startsWith('|'); j++) rows.push(cells(lines[j] ?? ''));
    tables.push({ heading, header: cells(line), rows });
    i = j;
  }
  return tables;
}

// No cell of these tables holds a '|'.
function cells(line: string): string[] {
  return line
    .split('|')
    .slice(1, -1)
    .map((cell) => cell.trim());
}

/** The setting names a cell lists: `A`, `B` and `C`. */
function names(cell: string): string[] {
  return [...cell.matchAll(/`([A-Za-z0-9_]+)`/g)].map((m) => m[1] ?? '');
}

/** The Default column as the README states a declaration's default. */
function defaultCell(d: SettingDeclaration): string {
  if (d.default !== undefined) return `\`${d.default}\``;
  if (d.localDefault !== undefined) return `local: \`${d.localDefault}\``;
  return d.computedDefault ?? '—';
}

/** The Required column as the README states a declaration's requirement. */
function requiredCell(d: SettingDeclaration): string {
  return { always: 'yes', production: 'outside local mode', 'one-way': 'one of two ways', optional: 'no' }[d.required];
}

describe('README: the table of every setting', () => {
  const table = settingsTables().find((t) => t.heading === 'Settings' && t.header.includes('Required'));

  it('exists, under the heading "Settings", with Setting, Default and Required columns', () => {
    expect(table?.header.slice(0, 3)).toEqual(['Setting', 'Default', 'Required']);
  });

  const rows = (table?.rows ?? []).map(([setting = '', def = '', required = '']) => ({
    names: names(setting),
    def,
    required,
  }));

  it('names one setting per row, each once', () => {
    expect(rows.filter((r) => r.names.length !== 1)).toEqual([]);
    const listed = rows.map((r) => r.names[0]);
    expect(listed.filter((n, i) => listed.indexOf(n) !== i)).toEqual([]);
  });

  it('lists every declared setting, and no other', () => {
    const listed = rows.map((r) => r.names[0] ?? '').sort();
    expect(listed).toEqual(DECLARED.map(([name]) => name).sort());
  });

  it("states each setting's default and whether it is required as the app declares them", () => {
    const declared = new Map(DECLARED);
    const actual = rows.map((r) => ({ name: r.names[0], def: r.def, required: r.required }));
    const expected = rows.map((r) => {
      const d = declared.get(r.names[0] ?? '');
      return {
        name: r.names[0],
        def: d === undefined ? '?' : defaultCell(d),
        required: d === undefined ? '?' : requiredCell(d),
      };
    });
    expect(actual).toEqual(expected);
  });
});

describe("README: the sections' settings tables", () => {
  const others = settingsTables().filter((t) => !(t.heading === 'Settings' && t.header.includes('Required')));

  it('exist (the check below checks something)', () => {
    expect(others.length).toBeGreaterThan(0);
  });

  it('name declared settings only, with their declared defaults', () => {
    const declared = new Map(DECLARED);
    const problems: string[] = [];
    for (const t of others) {
      for (const [setting = '', def = ''] of t.rows) {
        for (const name of names(setting)) {
          const d = declared.get(name);
          if (d === undefined) {
            problems.push(`${t.heading}: ${name} is not a setting the app reads`);
            continue;
          }
          // A default the table states as a value (`...` or a number, first in the cell) is the declared one.
          const stated = /^`([^`]*)`/.exec(def)?.[1] ?? /^(\d+)\b/.exec(def)?.[1];
          if (stated !== d.default) {
            problems.push(`${t.heading}: ${name} defaults to ${d.default ?? 'nothing'}, the table says ${def}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
