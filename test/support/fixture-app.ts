import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach } from 'vitest';
import { startAzurite, type AzuriteInstance } from '../../local/azurite.js';
import { repoRoot, startRuntime, type RuntimeProcess } from './runtime-process.js';

/** What a fixture app's function writes to `CIPHERFLOW_TEST_RECORD`, one JSON line per invocation. */
export interface RecordedEntry {
  fn: string;
  pid: number;
}

export interface FixtureApp<E extends RecordedEntry> {
  /** This test's Azurite; throws before `beforeEach` has run. */
  readonly azurite: AzuriteInstance;
  /** Starts a runtime instance of the fixture app on this test's Azurite, with `extra` settings. */
  readonly start: (extra?: Record<string, string>) => Promise<RuntimeProcess>;
  /** Stops one instance before the test ends. */
  readonly stop: (runtime: RuntimeProcess) => Promise<void>;
  /** The invocations of function `fn` recorded so far, by every instance. */
  readonly records: (fn: string) => Promise<E[]>;
}

/**
 * Registers `beforeEach`/`afterEach` for tests of the local runtime's triggers on a fixture app
 * (`test/fixtures/<app>`): a fresh Azurite and record file per test, every instance started with
 * `env` stopped after it. Call it in a `describe` block.
 */
export function useFixtureApp<E extends RecordedEntry>(app: string, env: Record<string, string>): FixtureApp<E> {
  const fixture = path.join(repoRoot, 'test', 'fixtures', app);
  let azurite: AzuriteInstance | undefined;
  let dir = '';
  let recordFile = '';
  const runtimes: RuntimeProcess[] = [];

  beforeEach(async () => {
    azurite = await startAzurite();
    dir = await mkdtemp(path.join(os.tmpdir(), `cf-${app}-`));
    recordFile = path.join(dir, 'record.jsonl');
  });

  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
    await azurite?.stop();
    azurite = undefined;
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  const storage = (): AzuriteInstance => {
    if (azurite === undefined) throw new Error('useFixtureApp: Azurite is not started (use it inside a test)');
    return azurite;
  };

  return {
    get azurite() {
      return storage();
    },
    start: async (extra = {}) => {
      const runtime = await startRuntime(
        { AzureWebJobsStorage: storage().connectionString, ...env, CIPHERFLOW_TEST_RECORD: recordFile, ...extra },
        fixture,
      );
      runtimes.push(runtime);
      return runtime;
    },
    stop: async (runtime) => {
      const index = runtimes.indexOf(runtime);
      if (index >= 0) runtimes.splice(index, 1);
      await runtime.stop();
    },
    records: async (fn) => {
      const text = await readFile(recordFile, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as E)
        .filter((e) => e.fn === fn);
    },
  };
}

/** Polls `condition` every 100 ms until it holds. */
export async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
