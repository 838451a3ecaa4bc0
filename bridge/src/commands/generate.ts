import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { prepareGeneration, type GenerateOptions } from '../generate/options.js';
import { runGeneration } from '../generate/run.js';
import { DEVICES, parseDevice, type Device } from '../runtime/session.js';

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('not an integer');
  return n;
}

function num(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('not a number');
  return n;
}

export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description('make an image (txt2img, img2img, inpainting, ControlNet) and save it with its recipe')
    .option('--model <path>', 'checkpoint (.safetensors) or ONNX folder')
    .option('--prompt <text>', 'what to draw')
    .option('--negative <text>', 'what to avoid')
    .option('--init <image>', 'start from this image, PNG or JPEG (img2img)')
    .option('--mask <image>', 'repaint where this mask is white (needs --init); outside it the image stays as it was, bit for bit')
    .option('--raw', "with --mask: keep the model's whole output (every pixel re-encoded by the VAE), not composited onto --init")
    .option('--strength <0-1>', 'how much of the init image to repaint', num)
    .option('--pose <json>', 'OpenPose JSON to render as the control image')
    .option('--control <image>', 'control image (used as is, or edges with --canny)')
    .option('--canny', 'turn --control into Canny edges first')
    .option('--pose-photo <image>', 'a reference photo (PNG or JPEG): the poses of the people in it guide the image (OpenPose ControlNet)')
    .option('--pose-full', 'with --pose-photo: also draw hands and face (openpose_full)')
    .option('--controlnet <path>', 'ControlNet checkpoint or .onnx')
    .option('--control-scale <n>', 'ControlNet conditioning scale', num)
    .option('--seed <n>', 'seed (random when omitted)', int)
    .option('--steps <n>', 'denoising steps', int)
    .option('--scheduler <name>', 'ddim, euler, euler_a, dpmpp_2m_karras, lcm, …')
    .option('--guidance <n>', 'CFG scale (≤ 1 turns it off)', num)
    .option('--width <n>', 'width in pixels (multiple of 8)', int)
    .option('--height <n>', 'height in pixels (multiple of 8)', int)
    .option('--clip-skip <n>', 'AUTOMATIC1111 clip skip (1 = last layer)', int)
    .option('--batch <n>', 'images to make (image i uses seed + i)', int)
    .option('--recipe <file>', 'remake an image from its recipe: a PNG (Kirie, AUTOMATIC1111 or ComfyUI), a JPEG/WebP from AUTOMATIC1111, or a text file of pasted parameters or a ComfyUI API graph; other options override it')
    .option('--device <device>', DEVICES.join(', '), parseDevice, 'auto' as Device)
    .requiredOption('--out <png>', 'where to write the image')
    .action(async (opts: GenerateOptions & { device: Device; out: string }) => {
      const { request, images, notes } = prepareGeneration(opts);
      for (const note of notes) console.error(`note: ${note}`);
      const bar = new SingleBar({ format: '{phase} [{bar}] {value}/{total}', hideCursor: true }, Presets.shades_classic);
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      let started = false;
      try {
        const paths = await runGeneration(request, images, {
          device: opts.device,
          out: opts.out,
          signal: abort.signal,
          log: (m) => console.error(m),
          onPhase: (phase) => {
            if (phase === 'loading') console.error(`loading ${request.model} …`);
            else if (started) bar.update({ phase });
          },
          onProgress: (p) => {
            if (!started) bar.start(p.total, 0, { phase: 'denoising' });
            started = true;
            bar.update(p.step);
          },
        });
        bar.stop();
        console.log(`${paths.join('\n')}\nseed ${request.seed}`);
      } finally {
        bar.stop();
        process.off('SIGINT', stop);
      }
    });
}
