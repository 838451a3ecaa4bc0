// A reference photo through the real pose detector (MoveNet on tfjs-wasm) and the tiny SD 1.5 + ControlNet:
// `kirie generate --pose-photo` must make exactly the image that the detected pose, drawn by the
// ControlNet renderer and given as a plain control image, makes; a photo of nobody is refused plainly.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderPose } from '@kirie/core/control/render';
import { decodePng, encodePng } from '@kirie/core/image/png';
import { readImage } from '../../src/control/files.js';
import { sharedPoseDetector } from '../../src/control/lazy-detector.js';
import { prepareGeneration } from '../../src/generate/options.js';
import { readText, withText } from '../../src/generate/png-text.js';
import { runGeneration } from '../../src/generate/run.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden');
const MODEL = join(GOLDEN, 'tiny-sd15/tiny-sd15.safetensors');
const CONTROLNET = join(GOLDEN, 'tiny-sd15/tiny-controlnet.safetensors');
const ASTRONAUT = join(import.meta.dirname, '../control/fixtures/astronaut.png');
const dir = mkdtempSync(join(tmpdir(), 'kirie-pose-photo-'));
const common = { model: MODEL, controlnet: CONTROLNET, prompt: 'an astronaut dancing', width: 64, height: 64, steps: 2, seed: 11, scheduler: 'ddim' };

describe('kirie generate --pose-photo on the tiny model', () => {
  it('makes the same pixels as the detected pose given as a control image, and records openpose in its recipe', async () => {
    const fromPhoto = prepareGeneration({ ...common, posePhoto: ASTRONAUT });
    expect(fromPhoto.request.control).toEqual([{ model: CONTROLNET, image: expect.stringMatching(/^[0-9a-f]{64}$/), preprocessor: { type: 'openpose', full: false }, scale: 1, start: 0, end: 1 }]);
    const [photoOut] = await runGeneration(fromPhoto.request, fromPhoto.images, { device: 'cpu', out: join(dir, 'photo.png') });

    const detected = await sharedPoseDetector.detect(readImage(ASTRONAUT));
    expect(detected.people).toHaveLength(1);
    const controlPath = join(dir, 'control.png');
    writeFileSync(controlPath, encodePng(renderPose({ ...detected, width: 64, height: 64 })));
    const fromControl = prepareGeneration({ ...common, control: controlPath });
    const [controlOut] = await runGeneration(fromControl.request, fromControl.images, { device: 'cpu', out: join(dir, 'control-out.png') });

    const png = readFileSync(photoOut!);
    expect(decodePng(png).data).toEqual(decodePng(readFileSync(controlOut!)).data);
    // Without the ControlNet's hint the image differs, so the equality above is about the pose.
    const plain = prepareGeneration({ model: MODEL, prompt: common.prompt, width: 64, height: 64, steps: 2, seed: 11, scheduler: 'ddim' });
    const [plainOut] = await runGeneration(plain.request, plain.images, { device: 'cpu', out: join(dir, 'plain.png') });
    expect(decodePng(readFileSync(plainOut!)).data).not.toEqual(decodePng(png).data);

    const text = readText(png);
    expect(text.parameters).toContain('ControlNet 0: "Module: openpose, Model: ');
    // The A1111 text alone asks for the photo again, under the flag that detects poses.
    const a1111 = join(dir, 'a1111.png');
    writeFileSync(a1111, withText(encodePng(decodePng(png)), { parameters: text.parameters! }));
    expect(() => prepareGeneration({ recipe: a1111, model: MODEL, controlnet: CONTROLNET })).toThrow(/pass its reference photo with --pose-photo/);
    const again = prepareGeneration({ recipe: a1111, model: MODEL, controlnet: CONTROLNET, posePhoto: ASTRONAUT });
    expect(again.request.control[0]!.preprocessor).toEqual({ type: 'openpose', full: false });
    expect(again.request.control[0]!.image).toBe(fromPhoto.request.control[0]!.image);
  }, 60_000);

  it('refuses a photo with nobody in it, saying so', async () => {
    const house = prepareGeneration({ ...common, posePhoto: join(GOLDEN, 'controlnet/images/house.png'), poseFull: true });
    expect(house.request.control[0]!.preprocessor).toEqual({ type: 'openpose', full: true });
    await expect(runGeneration(house.request, house.images, { device: 'cpu', out: join(dir, 'house.png') })).rejects.toThrow(/no person found in the reference photo/);
  }, 30_000);

  it.each([
    [{ ...common, posePhoto: ASTRONAUT, control: ASTRONAUT }, /one of --pose, --control or --pose-photo/],
    [{ ...common, control: ASTRONAUT, poseFull: true }, /--pose-full needs --pose-photo/],
    [{ ...common, controlnet: undefined, posePhoto: ASTRONAUT }, /need a ControlNet model/],
  ])('names the problem in %#', (opts, error) => {
    expect(() => prepareGeneration(opts)).toThrow(error);
  });
});
