import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidSourcePath, matchesSourcePath } from '../../shared/flows/source-path.js';

/**
 * Attack: a source path pattern that selects files outside the folder a flow names (a `*` that
 * crosses `/`, `..`, a prefix that matches a sibling folder), or a pattern that makes matching
 * backtrack exponentially (ReDoS) on every landed blob.
 * Properties: `matchesSourcePath` agrees with an independent regex reference in which `*` is
 * `[^/]*` and `?` is `[^/]`; a match always has the pattern's folders exactly and the same depth;
 * invalid patterns match nothing; matching time is linear.
 */

const RUNS = 2000;

/** The reference semantics, built as a regex only here (the code under test builds none). */
function reference(pattern: string, blobPath: string): boolean {
  if (!isValidSourcePath(pattern)) return false;
  const path = blobPath.startsWith('/') ? blobPath.slice(1) : blobPath;
  const segments = pattern.slice(1).split('/');
  const file = segments.pop() ?? '';
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const glob = [...file].map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : escape(c))).join('');
  const re = new RegExp(`^${segments.map((s) => `${escape(s)}/`).join('')}(?=[^/])${glob}$`, 's');
  return re.test(path);
}

// Small alphabets so patterns and paths collide often.
const segment = fc.string({ unit: fc.constantFrom('a', 'b', '.', '-'), minLength: 0, maxLength: 4 });
const globSegment = fc.string({ unit: fc.constantFrom('a', 'b', '.', '*', '?'), minLength: 1, maxLength: 6 });
const pattern = fc
  .tuple(fc.array(segment, { maxLength: 3 }), globSegment)
  .map(([folders, file]) => `/${[...folders, file].join('/')}`);
const blobPath = fc
  .tuple(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '.', '/', '*', '?', '\\'), maxLength: 6 }), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([parts, lead]) => (lead ? '/' : '') + parts.join('/'));

/** A blob path made from a pattern: each `*` and `?` filled with anything, `/` included. */
const instanceOf = (p: string) =>
  fc
    .tuple(
      fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '.', '/'), maxLength: 3 }), { minLength: 16, maxLength: 16 }),
      fc.array(fc.constantFrom('a', '.', '/'), { minLength: 16, maxLength: 16 }),
      fc.boolean(),
    )
    .map(([stars, ones, lead]) => {
      let i = 0;
      const body = [...p.slice(1)].map((c) => (c === '*' ? (stars[i++ % 16] ?? '') : c === '?' ? (ones[i++ % 16] ?? 'a') : c)).join('');
      return (lead ? '/' : '') + body;
    });
const patternAndBlob = fc.oneof(
  fc.tuple(pattern, blobPath),
  pattern.chain((p) => fc.tuple(fc.constant(p), instanceOf(p))),
);

describe('source path globs stay inside their folder', () => {
  it('agrees with the reference semantics (* and ? never match /)', () => {
    fc.assert(
      fc.property(patternAndBlob, ([p, b]) => {
        expect(matchesSourcePath(p, b)).toBe(reference(p, b));
      }),
      { numRuns: RUNS },
    );
  });

  it('matches only blobs with exactly the pattern folders and depth', () => {
    fc.assert(
      fc.property(pattern.chain((p) => fc.tuple(fc.constant(p), instanceOf(p))), ([p, b]) => {
        if (!matchesSourcePath(p, b)) return;
        const want = p.slice(1).split('/');
        const have = (b.startsWith('/') ? b.slice(1) : b).split('/');
        expect(have.length).toBe(want.length);
        expect(have.slice(0, -1)).toEqual(want.slice(0, -1));
        expect(have.at(-1)).not.toBe('');
      }),
      { numRuns: RUNS },
    );
  });

  it('never lets a * cross a folder boundary', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z]{1,5}$/), { minLength: 1, maxLength: 3 }), fc.stringMatching(/^[a-z.]{0,5}$/), (deeper, tail) => {
        expect(matchesSourcePath('/incoming/*', `incoming/${deeper.join('/')}/${tail}x`)).toBe(false);
        expect(matchesSourcePath('/incoming/*.csv', `incoming/${deeper.join('/')}.csv`)).toBe(deeper.length === 1);
      }),
      { numRuns: RUNS },
    );
  });

  it('matches nothing with an invalid pattern', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), blobPath, (p, b) => {
        fc.pre(!isValidSourcePath(p));
        expect(matchesSourcePath(p, b)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    ['a parent-folder escape', '/incoming/../*', 'other/a.csv'],
    ['a dot-dot pattern', '/..', '..'],
    ['a sibling folder with a shared prefix', '/in/*', 'incoming/a.csv'],
    ['a deeper file', '/incoming/*.csv', 'incoming/sub/a.csv'],
    ['a backslash folder separator', '/incoming/*', 'incoming\\..\\x'.replaceAll('\\', '/')],
    ['an empty file name', '/incoming/*', 'incoming/'],
    ['a case-changed folder', '/incoming/*', 'Incoming/a.csv'],
    ['an absolute pattern body', '//*', '/a'],
  ])('refuses %s', (_label, p, b) => {
    expect(matchesSourcePath(p, b)).toBe(false);
  });

  it('matches a pathological pattern in linear time', () => {
    const p = `/f/${'*a'.repeat(100)}*b`;
    expect(isValidSourcePath(p)).toBe(true);
    const started = performance.now();
    expect(matchesSourcePath(p, `f/${'a'.repeat(250)}`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(250);
  });
});
