#!/usr/bin/env node
/**
 * `cipherflow`: the command line of the cipherflow API (the package's bin). Exit codes: see
 * `exit-codes.ts`; `cipherflow --help` lists the commands.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCall } from './commands/call.js';
import { registerCmk } from './commands/cmk.js';
import { registerConnections } from './commands/connections.js';
import { registerCustomerKeys } from './commands/customer-keys.js';
import { registerEncrypt } from './commands/encrypt.js';
import { registerExport } from './commands/export.js';
import { registerFlows } from './commands/flows.js';
import { registerKeys } from './commands/keys.js';
import { registerLandingZone } from './commands/landing-zone.js';
import { registerLogin } from './commands/login.js';
import { registerRuns } from './commands/runs.js';
import { registerUpload } from './commands/upload.js';
import { createContext } from './context.js';
import { describeError, CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

const EXIT_CODES_HELP = `
Exit codes:
  ${EXIT.OK}  done
  ${EXIT.ERROR}  the API answered with a problem, or a local step failed (a file, a key)
  ${EXIT.USAGE}  usage error
  ${EXIT.AUTH}  not logged in, no token, the token, API key or org was refused, or storage refused the SAS
  ${EXIT.NETWORK}  the API or storage could not be reached
  ${EXIT.FAILED}  what was checked or watched failed (a run, a CMK configuration, an expired key)
  ${EXIT.TIMEOUT}  --watch timed out`;

export function buildProgram(): Command {
  const program = new Command('cipherflow')
    .description('encrypted ingestion, customer-managed keys and HPKE calls for the cipherflow API')
    .version(packageVersion())
    .option('--config <file>', 'config file (default: CIPHERFLOW_CONFIG or ~/.config/cipherflow/config.json)')
    .option('--json', 'print results as JSON')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError('(cipherflow --help for usage)')
    .exitOverride();
  const ctx = createContext(program);
  registerLogin(program, ctx);
  registerKeys(program, ctx);
  registerCustomerKeys(program, ctx);
  registerConnections(program, ctx);
  registerFlows(program, ctx);
  registerEncrypt(program, ctx);
  registerLandingZone(program, ctx);
  registerUpload(program, ctx);
  registerRuns(program, ctx);
  registerCmk(program, ctx);
  registerCall(program, ctx);
  registerExport(program, ctx);
  // Sub-commands inherit the override, so their usage errors come back here too.
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander printed the message already; help and version are not errors.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    for (const line of describeError(err)) process.stderr.write(`${line}\n`);
    return err instanceof CliError ? err.exitCode : EXIT.ERROR;
  }
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

process.exitCode = await main(process.argv.slice(2));
