// kirie — the bridge's command line. Each command lives in its own module under commands/.
import { Command } from 'commander';
import { KIRIE_VERSION } from './version.js';
import { registerVerifyCommand } from './commands/verify.js';
import { registerControlCommand } from './commands/control.js';
import { registerGenerateCommand } from './commands/generate.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTokenCommand } from './commands/token.js';
import { registerModelsCommand } from './commands/models.js';
import { registerPairCommand } from './commands/pair.js';
import { registerDoctorCommand } from './commands/doctor.js';

const program = new Command('kirie').description('Kirie: Stable Diffusion and ControlNet for Photoshop and Figma, on your own GPU').version(KIRIE_VERSION);

registerVerifyCommand(program);
registerControlCommand(program);
registerGenerateCommand(program);
registerServeCommand(program);
registerTokenCommand(program);
registerModelsCommand(program);
registerPairCommand(program);
registerDoctorCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`kirie: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
