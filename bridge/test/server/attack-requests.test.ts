// The bridge's request handling attacked the way a hostile page or a buggy plugin would, against the real
// server on a random port: deep and wide JSON, unknown keys at every level, every limit at its boundary,
// the memory budget, bad scheduler configs, img2img with no step left, mismatched image sizes, models of
// the wrong kind, hostile PNGs and a burst of PNG bombs. Each refusal must be a 4xx naming the field, and
// after all of it the bridge must still serve and run a job.
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '@kirie/core/image/png';
import { bridgePaths } from '../../src/server/paths.js';
import type { Limits } from '../../src/server/limits.js';
import { estimateJobMemory } from '../../src/server/memory-estimate.js';
import { bombPng, palettePng, rows } from './png-build.js';
import { ScriptedRunner, solidPng, startTestBridge, type TestBridge } from './harness.js';

/** SD1.5 fp32 on disk (v1-5-pruned-emaonly.safetensors): the weights the estimate charges for a checkpoint. */
const SD15_BYTES = 4_265_380_512;
const CONTROLNET_BYTES = 1_445_157_120;
const LIMITS: Partial<Limits> = { queue: 500, memoryBytes: 8 * 2 ** 30, steps: 150, batchSize: 8, promptChars: 4000, jsonBytes: 1024 * 1024, jsonDepth: 32, pixels: 4096 * 4096 };

let bridge: TestBridge;
let runner: ScriptedRunner;
const tried: Record<string, number> = {};
const count = (what: string) => (tried[what] = (tried[what] ?? 0) + 1);

beforeAll(async () => {
  runner = new ScriptedRunner(1);
  bridge = await startTestBridge({
    runner,
    limits: LIMITS,
    classify: async (path) => (path.endsWith('.safetensors') ? (path.includes('control_') ? 'controlnet' : path.includes('lora_') ? 'lora' : 'checkpoint') : null),
  });
  const { models } = bridgePaths({ home: bridge.home });
  // Sparse files: the registry reports their size, nothing reads them (the runner is scripted).
  for (const [name, bytes] of [['sd15.safetensors', SD15_BYTES], ['control_canny.safetensors', CONTROLNET_BYTES], ['lora_style.safetensors', 150_000_000], ['huge.safetensors', 9 * 2 ** 30]] as const) {
    const path = join(models, name);
    await writeFile(path, '');
    await truncate(path, bytes);
  }
});
afterAll(async () => {
  // The figures for the note: how many hostile requests of each kind were tried.
  console.log(`attack-requests: ${JSON.stringify(tried)}`);
  await bridge.dispose();
});

const api = (path: string) => `${bridge.url}/v1${path}`;
const MODEL = 'sd15.safetensors';
const base = { model: MODEL, prompt: 'a red fox', width: 512, height: 512, steps: 20, seed: 1 };

async function postRaw(body: string, type = 'application/json'): Promise<{ status: number; body: any }> {
  const res = await fetch(api('/jobs'), { method: 'POST', headers: { ...bridge.auth, 'content-type': type }, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
const post = (body: unknown) => postRaw(JSON.stringify(body));
const upload = async (bytes: Uint8Array) => {
  const res = await fetch(api('/images'), { method: 'PUT', headers: { ...bridge.auth, 'content-type': 'image/png' }, body: new Uint8Array(bytes) });
  return { status: res.status, body: (await res.json()) as any };
};

async function refused(body: unknown, field: string, code = 'invalid_request', status = 400): Promise<string> {
  count('refused');
  const res = typeof body === 'string' ? await postRaw(body) : await post(body);
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error).toMatchObject({ code, field });
  return res.body.error.message as string;
}

async function accepted(body: unknown): Promise<string> {
  count('accepted');
  const res = await post(body);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.jobId as string;
}

/** JSON text nesting `depth` arrays (or objects) around 0. */
function deepText(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + '0' + ']'.repeat(depth) : '{"a":'.repeat(depth) + '0' + '}'.repeat(depth);
}

describe('deep JSON', () => {
  const inPose = (value: string) => `{"model":"${MODEL}","prompt":"x","control":[{"model":"control_canny.safetensors","pose":{"people":[{"deep":${value}}]}}]}`;
  it.each([
    ['10 KB of nested arrays in a pose', inPose(deepText(3000, 'array'))],
    ['10 KB of nested objects in a pose', inPose(deepText(2000, 'object'))],
    ['1 MB of nested arrays in a pose', inPose(deepText(500_000, 'array'))],
    ['1 MB of nested objects', deepText(170_000, 'object')],
    ['1 MB of "[" never closed', '['.repeat(1_000_000)],
    ['1 MB of "{"a":" never closed', '{"a":'.repeat(200_000)],
  ])('%s → 400 too_deep before parsing', async (_name, body) => {
    expect(body.length).toBeLessThanOrEqual(LIMITS.jsonBytes!);
    const message = await refused(body, 'body', 'too_deep');
    expect(message).toMatch(/deeper than 32 levels/);
  });

  it('nesting exactly at the limit parses (and the schema names the unknown key); one more level does not', async () => {
    // The request object is level 1; `extra` adds 31 arrays: 32 in all.
    await refused(`{"prompt":"x","extra":${deepText(31, 'array')}}`, 'extra');
    await refused(`{"prompt":"x","extra":${deepText(32, 'array')}}`, 'body', 'too_deep');
  });

  it('brackets and quotes inside strings are text, not nesting', async () => {
    await accepted({ ...base, prompt: '[{'.repeat(1000) + '\\"[[' + '"'.repeat(10), negativePrompt: ']}'.repeat(1000) });
  });
});

describe('wide JSON', () => {
  it('60 000 unknown keys: refused naming the first, with a short answer', async () => {
    const wide = Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, i]));
    const res = await post({ ...base, ...wide });
    count('refused');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', field: 'k0' });
    expect(res.body.error.message).toMatch(/and 59990 more$/);
    expect(JSON.stringify(res.body).length).toBeLessThan(2000);
  });

  it.each([
    ['15 000 control units', { control: Array.from({ length: 15_000 }, () => ({ model: 'control_canny.safetensors', image: 'a' })) }, 'control'],
    ['10 000 people in a pose', { control: [{ model: 'control_canny.safetensors', pose: { canvas_width: 64, canvas_height: 64, people: Array.from({ length: 10_000 }, () => ({})) } }] }, 'control.0.pose.people'],
    ['a 100 000-number keypoint list', { control: [{ model: 'control_canny.safetensors', pose: { people: [{ pose_keypoints_2d: new Array(100_000).fill(1) }] } }] }, 'control.0.pose.people.0.pose_keypoints_2d'],
    ['a 1.1 MB prompt', { prompt: 'x'.repeat(1_100_000) }, 'body'],
  ])('%s', async (_name, patch, field) => {
    const body = JSON.stringify({ ...base, ...patch });
    if (body.length > LIMITS.jsonBytes!) {
      count('refused');
      const res = await postRaw(body);
      expect(res.status).toBe(413);
      expect(res.body.error).toMatchObject({ code: 'body_too_large', field });
    } else await refused(body, field);
  });
});

describe('unknown keys at every level', () => {
  const pose = { canvas_width: 512, canvas_height: 512, people: [{ pose_keypoints_2d: new Array(54).fill(0) }] };
  const unit = { model: 'control_canny.safetensors', pose };
  it.each([
    ['the request', { extra: 1 }, 'extra'],
    ['a control unit', { control: [{ ...unit, extra: 1 }] }, 'control.0.extra'],
    ['a preprocessor', { control: [{ model: 'control_canny.safetensors', image: 'a'.repeat(64), preprocessor: { type: 'canny', extra: 1 } }] }, 'control.0.preprocessor.extra'],
    ['a pose', { control: [{ ...unit, pose: { ...pose, extra: 1 } }] }, 'control.0.pose.extra'],
    ['a pose person', { control: [{ ...unit, pose: { ...pose, people: [{ extra: { nested: [1] } }] } }] }, 'control.0.pose.people.0.extra'],
    ['inpaint options', { initImage: 'a'.repeat(64), mask: 'a'.repeat(64), inpaint: { extra: 1 } }, 'inpaint.extra'],
    ['schedulerConfig', { schedulerConfig: { _class_name: 'EulerDiscreteScheduler' } }, 'schedulerConfig._class_name'],
    ['__proto__ in the request', '{"prompt":"x","__proto__":{"polluted":1}}', 'body'],
    ['constructor.prototype in a pose', `{"prompt":"x","control":[{"model":"c","pose":{"people":[],"constructor":{"prototype":{"polluted":1}}}}]}`, 'body'],
  ])('in %s', async (_name, patch, field) => {
    if (typeof patch === 'string') {
      // fastify's secure-json-parse refuses prototype poisoning outright.
      count('refused');
      const res = await postRaw(patch);
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe(field);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    } else await refused({ ...base, ...patch }, field);
  });
});

describe('every limit at its boundary', () => {
  it.each([
    ['steps', { steps: 150 }, { steps: 151 }, 'steps'],
    ['batchSize', { batchSize: 1, width: 256, height: 256 }, { batchSize: 9, width: 256, height: 256 }, 'batchSize'],
    ['prompt', { prompt: 'x'.repeat(4000) }, { prompt: 'x'.repeat(4001) }, 'prompt'],
    ['negativePrompt', { negativePrompt: 'x'.repeat(4000) }, { negativePrompt: 'x'.repeat(4001) }, 'negativePrompt'],
  ])('%s: just under accepted, just over refused', async (_name, under, over, field) => {
    await accepted({ ...base, ...under });
    await refused({ ...base, ...over }, field, 'limit_exceeded');
  });

  it('schema bounds: width 4096 is the largest side, 4104 is refused; 56 too small; 516 not a multiple of 8', async () => {
    // 4096 × 64 holds as many latent pixels as 512², so it also fits the memory budget.
    await accepted({ ...base, width: 4096, height: 64 });
    await refused({ ...base, width: 4104 }, 'width');
    await refused({ ...base, width: 56 }, 'width');
    await refused({ ...base, width: 516 }, 'width');
  });

  it('a JSON body at the byte limit is read, one byte over is 413', async () => {
    const filler = (n: number) => JSON.stringify({ ...base, prompt: 'x'.repeat(n) });
    const at = filler(0).length;
    const exact = filler(LIMITS.jsonBytes! - at);
    expect(exact.length).toBe(LIMITS.jsonBytes);
    await refused(exact, 'prompt', 'limit_exceeded');
    count('refused');
    const over = await postRaw(filler(LIMITS.jsonBytes! - at + 1));
    expect(over.status).toBe(413);
  });

  it('an upload at the pixel limit is checked, one pixel over is refused by its header', async () => {
    const small = await startTestBridge({ runner: new ScriptedRunner(1), limits: { pixels: 64 * 64 } });
    try {
      const put = (png: Uint8Array) => fetch(`${small.url}/v1/images`, { method: 'PUT', headers: { ...small.auth, 'content-type': 'image/png' }, body: new Uint8Array(png) });
      expect((await put(solidPng(64, 64))).status).toBe(200);
      const over = await put(solidPng(65, 64));
      expect(over.status).toBe(413);
      expect(((await over.json()) as any).error).toMatchObject({ code: 'image_too_large', field: 'body' });
      count('accepted');
      count('refused');
    } finally {
      await small.dispose();
    }
  });
});

describe('memory budget (8 GiB, SD1.5 fp32 weights 4.27 GB)', () => {
  const shape = (patch: Partial<Parameters<typeof estimateJobMemory>[0]>) => ({ width: 512, height: 512, batchSize: 1, cfg: true, controlUnits: 0, encodes: false, weightsBytes: SD15_BYTES, canvasPixels: 0, ...patch });

  it("refuses the issue's 4096² × 8 and says what fits", async () => {
    const message = await refused({ ...base, width: 4096, height: 4096, batchSize: 8 }, 'width', 'limit_exceeded');
    expect(message).toMatch(/needs about [\d.]+ GiB .* the memory budget is 8\.0 GiB .* at batchSize 8 the largest that fits is (\d+)x\1/);
  });

  it('the largest size it names is accepted, 8 px more on each side is refused', async () => {
    const message = await refused({ ...base, width: 2048, height: 2048 }, 'width', 'limit_exceeded');
    const [, w, h] = /largest that fits is (\d+)x(\d+)/.exec(message)!;
    const side = Number(w);
    expect(Number(h)).toBe(side);
    expect(estimateJobMemory(shape({ width: side, height: side }), LIMITS.memoryBytes!).peakBytes).toBeLessThanOrEqual(LIMITS.memoryBytes!);
    await accepted({ ...base, width: side, height: side });
    await refused({ ...base, width: side + 8, height: side + 8 }, 'width', 'limit_exceeded');
  });

  it('a batch that does not fit names batchSize and the batch that does', async () => {
    const side = Array.from({ length: 17 }, (_, i) => 512 + 64 * i).find((s) => {
      const one = estimateJobMemory(shape({ width: s, height: s })).peakBytes;
      const eight = estimateJobMemory(shape({ width: s, height: s, batchSize: 8 })).peakBytes;
      return one <= LIMITS.memoryBytes! && eight > LIMITS.memoryBytes!;
    });
    expect(side).toBeDefined();
    const message = await refused({ ...base, width: side, height: side, batchSize: 8 }, 'batchSize', 'limit_exceeded');
    const fits = Number(/a batchSize of (\d+) fits/.exec(message)![1]);
    await accepted({ ...base, width: side, height: side, batchSize: fits });
    await refused({ ...base, width: side, height: side, batchSize: fits + 1 }, 'batchSize', 'limit_exceeded');
  });

  it('guidance ≤ 1 halves the UNet batch: a batch refused with CFG fits without it', async () => {
    const batch = { batchSize: 4 };
    const side = Array.from({ length: 17 }, (_, i) => 512 + 64 * i).find((s) => estimateJobMemory(shape({ width: s, height: s, ...batch })).peakBytes > LIMITS.memoryBytes! && estimateJobMemory(shape({ width: s, height: s, ...batch, cfg: false })).peakBytes <= LIMITS.memoryBytes!);
    expect(side).toBeDefined();
    await refused({ ...base, ...batch, width: side, height: side }, 'batchSize', 'limit_exceeded');
    await accepted({ ...base, ...batch, width: side, height: side, guidance: 1 });
  });

  it("a ControlNet's weights count: a size that fits alone is refused with one", async () => {
    const image = (await upload(solidPng(64, 64))).body.id as string;
    const side = Array.from({ length: 17 }, (_, i) => 512 + 64 * i).filter((s) => estimateJobMemory(shape({ width: s, height: s })).peakBytes <= LIMITS.memoryBytes! && estimateJobMemory(shape({ width: s, height: s, controlUnits: 1, weightsBytes: SD15_BYTES + CONTROLNET_BYTES })).peakBytes > LIMITS.memoryBytes!)[0];
    expect(side).toBeDefined();
    await accepted({ ...base, width: side, height: side });
    await refused({ ...base, width: side, height: side, control: [{ model: 'control_canny.safetensors', image }] }, 'width', 'limit_exceeded');
  });

  it('a checkpoint larger than the budget is refused naming the model', async () => {
    const message = await refused({ ...base, model: 'huge.safetensors', width: 64, height: 64 }, 'model', 'limit_exceeded');
    expect(message).toMatch(/the models alone do not fit/);
  });
});

describe('schedulerConfig at submit', () => {
  it.each([
    [{ beta_schedule: 'cosine' }, 'schedulerConfig.beta_schedule'],
    [{ beta_start: -1 }, 'schedulerConfig.beta_start'],
    [{ beta_end: 1.5 }, 'schedulerConfig.beta_end'],
    [{ num_train_timesteps: 1e9 }, 'schedulerConfig.num_train_timesteps'],
    [{ num_train_timesteps: -5 }, 'schedulerConfig.num_train_timesteps'],
    [{ steps_offset: -1 }, 'schedulerConfig.steps_offset'],
    [{ steps_offset: 999 }, 'schedulerConfig.steps_offset'],
    [{ timestep_spacing: 'uniform' }, 'schedulerConfig.timestep_spacing'],
    [{ prediction_type: 'x0' }, 'schedulerConfig.prediction_type'],
    [{ sigma_max: -3 }, 'schedulerConfig.sigma_max'],
    [{ clip_sample_range: Number.MAX_VALUE }, 'schedulerConfig.clip_sample_range'],
    [{ solver_order: 7 }, 'schedulerConfig.solver_order'],
    [{ trained_betas: new Array(1000).fill(0.01) }, 'schedulerConfig.trained_betas'],
    [{ unknown_knob: true }, 'schedulerConfig.unknown_knob'],
    [{ use_karras_sigmas: 'yes' }, 'schedulerConfig.use_karras_sigmas'],
  ])('%j is refused', async (config, field) => {
    await refused({ ...base, scheduler: 'ddim', schedulerConfig: config }, field);
  });

  it('a valid override is accepted', async () => {
    await accepted({ ...base, scheduler: 'ddim', schedulerConfig: { timestep_spacing: 'trailing', num_train_timesteps: 1000, steps_offset: 0 } });
  });
});

describe('images at submit', () => {
  let at64: string;
  let at128x96: string;
  let mask128x96: string;
  beforeAll(async () => {
    at64 = (await upload(solidPng(64, 64))).body.id;
    at128x96 = (await upload(solidPng(128, 96))).body.id;
    mask128x96 = (await upload(encodePng({ width: 128, height: 96, channels: 1, data: new Uint8Array(128 * 96).fill(255) }))).body.id;
  });
  const small = { ...base, width: 64, height: 64 };

  it('strength × steps must leave one step: 20 × 0.05 runs one, 20 × 0.049 none', async () => {
    await accepted({ ...small, initImage: at64, strength: 0.05 });
    const message = await refused({ ...small, initImage: at64, strength: 0.049 }, 'strength');
    expect(message).toMatch(/leaves 0 denoising steps/);
  });

  it('an init image or mask of another size than the request is refused naming it', async () => {
    expect(await refused({ ...small, initImage: at128x96 }, 'initImage', 'size_mismatch')).toMatch(/128x96 .* 64x64/);
    await refused({ ...small, initImage: at64, mask: mask128x96 }, 'mask', 'size_mismatch');
    await accepted({ ...base, width: 128, height: 96, initImage: at128x96, mask: mask128x96 });
  });

  it('with inpaint options the canvas may differ from the request, but the mask must match it', async () => {
    await accepted({ ...small, initImage: at128x96, mask: mask128x96, inpaint: {} });
    await refused({ ...small, initImage: at128x96, mask: at64, inpaint: {} }, 'mask', 'size_mismatch');
  });

  it('control images of any size are stretched, so accepted', async () => {
    await accepted({ ...small, control: [{ model: 'control_canny.safetensors', image: at128x96 }] });
  });

  it('an image that is not on the bridge is named', async () => {
    await refused({ ...small, initImage: 'f'.repeat(64) }, 'initImage', 'unknown_image');
  });
});

describe('models of the wrong kind', () => {
  it.each([
    [{ model: 'control_canny.safetensors' }, 'model'],
    [{ model: 'lora_style.safetensors' }, 'model'],
    [{ control: [{ model: MODEL, pose: { canvas_width: 512, canvas_height: 512, people: [] } }] }, 'control.0.model'],
    [{ control: [{ model: 'lora_style.safetensors', pose: { canvas_width: 512, canvas_height: 512, people: [] } }] }, 'control.0.model'],
  ])('%j', async (patch, field) => {
    await refused({ ...base, width: 64, height: 64, ...patch }, field, 'wrong_model_kind');
  });
});

describe('hostile PNG uploads', () => {
  const GREYS = [[0, 0, 0], [128, 128, 128], [255, 255, 255]];
  it.each([
    ['a palette index past the palette', palettePng({ width: 3, height: 1, palette: GREYS, scanlines: rows(3, [0, 1, 3]) }), /palette index 3/],
    ['a palette index reached by the Paeth filter', palettePng({ width: 2, height: 2, palette: GREYS, scanlines: [0, 1, 2, 4, 0, 1] }), /palette index 3/],
    ['a PLTE of 4 bytes', palettePng({ width: 1, height: 1, palette: [], paletteBytes: [1, 2, 3, 4], scanlines: [0, 0] }), /palette is 4 bytes/],
  ])('%s → 400 invalid_image', async (_name, png, message) => {
    count('refused');
    const res = await upload(png);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_image', field: 'body' });
    expect(res.body.error.message).toMatch(message);
  });

  it('24 concurrent 65 KB bombs (4096² RGBA each) while health is polled: each is checked or told to retry, health keeps answering', async () => {
    const busy = await startTestBridge({ runner: new ScriptedRunner(1), limits: { pngChecks: 1, pngCheckQueue: 4 } });
    try {
      const bomb = bombPng(4096);
      expect(bomb.length).toBeLessThan(70_000);
      let uploading = true;
      const health: number[] = [];
      const poll = (async () => {
        while (uploading) {
          health.push((await fetch(`${busy.url}/v1/health`)).status);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const answers = await Promise.all(
        Array.from({ length: 24 }, async () => {
          const res = await fetch(`${busy.url}/v1/images`, { method: 'PUT', headers: { ...busy.auth, 'content-type': 'image/png' }, body: new Uint8Array(bomb) });
          return { status: res.status, body: (await res.json()) as any };
        }),
      );
      uploading = false;
      await poll;
      for (const a of answers) count(a.status === 200 ? 'bomb checked' : 'bomb told to retry');
      const checked = answers.filter((a) => a.status === 200);
      const retry = answers.filter((a) => a.status === 429);
      expect(checked.length + retry.length).toBe(24);
      // One check running and four waiting: at most five of the first burst get through the gate at once.
      expect(retry.length).toBeGreaterThan(0);
      for (const r of retry) expect(r.body.error).toMatchObject({ code: 'busy', field: 'body' });
      // A bomb is a valid (all-transparent) image: stored once, under one content id.
      expect(new Set(checked.map((a) => a.body.id)).size).toBe(1);
      expect(health.length).toBeGreaterThan(0);
      expect(health.every((s) => s === 200)).toBe(true);
      // The gate is free again: one more upload is checked at once.
      expect((await fetch(`${busy.url}/v1/images`, { method: 'PUT', headers: { ...busy.auth, 'content-type': 'image/png' }, body: new Uint8Array(solidPng(8, 8)) })).status).toBe(200);
    } finally {
      await busy.dispose();
    }
  });
});

describe('after all of it', () => {
  it('the bridge still serves health and runs a job to the end', async () => {
    const health = await fetch(api('/health'), { headers: bridge.auth });
    expect(health.status).toBe(200);
    const jobId = await accepted({ ...base, width: 64, height: 64, steps: 2 });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const job = (await (await fetch(api(`/jobs/${jobId}`), { headers: bridge.auth })).json()) as any;
      if (job.status === 'done') break;
      expect(job.status).not.toBe('failed');
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
