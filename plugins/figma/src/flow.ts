// The UI's actions, as plain logic: restyle a frame with a style preset (img2img of the whole frame), or,
// when the frame holds a shape named "mask", repaint just that region; remake a result from its recipe.
// The result goes back to the main thread as a PNG patch and lands as a new layer above the frame.
import type { KirieApi } from '@kirie/core/client/client';
import { type MannequinScene, projectScene } from '@kirie/core/control/mannequin';
import { cropPose, type PoseDocument, toPoseJson } from '@kirie/core/control/openpose';
import { poseFromJoints } from '@kirie/core/control/skeleton';
import { bounds } from '@kirie/core/image/bounds';
import { type CanvasMask, maskFromImage, nonZeroBounds } from '@kirie/core/image/masks';
import { decodePng, encodePng, type RasterImage } from '@kirie/core/image/png';
import type { JobHooks } from '../../shared/src/job.js';
import { poseControlModel, type PoseGuide, repaint } from '../../shared/src/repaint.js';
import { layerName, type PanelOptions, prepareForBridge } from '../../shared/src/settings.js';
import { type FigmaRecipe, recipeFor } from './recipe.js';
import type { PoseRead } from './messages.js';
import type { MainRpc } from './rpc.js';

export interface FrameResult {
  nodeId: string;
  name: string;
  seed: number;
  mode: 'style' | 'mask';
  recipe: FigmaRecipe;
}

/** What guides a fill: the skeletons placed on the frame ("Add pose"), or a 3-D mannequin scene seen on the frame. */
export type PoseSource = { from: 'skeleton' } | { from: 'mannequin'; scene: MannequinScene };

const raster = (png: Uint8Array): RasterImage => {
  const { width, height, channels, data } = decodePng(png);
  return { width, height, channels, data };
};

/** Restyles the selected frame, or the frame `frameId` names (a recipe's source). */
export function restyleFrame(rpc: MainRpc, client: KirieApi, options: PanelOptions, hooks: JobHooks = {}, frameId?: string): Promise<FrameResult> {
  return generateOnFrame(rpc, client, options, hooks, frameId, null);
}

/**
 * Like restyleFrame, guided by the skeletons placed on the frame ("Add pose") through an OpenPose
 * ControlNet; the skeletons are left out of the picture the model sees.
 */
export function poseFill(rpc: MainRpc, client: KirieApi, options: PanelOptions, hooks: JobHooks = {}, frameId?: string): Promise<FrameResult> {
  return generateOnFrame(rpc, client, options, hooks, frameId, { from: 'skeleton' });
}

/**
 * Like restyleFrame, guided by a 3-D mannequin scene: its camera sees the frame's exported image (the
 * editor shows the same aspect), its figures' keypoints go to the OpenPose ControlNet.
 */
export function mannequinFill(rpc: MainRpc, client: KirieApi, options: PanelOptions, scene: MannequinScene, hooks: JobHooks = {}, frameId?: string): Promise<FrameResult> {
  return generateOnFrame(rpc, client, options, hooks, frameId, { from: 'mannequin', scene });
}

async function generateOnFrame(rpc: MainRpc, client: KirieApi, options: PanelOptions, hooks: JobHooks, frameId: string | undefined, source: PoseSource | null): Promise<FrameResult> {
  const frame = await rpc.readFrame(frameId);
  const skeleton = source?.from === 'skeleton' ? await rpc.readPose(frame.frameId) : null;
  const controlModel = source ? await poseControlModel(client) : null;
  const image = raster(frame.png);
  if (image.channels < 3) throw new Error(`the frame exported as a ${image.channels}-channel PNG; expected RGB(A)`);
  const masked = frame.mask !== undefined;
  const mode = masked ? 'mask' : 'style';
  const prepared = await prepareForBridge(client, options, masked ? 1 : 0.75);
  const selection = frame.mask
    ? shapeCoverage(maskFromImage(raster(frame.mask.png), frame.mask.x, frame.mask.y))
    : { bounds: bounds(0, 0, image.width, image.height), data: new Uint8Array(image.width * image.height).fill(255) };
  // Restyling the whole frame has no surroundings to fill a hole from: keep its pixels at any strength.
  const inpaint = masked ? prepared.inpaint : { ...prepared.inpaint, prefill: 'none' as const };
  const area = nonZeroBounds(selection.data, selection.bounds);
  const framePose = source?.from === 'mannequin' ? projectScene(source.scene, image.width, image.height) : skeleton ? poseOnExport(skeleton, frame.origin, image) : null;
  // repaint fits a pose into the selection's bounds: the pose goes on the selected area's own canvas.
  const pose: PoseGuide | undefined = framePose && controlModel ? { json: toPoseJson(cropPose(framePose, area)), controlModel } : undefined;
  const { patch, seed } = await repaint(client, { image, selection, strength: prepared.strength, mode: masked ? 'inpaint' : 'img2img', request: prepared.request, inpaint, ...(pose ? { pose } : {}) }, hooks);
  const name = `${layerName(prepared.label)} · seed ${seed}`;
  const recipe = recipeFor(frame.frameId, mode, options, seed, source);
  const { nodeId } = await rpc.place({ frameId: frame.frameId, name, png: encodePng(patch.image), origin: frame.origin, bounds: patch.bounds, recipe: JSON.stringify(recipe) });
  return { nodeId, name, seed, mode, recipe };
}

/** "Remake": the recipe as it is, seed included. "Variations": the same with a new random seed. */
export function remake(rpc: MainRpc, client: KirieApi, recipe: FigmaRecipe, kind: 'remake' | 'variation', hooks: JobHooks = {}): Promise<FrameResult> {
  const { seed, ...rest } = recipe.options;
  const source: PoseSource | null = recipe.mannequin ? { from: 'mannequin', scene: recipe.mannequin } : recipe.pose ? { from: 'skeleton' } : null;
  return generateOnFrame(rpc, client, kind === 'remake' ? { ...rest, seed } : rest, hooks, recipe.frameId, source);
}

/** The frame's skeletons on the exported image, whose top-left lies `origin` from the frame's. */
function poseOnExport(pose: PoseRead, origin: { x: number; y: number }, exported: { width: number; height: number }): PoseDocument {
  return cropPose(poseFromJoints(pose.people, pose.width, pose.height), { x: origin.x, y: origin.y, width: exported.width, height: exported.height });
}

/** A mask shape's alpha as the selection; the core treats a see-through shape as fully selected. */
function shapeCoverage(mask: CanvasMask): CanvasMask {
  if (!mask.data.some((v) => v > 0)) throw new Error('the shape named "mask" renders fully transparent: give it a visible fill');
  return mask;
}
