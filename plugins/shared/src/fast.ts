// The hosts' "Fast" toggle: which acceleration it asks the bridge for, and when the bridge would refuse it.
// The panels (through settings.ts and repaint.ts) and the playground all use these, so the three agree.
import type { GenerateRequestInput, ModelKind } from '@kirie/core/client/protocol';

/**
 * What the panels' "Fast" toggle sends: DeepCache with a full UNet call every 3rd step, caching at branch 0
 * (the paper's speed setting, core's Acceleration schema). Measured per step on CPU: 1.64x at interval 3, 1.35x at 2.
 */
export function fastAcceleration(): NonNullable<GenerateRequestInput['acceleration']> {
  return { deepCache: { interval: 3, branch: 0 } };
}

/**
 * Why the bridge would refuse Fast for a job (its request schema and pipeline), or undefined when it can run:
 * not with ControlNet units (pose fills), and only on checkpoints Kirie builds itself (not ONNX folders).
 */
export function fastUnavailable(job: { control: boolean; modelKind?: ModelKind }): string | undefined {
  if (job.control) return 'Fast (DeepCache) cannot be combined with a pose guide (ControlNet) yet: switch Fast off for pose fills';
  if (job.modelKind === 'onnx') return "Fast (DeepCache) needs a checkpoint Kirie builds itself (.safetensors); this model is an ONNX folder: switch Fast off";
  return undefined;
}
