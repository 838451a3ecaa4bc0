// 1,200 malformed requests and images (seeded, so a failure reproduces) against a real server: every
// answer must be a deliberate 2xx/4xx with a JSON error body, never a 5xx or a hang, and the bridge
// must still be healthy and working afterwards.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ScriptedRunner, solidPng, startTestBridge, type TestBridge } from './harness.js';

let bridge: TestBridge;

beforeAll(async () => {
  bridge = await startTestBridge({ runner: new ScriptedRunner(1), limits: { queue: 4, imageBytes: 256 * 1024, pixels: 512 * 512 } });
});
afterAll(() => bridge.dispose());

/** mulberry32: small, seeded, good enough to pick mutations. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(20260101);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (n: number) => Math.floor(random() * n);

const WEIRD_VALUES: unknown[] = [null, true, -1, 0, 1e308, -1e308, 2 ** 53 + 2, 0.5, '', 'x'.repeat(5000), '\u0000', '../../etc/passwd', '💥', [], [1, 2], {}, { nested: { deeper: [null] } }, 'NaN', '-Infinity', '512', 64.5];
const FIELDS = ['model', 'prompt', 'negativePrompt', 'width', 'height', 'steps', 'scheduler', 'schedulerConfig', 'guidance', 'seed', 'batchSize', 'clipSkip', 'strength', 'initImage', 'mask', 'inpaint', 'control', 'noiseSource', '__proto__', 'constructor'];

const SCHEDULER_KEYS = ['num_train_timesteps', 'beta_start', 'beta_end', 'beta_schedule', 'steps_offset', 'prediction_type', 'timestep_spacing', 'sigma_min', 'sigma_max', 'solver_order', 'original_inference_steps', 'trained_betas', '_class_name'];
const POSE_KEYS = ['pose_keypoints_2d', 'face_keypoints_2d', 'hand_left_keypoints_2d', 'person_id', 'pose_keypoints_3d', 'unknown'];

/** A control unit with a pose, or a schedulerConfig, holding one weird value at a real key. */
function structured(field: 'control' | 'schedulerConfig'): unknown {
  if (field === 'schedulerConfig') return { [pick(SCHEDULER_KEYS)]: pick(WEIRD_VALUES) };
  return [{ model: 'test-model.safetensors', pose: { canvas_width: pick(WEIRD_VALUES), people: [{ [pick(POSE_KEYS)]: pick(WEIRD_VALUES) }] } }];
}

function mutatedRequest(): string {
  const base: Record<string, unknown> = { prompt: 'a red fox', width: 64, height: 64, steps: 1, seed: 1 };
  for (let k = 1 + int(3); k > 0; k--) {
    const field = pick(FIELDS);
    if (random() < 0.2) delete base[field];
    else if ((field === 'control' || field === 'schedulerConfig') && random() < 0.3) base[field] = structured(field);
    else base[field] = field === 'control' && random() < 0.5 ? [{ model: pick(WEIRD_VALUES), image: pick(WEIRD_VALUES), start: pick(WEIRD_VALUES) }] : pick(WEIRD_VALUES);
  }
  const text = JSON.stringify(base);
  switch (int(6)) {
    case 0:
      return text.slice(0, int(text.length)); // truncated
    case 1:
      return text.replace(/[:,]/, pick(['', '::', ',,', '}']));
    case 2:
      return '['.repeat(int(2000)) + ']'.repeat(int(2000)); // deep nesting
    default:
      return text;
  }
}

function mutatedPng(): Uint8Array {
  const png = solidPng(8 + int(40), 8 + int(40), [int(256), int(256), int(256)]).slice();
  const view = new DataView(png.buffer);
  switch (int(5)) {
    case 0:
      return png.subarray(0, int(png.length)); // truncated anywhere
    case 1:
      for (let k = 1 + int(8); k > 0; k--) png[int(png.length)] = int(256); // bit rot
      return png;
    case 2:
      view.setUint32(16, pick([0, 1, 65535, 2 ** 31 - 1, 2 ** 32 - 1])); // lying IHDR width
      view.setUint32(20, pick([0, 1, 65535, 2 ** 31 - 1]));
      return png;
    case 3:
      view.setUint32(33, pick([0, 2 ** 31 - 1, 2 ** 32 - 1, 5])); // first chunk after IHDR: bad length
      return png;
    default:
      return Uint8Array.from({ length: int(2000) }, () => int(256)); // noise
  }
}

type Attempt = { method: string; path: string; headers: Record<string, string>; body?: string | Uint8Array };

function attempt(): Attempt {
  const auth: Record<string, string> = random() < 0.9 ? bridge.auth : pick<Record<string, string>>([{}, { authorization: 'Bearer' }, { authorization: `Basic ${bridge.token}` }, { authorization: `Bearer ${bridge.token}x` }]);
  switch (int(4)) {
    case 0:
      return { method: 'PUT', path: '/v1/images', headers: { ...auth, 'content-type': pick(['image/png', 'application/octet-stream', 'image/png', 'text/plain']) }, body: mutatedPng() };
    case 1:
    case 2:
      return { method: 'POST', path: '/v1/jobs', headers: { ...auth, 'content-type': pick(['application/json', 'application/json', 'text/plain', 'application/json; charset=latin1']) }, body: mutatedRequest() };
    default: {
      const id = pick(['', 'x', '..%2F..%2Ftoken', '%00', 'a'.repeat(300), crypto.randomUUID(), '%E0%A4%A']);
      return { method: pick(['GET', 'DELETE', 'PATCH', 'POST']), path: pick([`/v1/jobs/${id}`, `/v1/images/${id}`, `/v1/${id}`, `/${id}`]), headers: auth };
    }
  }
}

it('survives 1,200 malformed requests and images with deliberate answers only', async () => {
  const statuses = new Map<number, number>();
  for (let batch = 0; batch < 60; batch++) {
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const a = attempt();
        const res = await fetch(`${bridge.url}${a.path}`, { method: a.method, headers: a.headers, ...(a.body !== undefined ? { body: typeof a.body === 'string' ? a.body : new Uint8Array(a.body) } : {}) });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `${a.method} ${a.path} → ${res.status} ${text.slice(0, 200)}`).toBeLessThan(500);
        if (res.status >= 400) expect(JSON.parse(text).error.message, text).toEqual(expect.any(String));
      }),
    );
  }
  expect([...statuses.values()].reduce((a, b) => a + b)).toBe(1200);
  // Enough of each kind of refusal that the fuzzing reached every guard.
  for (const status of [400, 401, 404, 413]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(10);

  const health = await fetch(`${bridge.url}/v1/health`);
  expect(health.status).toBe(200);
  const job = await fetch(`${bridge.url}/v1/jobs`, { method: 'POST', headers: { ...bridge.auth, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'after the storm', width: 64, height: 64, steps: 1 }) });
  expect(job.status === 202 || job.status === 429).toBe(true);
});
