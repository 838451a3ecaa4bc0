import type { Command } from 'commander';
import { KirieClient } from '@kirie/core/client/client';
import { DEFAULT_BRIDGE_PORT } from '@kirie/core/client/ports';
import { bridgePaths } from '../server/paths.js';
import { readToken } from '../server/token.js';

export function registerPairCommand(program: Command): void {
  program
    .command('pair')
    .description("approve a plugin that asks to pair: give the code its panel shows, and it receives the bridge token")
    .argument('<code>', 'the code the panel shows')
    .option('--port <n>', 'the port the bridge listens on', String(DEFAULT_BRIDGE_PORT))
    .option('--home <dir>', 'the bridge home folder (default $KIRIE_HOME or ~/.kirie)')
    .action(async (code: string, opts: { port: string; home?: string }) => {
      const paths = bridgePaths(opts.home ? { home: opts.home } : {});
      const token = await readToken(paths.token);
      if (!token) throw new Error(`no token at ${paths.token} yet: start the bridge with \`kirie serve\` first`);
      const { client } = await new KirieClient({ url: `http://127.0.0.1:${opts.port}`, token }).approvePairing(code);
      console.log(`paired: ${client} now has the token`);
    });
}
