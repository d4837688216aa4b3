import { randomBytes } from 'node:crypto';

/** Source of key material; production uses the OS CSPRNG. */
export interface Random {
  bytes(length: number): Buffer;
}

export const systemRandom: Random = { bytes: (length) => randomBytes(length) };
