// The bridge end to end: real server, real generation process, the tiny random-weight model, the shared
// client over HTTP + WebSocket. What a plugin does, with nothing scripted.
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng, encodePng } from '@kirie/core/image/png';
import { KirieApiError, type JobEvent } from '@kirie/core/client/protocol';
import { DEMO, startE2eBridge, type E2eBridge } from './bridge-harness.js';

let bridge: E2eBridge;

beforeAll(async () => {
  bridge = await startE2eBridge();
});
afterAll(() => bridge.dispose());

async function collect(events: AsyncIterable<JobEvent>): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

function rgb(width: number, height: number, at: (x: number, y: number) => [number, number, number]): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(at(x, y), (y * width + x) * 3);
  return encodePng({ width, height, channels: 3, data });
}

describe('bridge end to end (tiny model)', () => {
  it('runs the issue’s minimal request from submit to PNG, reproducibly', async () => {
    const request = { model: DEMO, prompt: 'a red fox', width: 64, height: 64, steps: 2, seed: 1 };
    const all = await collect(bridge.client.generate(request));
    // Building the model's graphs (first use with an empty cache) reports percents first.
    const loading = all.filter((e) => e.type === 'progress' && e.phase === 'loading');
    expect(loading.length).toBeLessThanOrEqual(101);
    const events = all.filter((e) => !loading.includes(e));
    expect(events.map((e) => (e.type === 'progress' ? `${e.phase} ${e.step}/${e.total}` : e.type))).toEqual(['queued', 'started', 'denoising 1/2', 'denoising 2/2', 'decoding 0/1', 'done']);
    const steps = events.filter((e): e is Extract<JobEvent, { type: 'progress' }> => e.type === 'progress' && e.phase === 'denoising');
    expect(steps.map((s) => [s.step, s.total])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    const preview = decodePng(Buffer.from(steps[0]!.preview!, 'base64'));
    expect([preview.width, preview.height]).toEqual([8, 8]);
    const done = events.at(-1) as Extract<JobEvent, { type: 'done' }>;
    expect(done.recipe).toMatchObject({ model: { id: DEMO }, device: 'cpu', request: { seed: 1, steps: 2, prompt: 'a red fox', scheduler: 'dpmpp_2m_karras' } });
    const png = await bridge.client.image(done.images[0]!);
    const image = decodePng(png);
    expect([image.width, image.height, image.channels]).toEqual([64, 64, 3]);
    expect(new Set(image.data).size).toBeGreaterThan(10);
    expect(new Uint8Array(await readFile(join(bridge.home, 'outputs', `${done.jobId}-0.png`)))).toEqual(png);
    // Same request, same seed: the same image (the id is a content hash).
    const again = (await collect(bridge.client.generate(request))).at(-1) as Extract<JobEvent, { type: 'done' }>;
    expect(again.images).toEqual(done.images);
  });

  it('inpaints with uploaded image and mask ids', async () => {
    const init = await bridge.client.uploadImage(rgb(64, 64, (x, y) => [x * 4, y * 4, 128]));
    const mask = await bridge.client.uploadImage(rgb(64, 64, (x, y) => (x >= 16 && x < 48 && y >= 16 && y < 48 ? [255, 255, 255] : [0, 0, 0])));
    const events = await collect(bridge.client.generate({ model: DEMO, prompt: 'a window', width: 64, height: 64, steps: 2, seed: 3, initImage: init.id, mask: mask.id, strength: 1 }));
    const done = events.at(-1)!;
    expect(done).toMatchObject({ type: 'done' });
    const image = decodePng(await bridge.client.image((done as Extract<JobEvent, { type: 'done' }>).images[0]!));
    expect([image.width, image.height]).toEqual([64, 64]);
  });

  it('answers health and cancel within 100 ms while inference runs, then keeps working', async () => {
    const events = bridge.client.listen()[Symbol.asyncIterator]();
    expect((await events.next()).value).toEqual({ type: 'connected' });
    const { jobId } = await bridge.client.submit({ model: DEMO, prompt: 'long', width: 256, height: 256, steps: 40, seed: 5 });
    for (;;) {
      const e = (await events.next()).value as JobEvent;
      expect(e.type === 'error' || e.type === 'done').toBe(false);
      if (e.type === 'progress' && e.jobId === jobId && e.phase === 'denoising') break;
    }
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      expect((await bridge.client.health()).queue.running).toBe(1);
      latencies.push(performance.now() - t0);
    }
    const t0 = performance.now();
    const cancelled = await bridge.client.cancel(jobId);
    const cancelMs = performance.now() - t0;
    expect(cancelled.status).toBe('cancelled');
    expect(Math.max(...latencies)).toBeLessThan(100);
    expect(cancelMs).toBeLessThan(100);
    for (;;) {
      const e = (await events.next()).value as JobEvent;
      if (e.jobId === jobId && e.type === 'cancelled') break;
      expect(e.type === 'done' && e.jobId === jobId).toBe(false);
    }
    await events.return?.();
    const next = (await collect(bridge.client.generate({ model: DEMO, prompt: 'after cancel', width: 64, height: 64, steps: 1, seed: 6 }))).at(-1)!;
    expect(next.type).toBe('done');
  });

  it('inpaints through the context-crop geometry and composites onto the untouched original', async () => {
    const source = rgb(96, 64, (x, y) => [(x * 3) % 256, (y * 5) % 256, 90]);
    const init = await bridge.client.uploadImage(source);
    const mask = await bridge.client.uploadImage(rgb(96, 64, (x, y) => (x >= 40 && x < 56 && y >= 24 && y < 40 ? [255, 255, 255] : [0, 0, 0])));
    const request = { model: DEMO, prompt: 'a door', width: 64, height: 64, steps: 2, seed: 4, initImage: init.id, mask: mask.id, strength: 1, inpaint: {} };
    const done = (await collect(bridge.client.generate(request))).at(-1) as Extract<JobEvent, { type: 'done' }>;
    expect(done.type).toBe('done');
    const png = await bridge.client.image(done.images[0]!);
    const out = decodePng(png);
    // The whole canvas comes back, pixels far from the mask exactly as they were.
    expect([out.width, out.height]).toEqual([96, 64]);
    const original = decodePng(source);
    const at = (img: typeof out, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * img.channels, (y * img.width + x) * img.channels + 3));
    expect(at(out, 2, 2)).toEqual(at(original, 2, 2));
    expect(at(out, 93, 61)).toEqual(at(original, 93, 61));
    expect(at(out, 48, 32)).not.toEqual(at(original, 48, 32));
    // The recipe travels inside the PNG too, as `kirie generate` writes it.
    expect(decodePng(png).text.kirie).toContain('"seed":4');
  });

  it('fails a job whose model cannot load with an actionable error, and keeps serving', async () => {
    // Intact weights, but a sidecar YAML that is not a model config: listed, then fails to load.
    await copyFile(join(bridge.modelsDir, DEMO), join(bridge.modelsDir, 'broken.safetensors'));
    await writeFile(join(bridge.modelsDir, 'broken.yaml'), 'model: [this is not, a config\n');
    const models = await bridge.client.models();
    expect(models.map((m) => m.id)).toContain('broken.safetensors');
    const events = await collect(bridge.client.generate({ model: 'broken.safetensors', prompt: 'x', width: 64, height: 64, steps: 1 }));
    const last = events.at(-1)!;
    expect(last.type).toBe('error');
    expect((last as Extract<JobEvent, { type: 'error' }>).message).toMatch(/broken\.yaml/);
    expect((await bridge.client.health()).ok).toBe(true);
    const ok = (await collect(bridge.client.generate({ model: DEMO, prompt: 'still fine', width: 64, height: 64, steps: 1, seed: 2 }))).at(-1)!;
    expect(ok.type).toBe('done');
  });

  it('recovers a finished result after reconnecting, from a fresh client', async () => {
    const { jobId } = await bridge.client.submit({ model: DEMO, prompt: 'while offline', width: 64, height: 64, steps: 2, seed: 11 });
    let job = await bridge.client.job(jobId);
    while (job.status === 'queued' || job.status === 'running') {
      await new Promise((r) => setTimeout(r, 50));
      job = await bridge.client.job(jobId);
    }
    expect(job).toMatchObject({ status: 'done' });
    const png = await bridge.client.image(job.images![0]!);
    expect(decodePng(png).width).toBe(64);
    expect(job.recipe!.request.seed).toBe(11);
  });

  it('reports bad input through the client as a typed error naming the field', async () => {
    const err = await bridge.client.submit({ model: DEMO, prompt: 'x', steps: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KirieApiError);
    expect(err).toMatchObject({ status: 400, field: 'steps' });
  });
});
