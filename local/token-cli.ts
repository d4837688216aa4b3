import { parseArgs } from 'node:util';
import { issueDevToken } from './dev-issuer.js';

// Prints a development access token for the local issuer:
//   node dist/local/token-cli.js --org ORG [--org ORG2] [--sandbox NAME ...] [--client-id ID] [--subject SUB] [--ttl SECONDS]
// `--sandbox` confines the token to the sandboxes named (claim `sandboxes`); the app honours the
// claim only with AUTH_SANDBOX_CLAIM=sandboxes, and otherwise sandboxes are chosen per request.
const USAGE = 'usage: token --org ORG [--org ORG2] [--sandbox NAME ...] [--client-id ID] [--subject SUB] [--ttl SECONDS]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      org: { type: 'string', multiple: true },
      'client-id': { type: 'string' },
      subject: { type: 'string' },
      sandbox: { type: 'string', multiple: true },
      ttl: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const orgs = values.org ?? [];
  if (orgs.length === 0) throw new Error(`--org is required\n${USAGE}`);
  const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
  const token = await issueDevToken({
    org: orgs,
    ...(values.sandbox === undefined ? {} : { sandboxes: values.sandbox }),
    ...(values['client-id'] === undefined ? {} : { clientId: values['client-id'] }),
    ...(values.subject === undefined ? {} : { subject: values.subject }),
    ...(ttl === undefined ? {} : { ttlSeconds: ttl }),
  });
  process.stdout.write(`${token}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
