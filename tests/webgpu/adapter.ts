// The WebGPU suite runs where ONNX Runtime's WebGPU provider starts (a GPU, or Mesa ≥ 25's llvmpipe as CI
// installs it) and is skipped, with the reason in its name, where it does not; on CI (CI=true) a missing
// adapter fails instead, so the suite cannot silently stop running there.
import { describe, it } from 'vitest';
import { resetProviderFailures, resolveProvider } from '../../bridge/src/runtime/session.js';

async function probe(): Promise<string | null> {
  const reasons: string[] = [];
  const provider = await resolveProvider('webgpu', (m) => reasons.push(m));
  resetProviderFailures();
  return provider === 'webgpu' ? null : reasons.join('; ') || 'the WebGPU provider did not start';
}

const missing = await probe();

/** `describe` when the WebGPU provider starts; otherwise a skipped suite naming why, or on CI a failing one. */
export function describeWebGpu(name: string, suite: () => void): void {
  if (!missing) describe(name, suite);
  else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has a WebGPU adapter (.ci/run installs Mesa 25 from bookworm-backports)', () => {
        throw new Error(`no WebGPU adapter on CI: ${missing}`);
      });
    });
  } else describe.skip(`${name} (skipped: no WebGPU adapter: ${missing}; on Debian 12 install mesa-vulkan-drivers from bookworm-backports)`, suite);
}
