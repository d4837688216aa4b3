import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../support/runtime-process.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the compiled CLI (`dist/cli/main.js`, built by `npm test`) as a subprocess, as a user's
 * shell would; stdout and stderr are pipes, so not TTYs.
 */
export function runCli(
  args: readonly string[],
  env: Record<string, string>,
  options: { cwd?: string; stdin?: string } = {},
): Promise<CliResult> {
  return runScript(['cli', 'main.js'], args, env, options);
}

/** Runs `npm run upload`'s script (`dist/local/upload-cli.js`) as `npm run --silent upload -- ARGS` would. */
export function runUploadScript(
  args: readonly string[],
  env: Record<string, string>,
  options: { cwd?: string } = {},
): Promise<CliResult> {
  return runScript(['local', 'upload-cli.js'], args, env, options);
}

function runScript(
  script: readonly string[],
  args: readonly string[],
  env: Record<string, string>,
  options: { cwd?: string; stdin?: string },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'dist', ...script), ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** Parses the `--json` output of a successful run, failing with its output otherwise. */
export function jsonOf<T>(result: CliResult): T {
  if (result.code !== 0)
    throw new Error(`cipherflow exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
