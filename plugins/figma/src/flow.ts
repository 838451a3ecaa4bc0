// The UI's actions, as plain logic: restyle a frame with a style preset (img2img of the whole frame), or,
// when the frame holds a shape named "mask", repaint just that region; remake a result from its recipe.
// The result goes back to the main thread as a PNG patch and lands as a new layer above the frame.
import type { KirieApi } from '@kirie/core/client/client';
import { bounds } from '@kirie/core/image/bounds';
import { type CanvasMask, maskFromImage } from '@kirie/core/image/masks';
import { decodePng, encodePng, type RasterImage } from '@kirie/core/image/png';
import type { JobHooks } from '../../shared/src/job.js';
import { repaint } from '../../shared/src/repaint.js';
import { layerName, type PanelOptions, prepareRequest } from '../../shared/src/settings.js';
import { type FigmaRecipe, recipeFor } from './recipe.js';
import type { MainRpc } from './rpc.js';

export interface FrameResult {
  nodeId: string;
  name: string;
  seed: number;
  mode: 'style' | 'mask';
  recipe: FigmaRecipe;
}

const raster = (png: Uint8Array): RasterImage => {
  const { width, height, channels, data } = decodePng(png);
  return { width, height, channels, data };
};

/** Restyles the selected frame, or the frame `frameId` names (a recipe's source). */
export async function restyleFrame(rpc: MainRpc, client: KirieApi, options: PanelOptions, hooks: JobHooks = {}, frameId?: string): Promise<FrameResult> {
  const frame = await rpc.readFrame(frameId);
  const image = raster(frame.png);
  if (image.channels < 3) throw new Error(`the frame exported as a ${image.channels}-channel PNG; expected RGB(A)`);
  const masked = frame.mask !== undefined;
  const mode = masked ? 'mask' : 'style';
  const prepared = prepareRequest(options, masked ? 1 : 0.75);
  const selection = frame.mask
    ? shapeCoverage(maskFromImage(raster(frame.mask.png), frame.mask.x, frame.mask.y))
    : { bounds: bounds(0, 0, image.width, image.height), data: new Uint8Array(image.width * image.height).fill(255) };
  // Restyling the whole frame has no surroundings to fill a hole from: keep its pixels at any strength.
  const inpaint = masked ? prepared.inpaint : { ...prepared.inpaint, prefill: 'none' as const };
  const { patch, seed } = await repaint(client, { image, selection, strength: prepared.strength, mode: masked ? 'inpaint' : 'img2img', request: prepared.request, inpaint }, hooks);
  const name = `${layerName(prepared.label)} · seed ${seed}`;
  const recipe = recipeFor(frame.frameId, mode, options, seed);
  const { nodeId } = await rpc.place({ frameId: frame.frameId, name, png: encodePng(patch.image), origin: frame.origin, bounds: patch.bounds, recipe: JSON.stringify(recipe) });
  return { nodeId, name, seed, mode, recipe };
}

/** "Remake": the recipe as it is, seed included. "Variations": the same with a new random seed. */
export function remake(rpc: MainRpc, client: KirieApi, recipe: FigmaRecipe, kind: 'remake' | 'variation', hooks: JobHooks = {}): Promise<FrameResult> {
  const { seed, ...rest } = recipe.options;
  return restyleFrame(rpc, client, kind === 'remake' ? { ...rest, seed } : rest, hooks, recipe.frameId);
}

/** A mask shape's alpha as the selection; the core treats a see-through shape as fully selected. */
function shapeCoverage(mask: CanvasMask): CanvasMask {
  if (!mask.data.some((v) => v > 0)) throw new Error('the shape named "mask" renders fully transparent: give it a visible fill');
  return mask;
}
