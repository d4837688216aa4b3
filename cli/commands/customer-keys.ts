import type { Command } from 'commander';
import { CustomerKeyList, CustomerKeyRegistered } from '../../shared/api/openapi/response-schemas.js';
import type { CliContext } from '../context.js';

const CUSTOMER_KEYS = '/data/foundation/connectors/encryption/customer-keys';

/** `cipherflow customer-keys add FILE | list`: the customer's signing keys cipherflow verifies files with. */
export function registerCustomerKeys(program: Command, ctx: CliContext): void {
  const group = program
    .command('customer-keys')
    .description('your signing public keys, for flows that require signed files');

  group
    .command('add <file>')
    .description('register an armored public key (gpg --armor --export ID > key.asc)')
    .option('--name <name>', 'a name for the key')
    .action(async (file: string, opts: { name?: string }) => {
      const { readKeyFile } = await import('../encrypt.js');
      const key = Buffer.from(await readKeyFile(file));
      const registered = await (
        await ctx.api()
      ).json('POST', CUSTOMER_KEYS, CustomerKeyRegistered, {
        encryptionAlgorithm: 'PGP',
        publicKey: key.toString('base64'),
        ...(opts.name === undefined ? {} : { name: opts.name }),
      });
      ctx.print(`registered customer key ${registered.publicKeyId} (use it as --sign-key of flows create)`, registered);
    });

  group
    .command('list')
    .description('list the registered keys')
    .action(async () => {
      const list = await (await ctx.api()).json('GET', CUSTOMER_KEYS, CustomerKeyList);
      const lines =
        list.length === 0 ? ['no customer keys'] : list.map((k) => `${k.publicKeyId}  ${k.fingerprint}  ${k.name}`);
      ctx.print(
        lines,
        list.map(({ publicKey: _publicKey, ...k }) => k),
      );
    });
}
