import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { configPath, loadConfig, type CliConfig } from './config.js';

/** What every command needs, resolved from the global options when the command runs. */
export interface CliContext {
  configFile(): string;
  config(): Promise<CliConfig>;
  /** The API client; `hpke` encrypts bodies and answers (registering a client key on first use). */
  api(options?: { readonly hpke?: boolean }): Promise<ApiClient>;
  /** Prints a result: `value` as JSON with `--json`, else the human lines. */
  print(lines: string | readonly string[], value: unknown): void;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

export function createContext(program: Command): CliContext {
  const globals = () => program.opts<{ config?: string; json?: boolean }>();
  const configFile = () => configPath(globals().config);
  return {
    configFile,
    config: () => loadConfig(configFile()),
    async api(options = {}) {
      const config = await loadConfig(configFile());
      if (options.hpke !== true) return new ApiClient(config);
      // Loaded on demand, as the other heavy modules: every command starts fast.
      const { hpkeApiClient } = await import('./hpke-session.js');
      return hpkeApiClient(config, configFile());
    },
    print(lines, value) {
      if (globals().json === true) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else process.stdout.write(`${(typeof lines === 'string' ? [lines] : lines).join('\n')}\n`);
    },
    stdout: process.stdout,
    stderr: process.stderr,
  };
}
