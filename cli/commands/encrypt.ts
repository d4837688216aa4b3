import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { createProgress } from '../progress.js';

/** `cipherflow encrypt FILE --key pub.asc [--sign-key key.asc] [--out FILE.gpg] [--armor] [--compress]`. */
export function registerEncrypt(program: Command, ctx: CliContext): void {
  program
    .command('encrypt <file>')
    .description('encrypt a file to a public key as gpg does (streaming; gpg 2.2 decrypts it)')
    .requiredOption('--key <file>', "the recipient's public key (.asc or binary), e.g. from keys create")
    .option('--sign-key <file>', 'your private key to sign with (passphrase in CIPHERFLOW_SIGN_KEY_PASSPHRASE)')
    .option('--out <file>', 'output file (default: FILE.gpg, or FILE.asc with --armor)')
    .option('--armor', 'ASCII-armored output')
    .option('--compress', 'ZLIB-compress before encrypting')
    .option('--no-progress', 'no progress output')
    .action(
      async (
        file: string,
        opts: { key: string; signKey?: string; out?: string; armor?: boolean; compress?: boolean; progress: boolean },
      ) => {
        const { encryptFile, readKeyFile } = await import('../encrypt.js');
        const output = opts.out ?? `${file}${opts.armor === true ? '.asc' : '.gpg'}`;
        if (output === file) throw new CliError('--out must differ from the input file', EXIT.USAGE);
        const size = await sizeOf(file);
        const passphrase = process.env.CIPHERFLOW_SIGN_KEY_PASSPHRASE;
        const progress = opts.progress ? createProgress({ label: 'encrypt', total: size }) : undefined;
        const result = await encryptFile({
          input: file,
          output,
          recipientKey: await readKeyFile(opts.key),
          ...(opts.signKey === undefined
            ? {}
            : {
                signingKey: {
                  key: await readKeyFile(opts.signKey),
                  ...(passphrase === undefined ? {} : { passphrase }),
                },
              }),
          armor: opts.armor === true,
          compress: opts.compress === true,
          ...(progress === undefined ? {} : { onProgress: (n: number) => progress.update(n) }),
        });
        progress?.finish();
        ctx.print(
          `encrypted ${file} to key ${result.recipientKeyId.toUpperCase()}${opts.signKey === undefined ? '' : ', signed'}: ${output}`,
          {
            input: file,
            output,
            bytes: size,
            recipientKeyId: result.recipientKeyId,
            signed: opts.signKey !== undefined,
          },
        );
      },
    );
}

async function sizeOf(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new CliError(`${file} is not a file`, EXIT.USAGE);
    return info.size;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.ERROR, {
      cause: err,
    });
  }
}
