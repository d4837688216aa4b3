import { describe, expect, it } from 'vitest';
import { decodePageToken, encodePageToken } from '../../shared/sources/sftp-page-token.js';
import { isAddressableName, pathSegments, serverPath, sftpRoot } from '../../shared/sources/sftp-path.js';

describe('SFTP paths', () => {
  it('normalises the folderPath and joins paths under it', () => {
    expect(serverPath(sftpRoot('/upload'), ['a', 'b.gpg'])).toBe('/upload/a/b.gpg');
    expect(serverPath(sftpRoot('//upload/./in/'), [])).toBe('/upload/in');
    expect(serverPath(sftpRoot('/'), ['a'])).toBe('/a');
    expect(serverPath(sftpRoot('/'), [])).toBe('/');
    expect(serverPath(sftpRoot('upload'), ['a'])).toBe('upload/a');
    expect(serverPath(sftpRoot(''), [])).toBe('.');
    expect(serverPath(sftpRoot('./'), ['a'])).toBe('a');
  });

  it('reads a leading / of a reader path as the root, never the server root', () => {
    expect(pathSegments('/a//b/./c')).toEqual(['a', 'b', 'c']);
    expect(pathSegments('')).toEqual([]);
  });

  it("refuses '..', what Windows reads as '..', backslashes and NUL with SOURCE_PATH_NOT_FOUND", () => {
    for (const path of ['..', 'a/..', '../a', '...', '.. ', '.. .', 'a\\b', '\\', 'a\u0000b']) {
      expect(() => pathSegments(path), JSON.stringify(path)).toThrow(
        expect.objectContaining({ code: 'SOURCE_PATH_NOT_FOUND' }) as Error,
      );
      expect(() => sftpRoot(path), JSON.stringify(path)).toThrow(
        expect.objectContaining({ code: 'SOURCE_PATH_NOT_FOUND' }) as Error,
      );
    }
  });

  it('addresses ordinary names, dotfiles included', () => {
    for (const name of ['a.csv.gpg', '.hidden', '..hidden', 'a..b', ' x '])
      expect(isAddressableName(name), name).toBe(true);
    for (const name of ['', '.', '..', '....', 'a/b', 'a\\b', 'a\u0000'])
      expect(isAddressableName(name), name).toBe(false);
  });
});

describe('SFTP page tokens', () => {
  it('round-trips a position', () => {
    expect(decodePageToken(undefined)).toBe(0);
    expect(decodePageToken(encodePageToken(1234))).toBe(1234);
  });

  it('refuses a token it did not make with INVALID_REQUEST', () => {
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const token of [
      '',
      'not-base64-json!',
      forged({ p: -1 }),
      forged({ p: 1.5 }),
      forged({ p: '3' }),
      forged([3]),
      forged({ p: 1e12 }),
    ]) {
      expect(() => decodePageToken(token), token).toThrow(
        expect.objectContaining({ code: 'INVALID_REQUEST' }) as Error,
      );
    }
  });
});
