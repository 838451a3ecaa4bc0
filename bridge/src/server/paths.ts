// Where the bridge keeps its state. Everything lives under one home folder (default ~/.kirie, or
// $KIRIE_HOME) so a user can find, back up or delete it in one place.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface BridgePaths {
  home: string;
  token: string;
  models: string;
  outputs: string;
  images: string;
  cache: string;
}

export function bridgePaths(options: { home?: string; models?: string; outputs?: string } = {}): BridgePaths {
  const home = resolve(options.home ?? process.env.KIRIE_HOME ?? join(homedir(), '.kirie'));
  return {
    home,
    token: join(home, 'token'),
    models: resolve(options.models ?? join(home, 'models')),
    outputs: resolve(options.outputs ?? join(home, 'outputs')),
    images: join(home, 'images'),
    cache: resolve(process.env.KIRIE_CACHE ?? join(home, 'cache')),
  };
}
