import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyFileName, parseLandedBlobName } from '../../shared/ingestion/landed-file.js';

/**
 * Attack: a blob written under one tenant's prefix of the shared landing container that is
 * ingested as another tenant's file (dot segments, empty segments, look-alike org ids, case).
 * Properties: for ANY blob name, `parseLandedBlobName` returns a tenant only when the name is
 * exactly `{orgId}/{sandbox}/{relativePath}`, so it never returns a tenant whose prefix the name
 * does not start with; the relative path has no empty, `.` or `..` segment.
 */

const RUNS = 3000;

const orgId = fc.oneof(
  fc.constantFrom('A1B2C3@AdobeOrg', 'a1b2c3@adobeorg', 'B9@AdobeOrg', '.', '..', '...', '.@x', 'A', ''),
  fc.string({ unit: fc.constantFrom('A', 'b', '1', '@', '.', '_', '-', '/', '%', ' '), maxLength: 12 }),
);
const sandbox = fc.oneof(fc.constantFrom('prod', 'dev', 'Prod', 'prod ', '', '..', 'p-1'), fc.string({ unit: fc.constantFrom('p', 'r', 'o', 'd', '-', '/', '.', 'D'), maxLength: 8 }));
const rest = fc.array(fc.oneof(fc.constantFrom('', '.', '..', 'incoming', 'a.csv.gpg', '%2e%2e', '\\..'), fc.string({ maxLength: 6 })), { maxLength: 5 });
const blobName = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.tuple(orgId, sandbox, rest).map(([o, s, r]) => [o, s, ...r].join('/')),
  fc.tuple(rest, orgId, sandbox, rest).map(([pre, o, s, r]) => [...pre, o, s, ...r].join('/')),
);

describe('landed blob names map to exactly one tenant prefix', () => {
  it('returns a tenant only for a name made of that tenant prefix and a clean relative path', () => {
    fc.assert(
      fc.property(blobName, (name) => {
        const file = parseLandedBlobName(name);
        if (file === undefined) return;
        expect(name).toBe(`${file.orgId}/${file.sandbox}/${file.relativePath}`);
        expect(file.orgId).toMatch(/^[A-Za-z0-9@._-]{1,128}$/);
        expect(file.orgId).not.toMatch(/^\.+$/);
        expect(file.sandbox).toMatch(/^[a-z0-9-]{1,64}$/);
        for (const s of file.relativePath.split('/')) expect(['', '.', '..']).not.toContain(s);
      }),
      { numRuns: RUNS },
    );
  });

  it('never returns tenant T for a name that does not start with T prefix', () => {
    fc.assert(
      fc.property(blobName, orgId, sandbox, (name, org, sb) => {
        fc.pre(!name.startsWith(`${org}/${sb}/`));
        const file = parseLandedBlobName(name);
        expect(file !== undefined && file.orgId === org && file.sandbox === sb).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    ['a dot-dot climb into another org', 'A1@AdobeOrg/prod/../../B2@AdobeOrg/prod/a.csv.gpg'],
    ['an empty segment', 'A1@AdobeOrg/prod//a.csv.gpg'],
    ['a dot segment', 'A1@AdobeOrg/prod/./a.csv.gpg'],
    ['a leading slash', '/A1@AdobeOrg/prod/a.csv.gpg'],
    ['an upper-case sandbox', 'A1@AdobeOrg/PROD/a.csv.gpg'],
    ['an org of dots', '../prod/a.csv.gpg'],
    ['no relative path', 'A1@AdobeOrg/prod/'],
    ['no sandbox', 'A1@AdobeOrg/a.csv.gpg'],
    ['an encoded slash in the org', 'A1@AdobeOrg%2Fprod/x/a.csv.gpg'],
    ['a space in the org', 'A1 @AdobeOrg/prod/a.csv.gpg'],
    ['an over-long org id', `${'A'.repeat(129)}/prod/a.csv.gpg`],
  ])('ingests nothing for %s', (_label, name) => {
    expect(parseLandedBlobName(name)).toBeUndefined();
  });

  it('keeps case-different org ids distinct tenants', () => {
    expect(parseLandedBlobName('a1@adobeorg/prod/a.csv')?.orgId).toBe('a1@adobeorg');
    expect(parseLandedBlobName('A1@AdobeOrg/prod/a.csv')?.orgId).toBe('A1@AdobeOrg');
  });
});

describe('landed file names are classified by their last segment only', () => {
  it('names a format only for the accepted extensions and strips only .gpg/.pgp', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom('csv', 'tsv', 'json', 'parquet', 'gpg', 'pgp', 'CSV', 'GPG', 'exe', 'csv/x', ''), fc.string({ maxLength: 4 })), { maxLength: 4 }),
        fc.string({ maxLength: 8 }),
        (exts, stem) => {
          const name = [stem, ...exts].join('.');
          const type = classifyFileName(name);
          if (type === undefined) return;
          const last = name.slice(name.lastIndexOf('/') + 1);
          expect(type.plainName.includes('/')).toBe(false);
          expect(last.startsWith(type.plainName)).toBe(true);
          const stripped = last.slice(type.plainName.length).toLowerCase();
          expect(['', '.gpg', '.pgp']).toContain(stripped);
          if (type.format !== undefined) expect(type.plainName.toLowerCase()).toMatch(/\.(csv|tsv|json|parquet)$/);
          else expect(stripped).not.toBe('');
        },
      ),
      { numRuns: RUNS },
    );
  });
});
