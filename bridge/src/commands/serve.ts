import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { writeRandomCheckpoint } from '../models/random.js';
import { classifyModel } from '../registry/classify.js';
import { FolderRegistry } from '../registry/registry.js';
import { defaultMemoryBytes } from '../server/limits.js';
import { bridgePaths } from '../server/paths.js';
import { startBridge } from '../server/start.js';
import { approveFromTerminal } from '../server/pairing.js';
import { DEVICES, parseDevice } from '../runtime/session.js';
import { DEFAULT_HANG_TIMEOUT_MS, DEFAULT_PROGRESS_TIMEOUT_MS, ProcessRunner } from '../worker/process-runner.js';
import { KIRIE_VERSION } from '../version.js';
import { BRIDGE_PORT_RANGE, DEFAULT_BRIDGE_PORT, isBridgePort } from '@kirie/core/client/ports';
import { installCrashPolicy } from './crash-policy.js';

/** The bundled demo model: random weights in the tiny SD1.5 topology, made by `kirie models random`. */
export const DEMO_MODEL = 'kirie-demo-tiny-random.safetensors';
const DEMO_NOTE = 'random weights: a wiring test of the whole stack, not art';

interface ServeOptions {
  port: string;
  models?: string;
  outputs?: string;
  home?: string;
  device: string;
  lan?: boolean;
  demo?: boolean;
  memory: string;
  hangTimeout: string;
  progressTimeout: string;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the bridge: HTTP + WebSocket API on localhost for the Photoshop and Figma plugins, and the playground')
    .option('--port <n>', `port to listen on (the plugins may connect to ${BRIDGE_PORT_RANGE})`, String(DEFAULT_BRIDGE_PORT))
    .option('--models <dir>', 'models folder (default <home>/models)')
    .option('--outputs <dir>', 'where results and recipes are written (default <home>/outputs)')
    .option('--home <dir>', 'bridge state folder: token, images, cache (default $KIRIE_HOME or ~/.kirie)')
    .option('--device <device>', DEVICES.join(' | '), 'auto')
    .option(
      '--memory <gib>',
      'GiB a job may peak at, weights included (jobs estimated above it are refused when submitted), and GiB of model sessions kept loaded before the least recently used is released; default 3/4 of this machine\'s memory',
      (defaultMemoryBytes() / 1024 ** 3).toFixed(1),
    )
    .option('--lan', 'listen on every network interface (anyone on the network who has the token can use your GPU)')
    .option('--demo', 'write the bundled tiny random-weight model into the models folder if it is missing')
    .option('--hang-timeout <s>', 'seconds without a heartbeat after which the generation process is taken for hung and restarted', String(DEFAULT_HANG_TIMEOUT_MS / 1000))
    .option('--progress-timeout <s>', 'seconds a job may report no progress before it fails (loading a large model can take minutes)', String(DEFAULT_PROGRESS_TIMEOUT_MS / 1000))
    .action(async (opts: ServeOptions) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number (0-65535), got "${opts.port}"`);
      if (!isBridgePort(port)) console.warn(`kirie: WARNING: port ${port} is outside ${BRIDGE_PORT_RANGE}, the only ports the Photoshop and Figma plugins may connect to (their manifests must list each one); the playground and the API work, the plugins cannot reach this bridge`);
      const memory = Number(opts.memory);
      if (!(memory > 0)) throw new Error(`--memory must be a positive number of GiB, got "${opts.memory}"`);
      const device = parseDevice(opts.device);
      const hangTimeoutMs = seconds('--hang-timeout', opts.hangTimeout);
      const progressTimeoutMs = seconds('--progress-timeout', opts.progressTimeout);
      const paths = bridgePaths({ ...(opts.home ? { home: opts.home } : {}), ...(opts.models ? { models: opts.models } : {}), ...(opts.outputs ? { outputs: opts.outputs } : {}) });
      installCrashPolicy((line) => console.error(`kirie: ${line}`));

      const runner = new ProcessRunner({
        workerPath: fileURLToPath(new URL('./worker.mjs', import.meta.url)),
        modelsDir: paths.models,
        cacheDir: paths.cache,
        device,
        memoryBudget: memory * 1024 ** 3,
        version: KIRIE_VERSION,
        hangTimeoutMs,
        progressTimeoutMs,
        log: (line) => console.log(`kirie: ${line}`),
      });
      await runner.start();
      const playgroundDir = fileURLToPath(new URL('./playground/', import.meta.url));
      const bridge = await startBridge({
        paths,
        registry: new FolderRegistry({ dir: paths.models, classify: classifyModel, notes: { [DEMO_MODEL]: DEMO_NOTE } }),
        runner,
        port,
        lan: opts.lan ?? false,
        limits: { memoryBytes: memory * 1024 ** 3 },
        log: (line) => console.log(`kirie: ${line}`),
        ...(existsSync(join(playgroundDir, 'index.html')) ? { playgroundDir } : {}),
      });
      // After startBridge: it creates the models folder, under a home folder it makes owner-only first.
      if (opts.demo) await ensureDemoModel(paths.models);
      if (opts.lan) console.warn('kirie: WARNING: --lan: listening on every interface; anyone on your network who has the token can use this bridge');
      if (bridge.tokenCreated) console.log(`kirie: created a new token in ${paths.token} (show it with \`kirie token\`)`);
      const status = runner.status();
      console.log(`kirie: bridge ${bridge.url} on ${status.device}${status.deviceNote ? ` (${status.deviceNote})` : ''}`);
      console.log(`kirie: playground  ${bridge.url}/#token=${bridge.token}`);
      console.log(`kirie: models      ${paths.models}  (add a real model: copy an SD1.5 .safetensors checkpoint there)`);
      console.log(`kirie: results     ${paths.outputs}`);
      // A panel asking to pair is approved by typing the code it shows here, when a person is at this terminal.
      if (process.stdin.isTTY) approveFromTerminal(bridge.app.pairing, process.stdin, (line) => console.log(`kirie: ${line}`));

      // Ctrl+C means "stop now": cancel the running job. A service manager's SIGTERM lets it finish
      // (its result is worth keeping), within a bound. Either way no half-written file is left behind.
      let stopping = false;
      const stop = (signal: string, mode: 'finish' | 'cancel', limitMs: number) => {
        if (stopping) {
          console.log('kirie: stopping now');
          process.exit(1);
        }
        stopping = true;
        console.log(`kirie: ${signal}: ${mode === 'cancel' ? 'cancelling' : 'finishing'} the running job, then stopping (Ctrl+C again to force)`);
        setTimeout(() => process.exit(1), limitMs).unref();
        bridge.close(mode).then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(`kirie: ${err instanceof Error ? err.message : String(err)}`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT', 'cancel', 15_000));
      process.on('SIGTERM', () => stop('SIGTERM', 'finish', 120_000));
    });
}

function seconds(flag: string, value: string): number {
  const s = Number(value);
  if (!(s > 0)) throw new Error(`${flag} must be a positive number of seconds, got "${value}"`);
  return s * 1000;
}

async function ensureDemoModel(modelsDir: string): Promise<void> {
  const out = join(modelsDir, DEMO_MODEL);
  if (existsSync(out)) return;
  console.log(`kirie: writing the demo model ${out} (${DEMO_NOTE})`);
  await writeRandomCheckpoint({ arch: 'tiny', kind: 'sd15', seed: 0, out });
}
