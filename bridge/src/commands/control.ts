// kirie control …: ControlNet control images from the command line (pose detection, pose rendering, canny).
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { canny } from '@kirie/core/control/canny';
import { toPoseJson } from '@kirie/core/control/openpose';
import { invert, toRgb } from '@kirie/core/control/preprocess';
import { renderPose } from '@kirie/core/control/render';
import { readImage, readPose, writeImage } from '../control/files.js';

function intOption(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}, got "${value}"`);
    return n;
  };
}

export function registerControlCommand(program: Command): void {
  const control = program.command('control').description('make ControlNet control images (pose, canny) exactly as the reference annotators do');

  control
    .command('pose')
    .description('detect body poses in a photo, PNG or JPEG (MoveNet, offline) and draw the OpenPose control image')
    .argument('<image>', 'a PNG or JPEG photo')
    .requiredOption('--out <png>', 'where to write the control image')
    .option('--json <file>', 'also write the detected poses as OpenPose JSON (pixel coordinates)')
    .action(async (image: string, opts: { out: string; json?: string }) => {
      const { MoveNetDetector } = await import('../control/movenet.js');
      const detector = await MoveNetDetector.create();
      const doc = await detector.detect(readImage(image));
      if (opts.json) writeFileSync(opts.json, `${JSON.stringify(toPoseJson(doc), null, 1)}\n`);
      writeImage(opts.out, renderPose(doc));
      console.log(`${doc.people.length} ${doc.people.length === 1 ? 'person' : 'people'} found in ${image}`);
    });

  control
    .command('render')
    .description('draw an OpenPose JSON file as a control image')
    .argument('<pose>', 'OpenPose-style JSON (pixel or normalised coordinates)')
    .requiredOption('--out <png>', 'where to write the control image')
    .option('--full', 'also draw hands and face (openpose_full)')
    .option('--width <px>', 'canvas width when the JSON has no canvas_width', intOption('width', 1, 16384))
    .option('--height <px>', 'canvas height when the JSON has no canvas_height', intOption('height', 1, 16384))
    .option('--coordinates <space>', 'pixel or normalized (default: normalized when every coordinate is within 0..1)')
    .action((pose: string, opts: { out: string; full?: boolean; width?: number; height?: number; coordinates?: string }) => {
      if (opts.coordinates !== undefined && opts.coordinates !== 'pixel' && opts.coordinates !== 'normalized') {
        throw new Error(`--coordinates must be "pixel" or "normalized", got "${opts.coordinates}"`);
      }
      const doc = readPose(pose, { width: opts.width, height: opts.height, coordinates: opts.coordinates });
      writeImage(opts.out, renderPose(doc, { hands: !!opts.full, face: !!opts.full }));
    });

  control
    .command('canny')
    .description('canny edges exactly as cv2.Canny (OpenCV 4.6.0) on the RGB image, as ControlNet does')
    .argument('<image>', 'a PNG or JPEG image (PNG alpha is composited over white)')
    .requiredOption('--out <png>', 'where to write the edges (gray PNG, 0/255)')
    .option('--low <n>', 'low threshold', intOption('low', 0, 100000), 100)
    .option('--high <n>', 'high threshold', intOption('high', 0, 100000), 200)
    .option('--invert', 'black edges on white')
    .action((image: string, opts: { out: string; low: number; high: number; invert?: boolean }) => {
      const src = readImage(image);
      const edges = canny(src.channels === 1 ? src : toRgb(src), { low: opts.low, high: opts.high });
      writeImage(opts.out, opts.invert ? invert(edges) : edges);
    });
}
