// One request, as the bridge's generation process and `kirie generate` both run it. Inpaint requests with `inpaint` options go through
// the shared geometry (core/src/image): context crop to the model size, generation, colour match and
// seamless composite back onto the whole original. Every result carries its recipe as PNG text, like
// `kirie generate` writes it.
import * as ort from 'onnxruntime-node';
import { applyPatch, compositeInpaint, planInpaint } from '@kirie/core/image/inpaint';
import { maskFromImage } from '@kirie/core/image/masks';
import { encodePng, type RasterImage } from '@kirie/core/image/png';
import type { StepProgress } from '@kirie/core/pipeline/generate';
import { generateFromRequest, requestLoras, type RequestDeps } from '@kirie/core/pipeline/request';
import { familyOf } from '@kirie/core/pipeline/conditioning';
import { recipeText } from '@kirie/core/recipe/recipe';
import type { GenerateRequest } from '@kirie/core/request/schema';
import { sharedPoseDetector } from '../control/lazy-detector.js';
import { vaeTilingFor } from '../server/memory-estimate.js';
import { withText } from './png-text.js';
import type { LoadedModel } from '../models/load.js';
import type { FolderAdapterLibrary } from '../models/adapter-library.js';

export interface RequestRun {
  model: LoadedModel;
  modelHash: string | undefined;
  image(id: string): Promise<RasterImage>;
  controlNet: RequestDeps['controlNet'];
  /** The LoRAs and embeddings requests may name (the models folder's loras/ and embeddings/). */
  adapters?: FolderAdapterLibrary;
  signal?: AbortSignal;
  onProgress(progress: StepProgress): void;
  /** The job memory budget: the VAE is tiled above the size it sets (memory-estimate.ts vaeTilingFor). */
  memoryBudget?: number;
  /** A latent preview with every Nth progress event (default 1); 0 for none, when nobody looks at them. */
  previewEvery?: number;
  version: string;
}

export async function runRequest(asked: GenerateRequest, run: RequestRun): Promise<Uint8Array[]> {
  // planInpaint's feathered mask is made for soft denoising; the recipe records the mode that ran.
  const request: GenerateRequest = asked.inpaint && asked.mask !== undefined ? { ...asked, maskMode: asked.maskMode ?? 'soft' } : asked;
  const deps = { ort, model: run.model, controlNet: run.controlNet, poseDetector: sharedPoseDetector, adapters: run.adapters, signal: run.signal, previewEvery: run.previewEvery ?? 1, onProgress: run.onProgress };
  // Decided for the size the pipeline runs at: the context crop's model size on the inpaint path.
  const tiling = (width: number, height: number) => {
    const vaeTiling = run.memoryBudget === undefined ? undefined : vaeTilingFor(width, height, request.initImage !== undefined, run.memoryBudget);
    return vaeTiling ? { vaeTiling } : {};
  };
  let images: RasterImage[];
  if (request.inpaint && request.initImage !== undefined && request.mask !== undefined) {
    const original = await run.image(request.initImage);
    const selection = maskFromImage(await run.image(request.mask));
    // The request's size bounds the model resolution the context crop is scaled to.
    const sides = { minSide: Math.min(request.width, request.height), maxSide: Math.max(request.width, request.height), multiple: familyOf(run.model).resolution.multiple };
    const plan = await planInpaint(original, selection, request.strength, request.inpaint, sides);
    const { initImage, mask } = request;
    const atModel = { ...request, width: plan.transform.model.width, height: plan.transform.model.height };
    const result = await generateFromRequest(atModel, { ...deps, ...tiling(atModel.width, atModel.height), image: async (id) => (id === mask ? plan.mask : id === initImage ? plan.image : run.image(id)) });
    images = await Promise.all(result.images.map(async (generated) => applyPatch(original, await compositeInpaint(plan, original, generated))));
  } else {
    images = (await generateFromRequest(request, { ...deps, ...tiling(request.width, request.height), image: run.image })).images;
  }
  const loraHashes: Record<string, string> = {};
  if (run.adapters) for (const { name } of requestLoras(request).loras) loraHashes[name] = await run.adapters.loraHash(name);
  const context = { modelName: run.model.name, modelHash: run.modelHash, ...(run.model.family ? { modelFamily: run.model.family } : {}), version: `Kirie ${run.version}`, loraHashes };
  return images.map((image, i) => withText(encodePng(image), recipeText(request, i, context)));
}
