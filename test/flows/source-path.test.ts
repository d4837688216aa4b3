import { describe, expect, it } from 'vitest';
import { CreateSourceConnectionRequest } from '../../shared/flows/source-connections.js';
import { isValidSourcePath, matchesSourcePath, sourcePathProblem } from '../../shared/flows/source-path.js';

describe('source path validation', () => {
  it.each([
    '/incoming/*.csv.gpg',
    '/crm/2024/export-??.json.gpg',
    '/drop/customers.csv.gpg',
    '/*.gpg',
    '/a_b/c-d/e.f/*',
  ])('accepts %s', (path) => {
    expect(sourcePathProblem(path)).toBeUndefined();
  });

  it.each([
    ['incoming/*.csv', 'Must start with /'],
    ['/incoming/../other/*.csv', 'Must not contain ..'],
    ['/incoming/..', 'Must not contain ..'],
    ['/incoming\\evil/*.csv', 'Must not contain a backslash'],
    ['/incoming/', 'Must end with a file name'],
    ['/', 'Must end with a file name'],
    ['//x.csv', 'Folder names'],
    ['/in coming/*.csv', 'Folder names'],
    ['/in*/x.csv', 'Folder names'],
    ['/./x.csv', 'Folder names'],
    ['/incoming/%2e%2e', 'The file name or pattern'],
    ['/incoming/a#b', 'The file name or pattern'],
    ['/incoming/a\u0000', 'The file name or pattern'],
  ])('refuses %j', (path, reason) => {
    expect(sourcePathProblem(path)).toContain(reason);
  });

  it('refuses overlong and overdeep paths', () => {
    expect(isValidSourcePath(`/${'a'.repeat(1024)}`)).toBe(false);
    expect(isValidSourcePath(`/${Array.from({ length: 16 }, () => 'a').join('/')}/x`)).toBe(false);
  });

  it('names the field and reason when the request schema refuses a path', () => {
    const parsed = CreateSourceConnectionRequest.safeParse({
      name: 'x',
      data: { format: 'delimited' },
      params: { path: '/a/../b' },
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['params', 'path'], message: 'Must not contain ..' });
  });
});

describe('matchesSourcePath', () => {
  it.each([
    ['/incoming/*.csv.gpg', 'incoming/customers.csv.gpg', true],
    ['/incoming/*.csv.gpg', '/incoming/customers.csv.gpg', true],
    ['/incoming/*.csv.gpg', 'incoming/.csv.gpg', true],
    ['/incoming/*.csv.gpg', 'incoming/customers.json.gpg', false],
    ['/incoming/*.csv.gpg', 'incoming/customers.csv', false],
    ['/incoming/*.csv.gpg', 'Incoming/customers.csv.gpg', false],
    ['/incoming/*.csv.gpg', 'other/customers.csv.gpg', false],
    ['/incoming/*', 'incoming/anything', true],
    ['/incoming/*', 'incoming/', false],
    ['/incoming/*', 'incoming', false],
    ['/incoming/export-??.csv', 'incoming/export-01.csv', true],
    ['/incoming/export-??.csv', 'incoming/export-1.csv', false],
    ['/incoming/export-??.csv', 'incoming/export-001.csv', false],
    ['/drop/customers.csv.gpg', 'drop/customers.csv.gpg', true],
    ['/drop/customers.csv.gpg', 'drop/customersXcsv.gpg', false],
    ['/*.gpg', 'a.gpg', true],
    ['/*.gpg', 'sub/a.gpg', false],
    ['/a/b/*x*y*', 'a/b/1x2y3', true],
    ['/a/b/*x*y*', 'a/b/1y2x3', false],
  ])('%s selects %j: %s', (pattern, blob, expected) => {
    expect(matchesSourcePath(pattern, blob)).toBe(expected);
  });

  it('never lets * or ? cross a folder boundary', () => {
    expect(matchesSourcePath('/incoming/*.csv', 'incoming/sub/a.csv')).toBe(false);
    expect(matchesSourcePath('/incoming/*', 'incoming/sub/a.csv')).toBe(false);
    expect(matchesSourcePath('/incoming/a?b', 'incoming/a/b')).toBe(false);
  });

  it('matches nothing with an invalid pattern', () => {
    expect(matchesSourcePath('/incoming/../*', 'incoming/../x')).toBe(false);
    expect(matchesSourcePath('incoming/*', 'incoming/x')).toBe(false);
  });

  it('stays fast on a pattern built to make a backtracking matcher explode', () => {
    const started = performance.now();
    expect(matchesSourcePath(`/in/${'*a'.repeat(20)}*b`, `in/${'a'.repeat(200)}`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(100);
  });
});
