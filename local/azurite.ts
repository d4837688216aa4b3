import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteInstance {
  readonly blobEndpoint: string;
  readonly queueEndpoint: string;
  readonly tableEndpoint: string;
  /** A full connection string for the Azure SDK clients and `AzureWebJobsStorage`. */
  readonly connectionString: string;
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
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
