import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors.js';
import { folderPrefix } from '../../shared/landing-zones/explore.js';

const ZONE = 'dlz-abcdefghijklmnopqrstuvwxyz';

describe('explore paths inside a landing zone', () => {
  it("reads the zone's own name, Adobe's dlz-user-container, or neither as the zone's top", () => {
    expect(folderPrefix(`${ZONE}/`, ZONE)).toBe('');
    expect(folderPrefix(ZONE, ZONE)).toBe('');
    expect(folderPrefix('dlz-user-container/incoming/', ZONE)).toBe('incoming/');
    expect(folderPrefix('dlz-user-container/incoming', ZONE)).toBe('incoming/');
    expect(folderPrefix('incoming/2026/', ZONE)).toBe('incoming/2026/');
    // Another zone's name is just a folder of this one.
    expect(folderPrefix('dlz-zzzzzzzzzzzzzzzzzzzzzzzzzz/x/', ZONE)).toBe('dlz-zzzzzzzzzzzzzzzzzzzzzzzzzz/x/');
  });

  it('refuses paths that try to leave the zone or hide separators', () => {
    for (const object of [undefined, '', '..', 'a/../b', './a', 'a//b', '/a', 'a\\b', 'a%2Fb', 'a%2e%2e', 'a%5cb', 'a\u0007b', 'x'.repeat(1025)]) {
      expect(() => folderPrefix(object, ZONE), String(object).slice(0, 20)).toThrow(ValidationError);
    }
  });
});
