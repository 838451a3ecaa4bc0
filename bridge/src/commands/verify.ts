import { Option, type Command } from 'commander';
import { verifyDirectory } from '../verify/run.js';
import type { Provider } from '../runtime/session.js';

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description('run every reference case found under <dir> (tokenizer, schedulers, rng, components, pipelines, preprocessors)')
    .argument('<dir>', 'a folder of reference cases in the golden format')
    .option('--kind <kinds...>', 'only run these kinds')
    .addOption(new Option('--device <device>', 'where the graphs run: the CPU, or WebGPU within its measured tolerances').choices(['cpu', 'webgpu']).default('cpu'))
    .action(async (dir: string, opts: { kind?: string[]; device: Provider }) => {
      const summary = await verifyDirectory(dir, {
        kinds: opts.kind,
        provider: opts.device,
        onResult: (line) => console.log(JSON.stringify(line)),
      });
      const skipped = summary.unsupported > 0 ? `, ${summary.unsupported} skipped` : '';
      console.log(`${summary.passed} passed, ${summary.failed} failed${skipped}`);
      if (summary.failed > 0) process.exitCode = 1;
    });
}
