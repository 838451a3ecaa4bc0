import type { Command } from 'commander';
import { bridgePaths } from '../server/paths.js';
import { readToken } from '../server/token.js';

export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description('print the bridge token that clients send as "Authorization: Bearer <token>" (created by the first `kirie serve`)')
    .option('--home <dir>', 'the bridge home folder (default $KIRIE_HOME or ~/.kirie)')
    .action(async (opts: { home?: string }) => {
      const paths = bridgePaths(opts.home ? { home: opts.home } : {});
      const token = await readToken(paths.token);
      if (!token) throw new Error(`no token at ${paths.token} yet: run \`kirie serve\` once to create it`);
      console.log(token);
    });
}
