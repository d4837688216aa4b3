import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import {
  EncryptionKey,
  EncryptionKeyCreated,
  EncryptionKeyList,
  EncryptionKeyValidation,
} from '../../shared/api/openapi/response-schemas.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';

const KEYS = '/data/foundation/connectors/encryption/keys';

/**
 * `cipherflow keys create|list|show|delete|validate`: cipherflow's PGP key pairs. `create` and
 * `show --out` write the armored public key (decoded from the API's Base64) for `gpg --import`.
 */
export function registerKeys(program: Command, ctx: CliContext): void {
  const keys = program
    .command('keys')
    .description('PGP key pairs files are encrypted to (the private key stays in cipherflow)');

  keys
    .command('create')
    .description('create a key pair and write its public key (.asc)')
    .requiredOption('--name <name>', 'key name (also its user id)')
    .addOption(new Option('--key-type <type>', 'key algorithm').choices(['Curve25519', 'RSA']))
    .option('--expiry-days <days>', 'days until the key expires (1..730)', parseDays)
    .option(
      '--passphrase-env <var>',
      'environment variable holding the passphrase (default: a random one, kept by cipherflow)',
    )
    .option('--out <file>', 'where to write the armored public key (default: <publicKeyId>.asc)')
    .action(
      async (opts: { name: string; keyType?: string; expiryDays?: number; passphraseEnv?: string; out?: string }) => {
        const passPhrase = passphraseFrom(opts.passphraseEnv);
        const api = await ctx.api();
        const created = await api.json('POST', KEYS, EncryptionKeyCreated, {
          name: opts.name,
          encryptionAlgorithm: 'PGP',
          params: {
            passPhrase,
            ...(opts.keyType === undefined ? {} : { keyType: opts.keyType }),
            ...(opts.expiryDays === undefined ? {} : { expiryDays: opts.expiryDays }),
          },
        });
        const file = opts.out ?? `${created.publicKeyId}.asc`;
        await writeArmored(file, created.publicKey);
        ctx.print(
          [`created key ${created.publicKeyId} (expires ${created.expiryTime})`, `public key written to ${file}`],
          { ...created, file },
        );
      },
    );

  keys
    .command('list')
    .description('list the key pairs of the org and sandbox')
    .action(async () => {
      const list = await (await ctx.api()).json('GET', KEYS, EncryptionKeyList);
      const lines =
        list.length === 0
          ? ['no keys']
          : list.map(
              (k) => `${k.publicKeyId}  ${k.status.padEnd(8)} ${k.keyType.padEnd(10)} ${k.expiryTime}  ${k.name}`,
            );
      ctx.print(
        lines,
        list.map(({ publicKey: _publicKey, ...k }) => k),
      );
    });

  keys
    .command('show <publicKeyId>')
    .description('show a key pair; --out writes its armored public key')
    .option('--out <file>', 'write the armored public key to this file')
    .action(async (id: string, opts: { out?: string }) => {
      const key = await (await ctx.api()).json('GET', `${KEYS}/${encodeURIComponent(id)}`, EncryptionKey);
      if (opts.out !== undefined) await writeArmored(opts.out, key.publicKey);
      ctx.print(
        [
          `id:          ${key.publicKeyId}`,
          `name:        ${key.name}`,
          `status:      ${key.status}`,
          `type:        ${key.keyType}`,
          `fingerprint: ${key.fingerprint}`,
          `created:     ${key.createdTime}`,
          `expires:     ${key.expiryTime}`,
          ...(opts.out === undefined ? [] : [`public key written to ${opts.out}`]),
        ],
        key,
      );
    });

  keys
    .command('delete <publicKeyId>')
    .description('delete a key pair (refused while an active dataflow uses it)')
    .action(async (id: string) => {
      await (await ctx.api()).send('DELETE', `${KEYS}/${encodeURIComponent(id)}`);
      ctx.print(`deleted key ${id}`, { publicKeyId: id, deleted: true });
    });

  keys
    .command('validate <publicKeyId>')
    .description(`check that a key is active (exit ${EXIT.FAILED} when it is not)`)
    .action(async (id: string) => {
      const result = await (
        await ctx.api()
      ).json('GET', `${KEYS}/validate/${encodeURIComponent(id)}`, EncryptionKeyValidation);
      ctx.print(`${result.publicKeyId}: ${result.status}`, result);
      if (result.status !== 'Active') process.exitCode = EXIT.FAILED;
    });
}

async function writeArmored(file: string, publicKeyBase64: string): Promise<void> {
  const armored = Buffer.from(publicKeyBase64, 'base64').toString('utf8');
  if (!armored.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----'))
    throw new CliError('the API returned a public key that is not armored', EXIT.ERROR);
  try {
    await writeFile(file, armored, { mode: 0o644 });
  } catch (err) {
    throw new CliError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.ERROR, {
      cause: err,
    });
  }
}

function passphraseFrom(variable: string | undefined): string {
  if (variable === undefined) return randomBytes(32).toString('base64url');
  const value = process.env[variable];
  if (value === undefined || value === '') throw new CliError(`--passphrase-env: ${variable} is not set`, EXIT.USAGE);
  return value;
}

function parseDays(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError('--expiry-days must be a positive integer', EXIT.USAGE);
  return n;
}
