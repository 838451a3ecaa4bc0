import { describe, expect, it } from 'vitest';
import { diagnose, formatReport } from '../../src/commands/doctor.js';
import { DEVICES } from '../../src/runtime/session.js';

describe('kirie doctor', () => {
  it('probes every provider, says why the missing ones are missing and which one auto picks', async () => {
    const report = await diagnose();
    expect(report.providers.map((p) => p.provider)).toEqual(DEVICES.filter((d) => d !== 'auto'));
    expect(report.providers.find((p) => p.provider === 'cpu')).toEqual({ provider: 'cpu', available: true });
    // No CUDA libraries here (.npmrc skips them): the reason is the fallback's.
    expect(report.providers.find((p) => p.provider === 'cuda')).toMatchObject({ available: false, reason: expect.stringMatching(/libonnxruntime_providers_cuda\.so is not installed/) });
    const text = formatReport(report);
    expect(text).toMatch(/^platform: \w+ \w+, Node \d+/);
    expect(text).toContain(`auto picks: ${report.auto.provider}`);
    for (const p of report.providers.filter((p) => !p.available)) expect(text).toContain(`${p.provider.padEnd(7)}unavailable: ${p.reason}`);
    if (report.providers.find((p) => p.provider === 'webgpu')!.available) expect(text).toContain('probed by running a one-node graph on the WebGPU provider');
  });
});
