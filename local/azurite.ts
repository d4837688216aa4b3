import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * The local stand-in for the customer landing-zone storage account, a second account in the same
 * Azurite. In Azure it is a separate account from the app's internal storage, so a tenant's SAS
 * never reaches internal data; locally Azurite keeps accounts apart by name and key.
 */
export const LANDING_ACCOUNT = 'devlandingstore1';
/**
 * Its key: a fixed, public development value (64 random bytes, base64) like Azurite's own key
 * above. It is published in this repository and guards nothing but local emulator data: not a
 * secret, and never a key of any real account.
 */
export const LANDING_ACCOUNT_KEY =
  'aLXY6ja6Y6YU8oywYlQ6AOXFww4LRkzheT4gICv/NWE04r0e3njympvHQZnWLtXHjCkgnF4rNCaG7tdS35Y6SA==';

/**
 * Azurite's `AZURITE_ACCOUNTS` (`name:key1[:key2];...`, read by its AccountDataStore). Setting it
 * replaces the built-in account rather than adding to it, so `devstoreaccount1` is listed too.
 */
export const AZURITE_ACCOUNTS = `${DEV_ACCOUNT}:${DEV_ACCOUNT_KEY};${LANDING_ACCOUNT}:${LANDING_ACCOUNT_KEY}`;

/** A storage account in the local Azurite: its name, key and blob endpoint. */
export interface LocalAccount {
  readonly accountName: string;
  readonly accountKey: string;
  /** Path-style blob endpoint, `http://127.0.0.1:{port}/{accountName}`. */
  readonly blobEndpoint: string;
}

export interface AzuriteInstance {
  readonly blobEndpoint: string;
  readonly queueEndpoint: string;
  readonly tableEndpoint: string;
  /** A full connection string for the Azure SDK clients and `AzureWebJobsStorage`. */
  readonly connectionString: string;
  /**
   * The landing account, straight on Azurite's blob port (no events). Clients go through the
   * local Event Grid (`local/landing-events.ts`) instead; this is its upstream.
   */
  readonly landing: LocalAccount;
  /** The Azurite process (benchmarks read its CPU time). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Folder for on-disk persistence; absent: in memory (tests). */
  readonly location?: string;
  /** 0 picks free ports (tests); npm start uses Azurite's defaults 10000-10002. */
  readonly blobPort?: number;
  readonly queuePort?: number;
  readonly tablePort?: number;
  readonly debugLog?: string;
}

/**
 * Starts Azurite from node_modules as a child process (the same program `npx azurite` runs) and
 * resolves once all three services listen, with the ports they actually bound.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteInstance> {
  const require = createRequire(import.meta.url);
  const entry = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'azurite.js');
  const args = [
    entry,
    '--blobHost', '127.0.0.1', '--blobPort', String(options.blobPort ?? 0),
    '--queueHost', '127.0.0.1', '--queuePort', String(options.queuePort ?? 0),
    '--tableHost', '127.0.0.1', '--tablePort', String(options.tablePort ?? 0),
    '--skipApiVersionCheck', '--disableTelemetry', '--loose',
  ];
  if (options.location === undefined) {
    args.push('--inMemoryPersistence');
  } else {
    args.push('--location', options.location);
  }
  if (options.debugLog !== undefined) args.push('--debug', options.debugLog);
  const child = spawn(process.execPath, args, {
    env: { ...process.env, AZURITE_ACCOUNTS },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ports = await waitForPorts(child);
  const host = '127.0.0.1';
  const blobEndpoint = `http://${host}:${ports.Blob}/${DEV_ACCOUNT}`;
  const queueEndpoint = `http://${host}:${ports.Queue}/${DEV_ACCOUNT}`;
  const tableEndpoint = `http://${host}:${ports.Table}/${DEV_ACCOUNT}`;
  return {
    blobEndpoint,
    queueEndpoint,
    tableEndpoint,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};` +
      `BlobEndpoint=${blobEndpoint};QueueEndpoint=${queueEndpoint};TableEndpoint=${tableEndpoint};`,
    landing: {
      accountName: LANDING_ACCOUNT,
      accountKey: LANDING_ACCOUNT_KEY,
      blobEndpoint: `http://${host}:${ports.Blob}/${LANDING_ACCOUNT}`,
    },
    pid: child.pid,
    stop: () => stopChild(child),
  };
}

function waitForPorts(child: ChildProcess): Promise<Record<'Blob' | 'Queue' | 'Table', number>> {
  return new Promise((resolve, reject) => {
    const ports: Partial<Record<'Blob' | 'Queue' | 'Table', number>> = {};
    const output: string[] = [];
    if (child.stdout === null) {
      reject(new Error('Azurite was started without a stdout pipe.'));
      return;
    }
    const lines = createInterface({ input: child.stdout });
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const timer = setTimeout(() => fail(new Error('Azurite did not start within 30 s.')), 30_000);
    function fail(err: Error): void {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`${err.message}\n${output.join('')}`));
    }
    lines.on('line', (line) => {
      output.push(line);
      const m = /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) {
        ports[m[1] as 'Blob' | 'Queue' | 'Table'] = Number(m[2]);
        if (ports.Blob !== undefined && ports.Queue !== undefined && ports.Table !== undefined) {
          clearTimeout(timer);
          lines.removeAllListeners('line');
          child.stdout?.resume();
          resolve({ Blob: ports.Blob, Queue: ports.Queue, Table: ports.Table });
        }
      }
    });
    child.once('exit', (code) => fail(new Error(`Azurite exited with code ${code}.`)));
  });
}

/** Sends SIGTERM and waits for the process to exit (SIGKILL after 5 s). */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
