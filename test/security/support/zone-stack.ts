import type { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll } from 'vitest';
import { ApiClient, type LandingZoneCredential } from '../../support/api-client.js';
import { startLocalStack, type LocalStack } from '../../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../../support/runtime-process.js';

export const CREDENTIALS = '/data/foundation/connectors/landingzone/credentials';

/** The local stack and runtime of one attack file, started once for its tests. */
export interface ZoneStack {
  readonly stack: LocalStack;
  readonly runtime: RuntimeProcess;
  api(org: string, sandbox?: string): ApiClient;
  /** The zone's current credential, as its tenant gets it from the API. */
  credential(org: string, sandbox?: string): Promise<LandingZoneCredential>;
  refresh(org: string, sandbox?: string): Promise<LandingZoneCredential>;
}

/** Starts a local stack and runtime before the file's tests and stops them after. */
export function useZoneStack(env: Record<string, string> = {}): ZoneStack {
  let stack: LocalStack | undefined;
  let runtime: RuntimeProcess | undefined;
  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: '200', ...env });
  });
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the zone stack has not started');
    return value;
  };
  const api = (org: string, sandbox = 'prod') => new ApiClient(started(runtime).url, org, sandbox);
  return {
    get stack() {
      return started(stack);
    },
    get runtime() {
      return started(runtime);
    },
    api,
    credential: (org, sandbox) => api(org, sandbox).json<LandingZoneCredential>('GET', `${CREDENTIALS}?type=user_drop_zone`),
    refresh: (org, sandbox) => api(org, sandbox).json<LandingZoneCredential>('POST', `${CREDENTIALS}?type=user_drop_zone&action=refresh`),
  };
}

/** The HTTP status a storage call ended with (200 for success). */
export async function storageStatus(work: Promise<unknown> | (() => Promise<unknown>)): Promise<number> {
  try {
    await (typeof work === 'function' ? work() : work);
    return 200;
  } catch (err) {
    return (err as { statusCode?: number }).statusCode ?? -1;
  }
}

/** Every operation a zone SAS grants, tried against `container` (a client built on some SAS). */
export async function everyZoneOperation(container: ContainerClient): Promise<Record<string, number>> {
  return {
    write: await storageStatus(container.getBlockBlobClient('attack/written.csv.gpg').uploadData(Buffer.from('x'))),
    read: await storageStatus(container.getBlobClient('victim/secret.csv.gpg').downloadToBuffer()),
    list: await storageStatus(container.listBlobsFlat().next()),
    delete: await storageStatus(container.getBlobClient('victim/secret.csv.gpg').delete()),
  };
}
