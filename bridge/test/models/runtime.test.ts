import { describe, expect, it, beforeEach } from 'vitest';
import { autoProviders, createSession, parseDevice, preferredProvider, resetProviderFailures, resolveProvider, sessionOptions } from '../../src/runtime/session.js';
import { fixtureModel } from './onnx-fixtures.js';

const model = fixtureModel([{ name: 'x', type: 'float32', shape: [2] }], [{ name: 'y', type: 'float32', shape: [2] }]);

describe('createSession', () => {
  beforeEach(() => resetProviderFailures());

  it('runs on the CPU when asked', async () => {
    const logs: string[] = [];
    const { session, provider } = await createSession(model, { device: 'cpu', log: (m) => logs.push(m) });
    expect(provider).toBe('cpu');
    expect(logs).toEqual([]);
    await session.release();
  });

  // This machine has no CUDA libraries (.npmrc skips their download) and is not Windows/macOS, so every GPU
  // provider must fall back to the CPU with a reason, and the session must still work.
  it.each(['cuda', 'dml', 'coreml', 'auto'] as const)('falls back from %s to the CPU with a logged reason', async (device) => {
    const logs: string[] = [];
    const { session, provider } = await createSession(model, { device, log: (m) => logs.push(m) });
    expect(provider).toBe('cpu');
    if (device === 'auto') {
      // Linux: CUDA first, then WebGPU, passed over here for having only a software adapter.
      expect(logs).toEqual([
        expect.stringMatching(/^cuda unavailable, falling back to webgpu: .+/),
        expect.stringMatching(/^webgpu passed over, falling back to the CPU: no GPU device node .+--device webgpu uses it anyway$/),
      ]);
    } else {
      expect(logs).toEqual([expect.stringMatching(new RegExp(`^${device} unavailable, falling back to the CPU: .+`))]);
    }
    const ort = await import('onnxruntime-node');
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1.5, -2]), [2]) });
    expect([...(out.y.data as Float32Array)]).toEqual([0, 0]);
    await session.release();
    // Remembered: the next session does not retry or re-log.
    const said = logs.length;
    const again = await createSession(model, { device, log: (m) => logs.push(m) });
    expect(logs).toHaveLength(said);
    await again.session.release();
  });

  // The software adapter auto passes over is still there for a caller that names WebGPU (tests, CI).
  it('passing WebGPU over for auto does not refuse it to --device webgpu', async () => {
    await (await createSession(model, { device: 'auto' })).session.release();
    expect(preferredProvider('auto')).toBe('cpu');
    expect(preferredProvider('webgpu')).toBe('webgpu');
  });

  it('names the reason when the CUDA libraries are missing', async () => {
    const logs: string[] = [];
    await (await createSession(model, { device: 'cuda', log: (m) => logs.push(m) })).session.release();
    expect(logs[0]).toMatch(/cuda unavailable, falling back to the CPU: the CUDA provider library libonnxruntime_providers_cuda\.so is not installed/);
  });
});

describe('resolveProvider', () => {
  beforeEach(() => resetProviderFailures());

  it('finds the provider sessions will really get, before any graph is built', async () => {
    expect(await resolveProvider('cpu')).toBe('cpu');
    const logs: string[] = [];
    expect(await resolveProvider('cuda', (m) => logs.push(m))).toBe('cpu');
    expect(logs).toEqual([expect.stringMatching(/^cuda unavailable, falling back to the CPU: /)]);
    // Remembered for the cheap, synchronous answer too.
    expect(preferredProvider('cuda')).toBe('cpu');
  });
});

describe('options', () => {
  it('parses devices and refuses unknown ones', () => {
    expect(parseDevice('cuda')).toBe('cuda');
    expect(parseDevice('webgpu')).toBe('webgpu');
    expect(() => parseDevice('gpu')).toThrow(/unknown device "gpu"; expected one of auto, cuda, dml, coreml, webgpu, cpu/);
  });
  it('picks GPU providers per OS', () => {
    expect(autoProviders('win32')).toEqual(['cuda', 'dml', 'webgpu']);
    expect(autoProviders('darwin')).toEqual(['coreml', 'webgpu']);
    expect(autoProviders('linux')).toEqual(['cuda', 'webgpu']);
  });
  it('uses every core, all graph optimisations, no CPU arena, and no memory patterns on DirectML', () => {
    expect(sessionOptions('cpu', 16)).toMatchObject({ intraOpNumThreads: 16, graphOptimizationLevel: 'all', enableCpuMemArena: false, enableMemPattern: true, executionProviders: ['cpu'] });
    // Spinning intra-op threads take cores from the design app beside the bridge and cost the 2-core UNet call time (bench unet).
    expect(sessionOptions('cpu', 2).extra).toMatchObject({ session: { intra_op: { allow_spinning: '0' } } });
    expect(sessionOptions('dml', 4)).toMatchObject({ enableMemPattern: false, executionMode: 'sequential', executionProviders: ['dml'] });
    expect(sessionOptions('webgpu', 4)).toMatchObject({ enableMemPattern: false, executionProviders: ['webgpu'] });
  });
});
