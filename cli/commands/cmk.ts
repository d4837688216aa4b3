import type { Command } from 'commander';
import { ByokConfig, ByokConfigCreated, CmkAppRegistration } from '../../shared/api/openapi/response-schemas.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { parseSeconds, pollUntil } from '../watch.js';

const SETTLED = new Set(['COMPLETED', 'FAILED', 'KEY_ACCESS_REVOKED']);
const UNSUCCESSFUL = new Set(['FAILED', 'KEY_ACCESS_REVOKED']);

/** `cipherflow cmk app-registration|submit|status`: the steps of the README's customer-managed key guide. */
export function registerCmk(program: Command, ctx: CliContext): void {
  const cmk = program
    .command('cmk')
    .description("customer-managed keys: wrap the org's keys with a key in your Azure Key Vault");

  cmk
    .command('app-registration')
    .description('the application to consent to (step 2), then give it a role on your key')
    .action(async () => {
      const app = await (
        await ctx.api()
      ).json('GET', '/data/infrastructure/manager/byok/app-registration', CmkAppRegistration);
      ctx.print([`application: ${app.name} (${app.applicationId})`, `consent:     ${app.applicationRedirectUrl}`], app);
    });

  cmk
    .command('submit')
    .description('send the Key Vault key identifier (step 4)')
    .requiredOption('--name <name>', 'configuration name')
    .requiredOption('--key-id <url>', 'https://{vault}.vault.azure.net/keys/{name}[/{version}]')
    .action(async (opts: { name: string; keyId: string }) => {
      const api = await ctx.api();
      const created = await api.json('POST', '/data/infrastructure/manager/customer/config', ByokConfigCreated, {
        name: opts.name,
        type: 'BYOK_CONFIG',
        imsOrgId: api.config.org,
        configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: opts.keyId },
      });
      ctx.print(
        `submitted ${created.config.name}: ${created.config.status} (follow it with: cipherflow cmk status ${created.config.name} --watch)`,
        created,
      );
    });

  cmk
    .command('status <name>')
    .description(`a configuration's status (step 5); exit ${EXIT.FAILED} when FAILED or KEY_ACCESS_REVOKED`)
    .option('--watch', 'wait until COMPLETED, FAILED or KEY_ACCESS_REVOKED')
    .option('--timeout <seconds>', 'how long --watch waits', parseSeconds, 600)
    .option('--interval <seconds>', 'how often --watch asks', parseSeconds, 2)
    .action(async (name: string, opts: { watch?: boolean; timeout: number; interval: number }) => {
      const api = await ctx.api();
      const get = () =>
        api.json(
          'GET',
          `/data/infrastructure/manager/customer/config/${encodeURIComponent(name)}?configType=BYOK_CONFIG`,
          ByokConfig,
        );
      let last = '';
      const config =
        opts.watch === true
          ? await pollUntil(
              async () => {
                const current = await get();
                if (current.status !== last) process.stderr.write(`${name}: ${current.status}\n`);
                last = current.status;
                return SETTLED.has(current.status) ? current : undefined;
              },
              { intervalMs: opts.interval * 1000, timeoutMs: opts.timeout * 1000, what: `${name} to settle` },
            )
          : await get();
      const lines = [`${config.name}: ${config.status}`, `key: ${config.configData.keyVaultKeyIdentifier}`];
      if (config.failure !== undefined) lines.push(`failure: ${config.failure.code}: ${config.failure.message}`);
      ctx.print(lines, config);
      if (UNSUCCESSFUL.has(config.status)) process.exitCode = EXIT.FAILED;
    });
}
