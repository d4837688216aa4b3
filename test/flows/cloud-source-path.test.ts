import { describe, expect, it } from 'vitest';
import { cloudSelection, cloudSourcePathProblem, selects } from '../../shared/flows/cloud-source-path.js';

describe('cloud source paths', () => {
  it.each(['/', '/incoming', '/incoming/', '/incoming/*.csv.gpg', '/a/b/c.json.pgp', '/drop/export-??.csv'])('accepts %s', (path) => {
    expect(cloudSourcePathProblem(path)).toBeUndefined();
  });

  it.each([
    ['incoming/a.csv', /start with \//],
    ['/../etc/passwd', /\.\./],
    ['/incoming/../../x', /\.\./],
    ['/a/./b', /\.\./],
    ['/a\\b', /backslash/],
    ['/a%2f..%2fb', /encoded/],
    ['/a/\u0000b', /control/],
    ['/in*/a.csv', /last segment/],
    ['/incoming/*.csv/', /last segment/],
    [`/${'a'.repeat(1025)}`, /1024/],
  ])('refuses %s', (path, message) => {
    expect(cloudSourcePathProblem(path)).toMatch(message);
  });

  it('selects a pattern in its folder, a folder whole, and a bare path as a file or a folder', () => {
    expect(cloudSelection('/in/*.csv.gpg', true)).toEqual({ folder: 'in', pattern: '*.csv.gpg', recursive: true });
    expect(cloudSelection('/in/', false)).toEqual({ folder: 'in', recursive: false });
    expect(cloudSelection('/', false)).toEqual({ folder: '', recursive: false });
    expect(cloudSelection('/in/a.csv.gpg', false)).toEqual({ folder: 'in/a.csv.gpg', maybeFile: 'in/a.csv.gpg', recursive: false });
    const pattern = cloudSelection('/in/*.csv.gpg', true);
    expect(selects(pattern, 'in/sub/x.csv.gpg')).toBe(true);
    expect(selects(pattern, 'in/x.json.gpg')).toBe(false);
    expect(selects(cloudSelection('/in', true), 'in/anything')).toBe(true);
  });
});
