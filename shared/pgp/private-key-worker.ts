import { parentPort } from 'node:worker_threads';
import { lowerThreadPriority } from '../core/worker-priority.js';
import { serveWorkerOperations } from '../core/worker-pool.js';
import { isPgpError } from './errors.js';
import { generateKeyPair } from './generate-key-pair.js';
import { recoverSessionKeys } from './session-keys.js';
import type { PrivateKeyOperations } from './private-key-pool.js';

// The private-key worker: a thread of `private-key-pool.ts` that runs what costs CPU with a
// private key (key generation, unlock, session key decryption), so the thread serving HTTP never
// does. It loads only OpenPGP.js and these modules.

if (parentPort === null) throw new Error('private-key-worker.ts runs only as a worker thread');
lowerThreadPriority();

const operations: PrivateKeyOperations = { generateKeyPair, recoverSessionKeys };

serveWorkerOperations(parentPort, operations, (err) =>
  // A PGP failure crosses the thread boundary as its stable code (and only that: the cause, which
  // may describe which crypto step failed, stays here).
  isPgpError(err) ? { pgpCode: err.code } : undefined,
);
