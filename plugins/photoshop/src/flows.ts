// The panel's actions as plain logic over the host adapter and the shared client. Everything is read
// first, the generation runs with Photoshop free to use, and only a finished result touches the document:
// one new masked layer in one history step, named with its prompt and seed and carrying its full recipe,
// so Remake and Variations can run it again. A failure before that changes nothing; a result that meets a
// busy Photoshop is kept and placed when the host is free.
import type { KirieApi } from '@kirie/core/client/client';
import { cropPose, parsePoseJson, toPoseJson } from '@kirie/core/control/openpose';
import { poseFromJoints, skeletonFromPose } from '@kirie/core/control/skeleton';
import { containTransform, transformSkeleton } from '@kirie/core/control/skeleton-geometry';
import { type CanvasMask, maskFromImage, nonZeroBounds } from '@kirie/core/image/masks';
import type { RasterImage } from '@kirie/core/image/png';
import type { JobHooks } from '../../shared/src/job.js';
import { poseControlModel, repaint, type RepaintInput } from '../../shared/src/repaint.js';
import { layerName, type PanelOptions, prepareForBridge } from '../../shared/src/settings.js';
import { type DocumentInfo, HostBusyError, NoSelectionError, onCanvas, type PhotoshopHost } from './host.js';

export interface FlowResult {
  layerId: number;
  layerName: string;
  seed: number;
}

export type FlowMode = 'fill' | 'img2img' | 'pose' | 'pose-photo';

/** What a result layer carries in its XMP: enough to run the same generation again. */
export interface LayerRecipe {
  kirie: 1;
  mode: FlowMode;
  /** The options as run, `seed` being the seed the bridge used. */
  options: PanelOptions;
  /** img2img: the layer that was restyled. */
  sourceLayerId?: number;
  /** pose: the skeleton (OpenPose JSON). */
  pose?: unknown;
  /** pose-photo: the reference photo's file name (the pixels are not kept). */
  photoName?: string;
}

export interface FlowHooks extends JobHooks {
  /** Waits (ms) between tries when Photoshop is busy as the result arrives; then ResultNotPlaced. */
  placeRetryMs?: readonly number[];
}

const PLACE_RETRY_MS = [500, 1000, 2000, 4000, 8000];

/**
 * Photoshop stayed in a modal state (a dialog, another plugin) through every try: the result is kept in
 * `place`, which tries again (the panel offers it as "Place result").
 */
export class ResultNotPlaced extends Error {
  constructor(readonly place: () => Promise<FlowResult>) {
    super('the result is ready but Photoshop is busy (a dialog or another plugin is working): close it, then press "Place result"');
    this.name = 'ResultNotPlaced';
  }
}

/** Generates new content for the selection (strength 1 unless set): an inpainting fill. */
export function fillSelection(host: PhotoshopHost, client: KirieApi, options: PanelOptions, hooks: FlowHooks = {}): Promise<FlowResult> {
  return fill(host, client, { kirie: 1, mode: 'fill', options }, {}, hooks);
}

/** Like fillSelection, with an OpenPose skeleton placed into the selection guiding a ControlNet. */
export async function poseFill(host: PhotoshopHost, client: KirieApi, options: PanelOptions, poseJson: unknown, hooks: FlowHooks = {}): Promise<FlowResult> {
  const controlModel = await poseControlModel(client);
  return fill(host, client, { kirie: 1, mode: 'pose', options, pose: poseJson }, { pose: { json: poseJson, controlModel } }, hooks);
}

/** Places a pose (OpenPose JSON, fitted into the canvas, aspect kept) as "Kirie pose N" paths to edit with Photoshop's path tools. */
export async function addPosePaths(host: PhotoshopHost, poseJson: unknown): Promise<string[]> {
  const doc = await host.call('readDocument', {});
  const skeleton = skeletonFromPose(parsePoseJson(poseJson));
  const onCanvas = transformSkeleton(skeleton, containTransform(skeleton, doc), doc.width, doc.height);
  return (await host.call('placePosePaths', { documentId: doc.id, people: onCanvas.people })).names;
}

/** Pose fill with the pose read back from the document's "Kirie pose" paths, as the user edited them. */
export async function posePathsFill(host: PhotoshopHost, client: KirieApi, options: PanelOptions, hooks: FlowHooks = {}): Promise<FlowResult> {
  const doc = await host.call('readDocument', {});
  const read = await host.call('readPosePaths', { documentId: doc.id });
  const selection = await host.call('readSelection', { documentId: doc.id });
  // poseFill fits a pose into the selection's bounds: give it the pose as it lies within them.
  const area = nonZeroBounds(selection.data, selection.bounds);
  const pose = cropPose(poseFromJoints(read.people, read.width, read.height), area);
  return poseFill(host, client, options, toPoseJson(pose), hooks);
}

/** Like poseFill, the poses taken from a reference photo: the bridge finds the people in it (openpose preprocessor). */
export async function posePhotoFill(host: PhotoshopHost, client: KirieApi, options: PanelOptions, photo: { name: string; image: RasterImage }, hooks: FlowHooks = {}): Promise<FlowResult> {
  const controlModel = await poseControlModel(client);
  return fill(host, client, { kirie: 1, mode: 'pose-photo', options, photoName: photo.name }, { posePhoto: { photo: photo.image, controlModel } }, hooks);
}

/**
 * Reworks the active layer's own pixels (strength 0.6 unless set or styled). The selection limits the
 * change when there is one; otherwise the layer's alpha does.
 */
export async function img2imgLayer(host: PhotoshopHost, client: KirieApi, options: PanelOptions, hooks: FlowHooks = {}): Promise<FlowResult> {
  const doc = await host.call('readDocument', {});
  if (doc.activeLayerId === null) throw new Error('select the layer to restyle in the Layers panel');
  return restyle(host, client, doc, { kirie: 1, mode: 'img2img', options, sourceLayerId: doc.activeLayerId }, hooks);
}

/**
 * Runs the recipe of the selected Kirie layer again: `remake` with its seed, `variation` with a new one.
 * Fills go into the current selection, or, with none, into the result layer's own mask; a restyle works on
 * the layer it restyled before. A photo-pose recipe needs the photo picked again (its pixels are not kept).
 */
export async function regenerate(host: PhotoshopHost, client: KirieApi, how: 'remake' | 'variation', photo: { name: string; image: RasterImage } | null, hooks: FlowHooks = {}): Promise<FlowResult> {
  const doc = await host.call('readDocument', {});
  if (doc.activeLayerId === null) throw new Error('select a layer Kirie made (named "Kirie · …") in the Layers panel');
  const raw = await host.call('readLayerRecipe', { documentId: doc.id, layerId: doc.activeLayerId });
  if (raw === null) throw new Error('the selected layer has no Kirie recipe: select a layer Kirie made (named "Kirie · …")');
  const recipe = parseRecipe(raw);
  const { seed, ...unseeded } = recipe.options;
  const again: LayerRecipe = { ...recipe, options: how === 'remake' ? { ...unseeded, ...(seed !== undefined ? { seed } : {}) } : unseeded };
  if (again.mode === 'img2img') {
    if (again.sourceLayerId === undefined) throw new Error('this restyle recipe does not name its source layer');
    return restyle(host, client, { ...doc, activeLayerId: again.sourceLayerId }, again, hooks);
  }
  const ownMask = doc.activeLayerId;
  if (again.mode === 'pose') {
    const controlModel = await poseControlModel(client);
    return fill(host, client, again, { pose: { json: again.pose, controlModel } }, hooks, ownMask);
  }
  if (again.mode === 'pose-photo') {
    if (!photo) throw new Error(`pick the reference photo again (${again.photoName ?? 'its name was not kept'}): Kirie keeps only its name in the layer`);
    const controlModel = await poseControlModel(client);
    return fill(host, client, { ...again, photoName: photo.name }, { posePhoto: { photo: photo.image, controlModel } }, hooks, ownMask);
  }
  return fill(host, client, again, {}, hooks, ownMask);
}

/** Checks a recipe read back from a layer; a hand-edited or foreign one gets a clear message. */
export function parseRecipe(raw: string): LayerRecipe {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error('the layer\'s Kirie recipe is not valid JSON');
  }
  const r = value as Partial<LayerRecipe> | null;
  if (!r || r.kirie !== 1) throw new Error('the layer\'s recipe is not a Kirie recipe (version 1)');
  if (!['fill', 'img2img', 'pose', 'pose-photo'].includes(r.mode as string)) throw new Error(`the layer's recipe has an unknown mode "${String(r.mode)}"`);
  if (!r.options || typeof r.options.prompt !== 'string') throw new Error('the layer\'s recipe has no prompt');
  return r as LayerRecipe;
}

async function fill(host: PhotoshopHost, client: KirieApi, recipe: LayerRecipe, guide: Pick<RepaintInput, 'pose' | 'posePhoto'>, hooks: FlowHooks, maskLayerId?: number): Promise<FlowResult> {
  const prepared = await prepareForBridge(client, recipe.options, 1);
  const doc = await host.call('readDocument', {});
  const selection = await readSelectionOr(host, doc, maskLayerId);
  const image = await host.call('readComposite', { documentId: doc.id });
  return place(host, client, doc.id, prepared.label, recipe, { image, selection, strength: prepared.strength, mode: 'inpaint', request: prepared.request, inpaint: prepared.inpaint, ...guide }, hooks);
}

/** The selection, or with none the mask of `maskLayerId` (a Remake of a fill into its own area). */
async function readSelectionOr(host: PhotoshopHost, doc: DocumentInfo, maskLayerId?: number): Promise<CanvasMask> {
  try {
    return await host.call('readSelection', { documentId: doc.id });
  } catch (err) {
    if (!(err instanceof NoSelectionError) || maskLayerId === undefined) throw err;
    const mask = await host.call('readLayerMask', { documentId: doc.id, layerId: maskLayerId });
    if (!mask) throw err;
    return mask;
  }
}

async function restyle(host: PhotoshopHost, client: KirieApi, doc: DocumentInfo, recipe: LayerRecipe, hooks: FlowHooks): Promise<FlowResult> {
  const prepared = await prepareForBridge(client, recipe.options, 0.6);
  const layer = await host.call('readLayerPixels', { documentId: doc.id, layerId: doc.activeLayerId! });
  const image = onCanvas(layer.image, layer.bounds, doc);
  const selection = await host.call('readSelection', { documentId: doc.id }).catch((err: unknown) => {
    if (err instanceof NoSelectionError) return maskFromImage(layer.image, layer.bounds.x, layer.bounds.y);
    throw err;
  });
  return place(host, client, doc.id, prepared.label, recipe, { image, selection, strength: prepared.strength, mode: 'img2img', request: prepared.request, inpaint: prepared.inpaint }, hooks);
}

async function place(host: PhotoshopHost, client: KirieApi, documentId: number, label: string, recipe: LayerRecipe, input: RepaintInput, hooks: FlowHooks): Promise<FlowResult> {
  const { patch, seed } = await repaint(client, input, hooks);
  const name = `${layerName(label)} · seed ${seed}`;
  const stored: LayerRecipe = { ...recipe, options: { ...recipe.options, seed } };
  const mask = { width: patch.image.width, height: patch.image.height, channels: 1 as const, data: maskFromImage(patch.image).data };
  const create = async (): Promise<FlowResult> => {
    const { layerId } = await host.call('createLayerWithPixels', { documentId, name, bounds: patch.bounds, pixels: patch.image, mask, recipe: JSON.stringify(stored) });
    return { layerId, layerName: name, seed };
  };
  return placeWhenFree(create, hooks.placeRetryMs ?? PLACE_RETRY_MS);
}

/** Tries now and after each wait while Photoshop is busy; then hands the result over to be placed later. */
async function placeWhenFree(create: () => Promise<FlowResult>, waits: readonly number[]): Promise<FlowResult> {
  for (const wait of [0, ...waits]) {
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    try {
      return await create();
    } catch (err) {
      if (!(err instanceof HostBusyError)) throw err;
    }
  }
  throw new ResultNotPlaced(() => placeWhenFree(create, []));
}
