// @kirie/core — the shared engine. Pure TypeScript: no fs, no DOM, no Node built-ins.
export * from './io/npy.js';
export * from './io/json.js';
export * from './image/png.js';
export { planInpaint, compositeInpaint, applyPatch, type InpaintPlan, type InpaintPatch } from './image/inpaint.js';
export { stepMask, latentMask, type LatentMask } from './image/softmask.js';
export { maskFromImage, type CanvasMask } from './image/masks.js';
export { SD15_RESOLUTION, DEFAULT_INPAINT_OPTIONS, type ModelResolution, type InpaintOptionsInput } from './image/options.js';
export * from './runtime/ort.js';
export * from './rng/noise.js';
export * from './schedulers/index.js';
export { TorchGenerator, torchRandn, torchBatchNoise, type TorchSeed } from './rng/torch.js';
export { ClipTokenizer, CLIP_BOS, CLIP_EOS, CLIP_CONTEXT_LENGTH } from './tokenizer/clip.js';
export { GenerateRequest, ControlUnit, ImageId, type SchedulerName, type GenerateRequestInput } from './request/schema.js';
export { parseGenerateRequest, validateGenerateRequest, RequestValidationError, withResolvedSeed, imageSeed, type FieldError } from './request/parse.js';
export * as control from './control/index.js';
