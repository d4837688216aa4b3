import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/**
 * `cipherflow landing-zone show | credentials [--show-secret] | refresh [--show-secret]`: the org
 * and sandbox's landing zone, the container files are uploaded to, and the SAS the API issues for
 * it. The SAS grants write access to the zone, so it is printed only with `--show-secret`, with or
 * without `--json`, as tokens are never printed.
 */
export function registerLandingZone(program: Command, ctx: CliContext): void {
  const zone = program
    .command('landing-zone')
    .description("the sandbox's landing zone: the container files are uploaded to, and its SAS credential")
    .addHelpText(
      'after',
      `
The SAS token grants write access to the zone until it expires or is refreshed: credentials and
refresh print it only with --show-secret (also with --json). upload needs none of this: it asks
the API for the credential itself.`,
    );

  zone
    .command('show')
    .description('the zone (created on first use): its container and how many days files stay')
    .action(async () => {
      const { getZone } = await import('../landing-zone.js');
      const view = await getZone(await ctx.api());
      ctx.print([`container: ${view.containerName}`, `ttl:       ${view.containerTTL} days`], view);
    });

  zone
    .command('credentials')
    .description("the zone's SAS credential (the same until a refresh); the SAS only with --show-secret")
    .option('--show-secret', 'print the SAS token and SAS URI')
    .action(async (opts: { showSecret?: boolean }) => {
      const { credentialLines, credentialView, getZoneCredential } = await import('../landing-zone.js');
      const view = credentialView(await getZoneCredential(await ctx.api()), opts.showSecret === true);
      ctx.print(credentialLines(view), view);
    });

  zone
    .command('refresh')
    .description('revoke every earlier SAS of the zone and issue a new one (Azure takes up to 30 s to apply it)')
    .option('--show-secret', 'print the new SAS token and SAS URI')
    .action(async (opts: { showSecret?: boolean }) => {
      const { credentialLines, credentialView, refreshZoneCredential } = await import('../landing-zone.js');
      const view = credentialView(await refreshZoneCredential(await ctx.api()), opts.showSecret === true);
      ctx.print(
        [
          `refreshed: every earlier SAS of ${view.containerName} stops working (Azure may take up to 30 s)`,
          ...credentialLines(view),
        ],
        view,
      );
    });
}
