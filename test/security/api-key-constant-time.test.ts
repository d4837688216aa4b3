import * as crypto from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkApiKey } from '../../shared/auth/api-key.js';
import { AppError } from '../../shared/errors.js';

// The real timingSafeEqual, wrapped so the test sees every call (a call-level assertion: the
// comparison goes through it, on equal-length digests, whatever the inputs' lengths).
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof crypto>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

/**
 * Attack: recovering the expected API key (the token's client id) byte by byte from response
 * times, or crashing the check with inputs of another length (`timingSafeEqual` throws a
 * RangeError on unequal lengths, which would become a 500 and a length oracle).
 * Property: for ANY header value and client id, `checkApiKey` passes iff they are equal, else
 * throws INVALID_API_KEY; and the comparison is `timingSafeEqual` on two 32-byte SHA-256 digests.
 * (The timing itself is not measured: a CI machine's noise is far above the signal; the
 * property that matters is that no data-dependent early exit exists, which this proves by
 * construction.)
 */
describe('x-api-key comparison', () => {
  const spy = vi.mocked(crypto.timingSafeEqual);
  afterEach(() => spy.mockClear());

  it('accepts exactly the client id and refuses anything else with INVALID_API_KEY', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.constant('cipherflow-dev-client'), fc.constant('cipherflow-dev-clienT'), fc.constant('x'.repeat(10_000))),
        fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }), fc.constant('cipherflow-dev-client')),
        (apiKey, clientId) => {
          spy.mockClear();
          let code: string | undefined;
          try {
            checkApiKey(apiKey, clientId);
          } catch (err) {
            expect(err).toBeInstanceOf(AppError);
            code = (err as AppError).code;
          }
          expect(code === undefined).toBe(apiKey === clientId);
          if (code !== undefined) expect(code).toBe('INVALID_API_KEY');
          if (apiKey !== '') {
            expect(spy).toHaveBeenCalledTimes(1);
            const [a, b] = spy.mock.calls[0] ?? [];
            expect((a as Buffer).length).toBe(32);
            expect((b as Buffer).length).toBe(32);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['a missing header', null],
    ['an empty header', ''],
    ['a prefix', 'cipherflow-dev'],
    ['a longer value', 'cipherflow-dev-client-and-more'],
    ['a different case', 'CIPHERFLOW-DEV-CLIENT'],
    ['a trailing NUL', 'cipherflow-dev-client\u0000'],
    ['a Unicode look-alike', 'cipherflow-dev-cliеnt'],
  ])('refuses %s with INVALID_API_KEY, never a RangeError', (_label, value) => {
    expect(() => checkApiKey(value, 'cipherflow-dev-client')).toThrow(expect.objectContaining({ code: 'INVALID_API_KEY' }) as Error);
  });
});
