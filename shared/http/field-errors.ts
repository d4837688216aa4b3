import type { z } from 'zod';
import type { FieldError } from '../errors.js';

/**
 * Turns zod issues into field errors naming each field (`body.params.passPhrase`, pointer
 * `/params/passPhrase`). Each unknown key becomes its own error. Messages are zod's, which
 * describe the expectation and never quote the input.
 */
export function fieldErrors(issues: readonly z.core.$ZodIssue[], root = 'body'): FieldError[] {
  return issues.flatMap((issue): FieldError[] => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ ...locate(root, [...path, key]), message: 'Unknown field' }));
    }
    return [{ ...locate(root, path), message: issue.message }];
  });
}

function locate(root: string, path: readonly (string | number)[]): { field: string; pointer: string } {
  const field = path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}.${p}`), root);
  const pointer = path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
  return { field, pointer };
}
