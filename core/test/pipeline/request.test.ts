import { beforeEach, describe, expect, it } from 'vitest';
import { generateFromRequest, PerImageNoise, type RequestDeps } from '../../src/pipeline/request.js';
import { parseGenerateRequest } from '../../src/request/parse.js';
import { TorchGenerator, torchBatchNoise } from '../../src/rng/torch.js';
import type { RasterImage } from '../../src/image/png.js';
import { fakeControlNet, fakeDeps, fakeModel, live, textEncoder } from './fakes.js';

const images = new Map<string, RasterImage>([['grey64', { width: 64, height: 64, channels: 3, data: new Uint8Array(64 * 64 * 3).fill(128) }]]);

const deps = (patch: Partial<RequestDeps> = {}) => fakeDeps(images, patch);

const request = (patch: Record<string, unknown> = {}) => parseGenerateRequest({ model: 'fake', prompt: 'a fox', width: 64, height: 64, steps: 3, scheduler: 'ddim', seed: 42, ...patch });

beforeEach(() => live.clear());

describe('per-image noise', () => {
  it('draws image i from seed + i, as A1111 with its CPU generator', () => {
    const noise = new PerImageNoise([new TorchGenerator(7), new TorchGenerator(8)]);
    expect(noise.randn([2, 4, 3, 3])).toEqual(torchBatchNoise(7, [2, 4, 3, 3], 'seed-per-image'));
    expect(() => noise.randn([3, 4])).toThrow(/batch of 3/);
  });
});

describe('generateFromRequest', () => {
  it('makes image i of a batch exactly as a batch of one with seed + i', async () => {
    const batch = await generateFromRequest(request({ batchSize: 2 }), deps());
    const second = await generateFromRequest(request({ seed: 43 }), deps());
    expect(batch.latents.subarray(4 * 64)).toEqual(second.latents);
    expect(batch.images[1]).toEqual(second.images[0]);
    expect(live.size).toBe(0);
  });

  it('runs img2img from an image id and the registry scheduler with request overrides', async () => {
    const d = deps();
    const result = await generateFromRequest(request({ initImage: 'grey64', strength: 0.5, steps: 4, schedulerConfig: { timestep_spacing: 'trailing' } }), d);
    expect(result.images).toHaveLength(1);
    // DDIM trailing, 4 steps: 999, 749, 499, 249; strength 0.5 runs the last 2
    expect((d.model as ReturnType<typeof fakeModel>).unet.calls.map((c) => Number((c.timestep.data as BigInt64Array)[0]))).toEqual([499, 249]);
  });

  it('swaps in the clip-skip text encoder', async () => {
    const skip = textEncoder();
    const model = Object.assign(fakeModel({ latent: [8, 8] }), { clipSkip: async (n: number) => (n === 2 ? skip : Promise.reject(new Error('n'))) });
    await generateFromRequest(request({ clipSkip: 2 }), deps({ model }));
    expect(skip.calls).toHaveLength(2);
    expect(model.textEncoder.calls).toHaveLength(0);
    await expect(generateFromRequest(request({ clipSkip: 2 }), deps())).rejects.toThrow(/cannot change its text encoder's clip skip/);
  });

  it('renders a pose at the generation size and runs its ControlNet', async () => {
    const net = fakeControlNet([8, 8]);
    const keypoints = new Array(54).fill(0);
    keypoints.splice(0, 6, 64, 32, 1, 64, 96, 1); // nose → neck, on a 128×128 canvas
    const pose = { canvas_width: 128, canvas_height: 128, people: [{ pose_keypoints_2d: keypoints }] };
    const names: string[] = [];
    await generateFromRequest(request({ control: [{ model: 'cn-pose', pose }] }), deps({ controlNet: async (name) => (names.push(name), net) }));
    expect(names).toEqual(['cn-pose']);
    const hint = net.session.calls[0].controlnet_cond;
    expect(hint.dims).toEqual([2, 3, 64, 64]);
    expect((hint.data as Float32Array).some((v) => v > 0)).toBe(true);
  });

  it('stretches a control image of another size to the generation size', async () => {
    const net = fakeControlNet([8, 8]);
    images.set('white32', { width: 32, height: 32, channels: 3, data: new Uint8Array(32 * 32 * 3).fill(255) });
    await generateFromRequest(request({ control: [{ model: 'cn', image: 'white32' }] }), deps({ controlNet: async () => net }));
    const hint = net.session.calls[0].controlnet_cond;
    expect(hint.dims).toEqual([2, 3, 64, 64]);
    expect((hint.data as Float32Array).every((v) => v === 1)).toBe(true);
  });

  it('names a missing image', async () => {
    await expect(generateFromRequest(request({ initImage: 'nope' }), deps())).rejects.toThrow(/no image nope/);
  });
});
