// The one generation path both hosts share: a whole-canvas image and a soft selection go through the
// core's planInpaint (context crop, model size, masks), the crop travels to the bridge, and the result
// comes back through compositeInpaint as an RGBA patch for the host to place. No crop or mask math here.
import type { KirieApi } from '@kirie/core/client/client';
import type { GenerateRequestInput, ModelInfo } from '@kirie/core/client/protocol';
import { parsePoseJson, placePose, type Rect, toPoseJson } from '@kirie/core/control/openpose';
import { toRgb } from '@kirie/core/control/preprocess';
import { type Bounds, intersect, isEmpty } from '@kirie/core/image/bounds';
import { compositeInpaint, type InpaintPatch, type InpaintPlan, planInpaint } from '@kirie/core/image/inpaint';
import { type CanvasMask, nonZeroBounds } from '@kirie/core/image/masks';
import type { InpaintOptionsInput } from '@kirie/core/image/options';
import { type FamilyId, resolutionFor } from '@kirie/core/models/family';
import { encodePng, type RasterImage } from '@kirie/core/image/png';
import { resizeImage } from '@kirie/core/image/resize';
import { type JobHooks, runJob } from './job.js';
import { fastUnavailable } from './fast.js';

/** inpaint: the bridge repaints under the mask; img2img: it reworks the whole crop, the blend mask keeps it in place. */
export type RepaintMode = 'inpaint' | 'img2img';

export type BaseRequest = Omit<GenerateRequestInput, 'width' | 'height' | 'initImage' | 'mask' | 'maskMode' | 'strength' | 'inpaint' | 'control'>;

export interface PoseGuide {
  /** OpenPose JSON (object or text); placed, aspect kept, into the selection's bounds. */
  json: unknown;
  /** ControlNet model id on the bridge. */
  controlModel: string;
  scale?: number;
}

export interface PhotoPoseGuide {
  /** A reference photo of the people whose poses the fill takes; the bridge detects them (openpose preprocessor). */
  photo: RasterImage;
  /** Also draw hands and face (openpose_full). */
  full?: boolean;
  /** ControlNet model id on the bridge. */
  controlModel: string;
  scale?: number;
}

export interface RepaintInput {
  /** The whole canvas, RGB or RGBA. */
  image: RasterImage;
  selection: CanvasMask;
  strength: number;
  mode: RepaintMode;
  request: BaseRequest;
  inpaint?: InpaintOptionsInput;
  pose?: PoseGuide;
  posePhoto?: PhotoPoseGuide;
}

export interface RepaintResult {
  patch: InpaintPatch;
  plan: InpaintPlan;
  seed: number;
}

/**
 * The family the bridge lists the request's model with (undefined for ONNX folders): it sets the sides the
 * model generates well at and the settings styles recommend. 'default' is the bridge's first checkpoint, as
 * its registry resolves it.
 */
export async function modelFamily(client: KirieApi, model: string | undefined): Promise<FamilyId | undefined> {
  return (await bridgeModel(client, model))?.family;
}

/** The request's model as the bridge lists it; 'default' (or none) is its first checkpoint, as its registry resolves it. */
async function bridgeModel(client: KirieApi, model: string | undefined): Promise<ModelInfo | undefined> {
  const models = await client.models();
  const id = model ?? 'default';
  return id === 'default' ? models.find((m) => m.kind === 'checkpoint' || m.kind === 'onnx') : models.find((m) => m.id === id);
}

export async function repaint(client: KirieApi, input: RepaintInput, hooks: JobHooks = {}): Promise<RepaintResult> {
  // SD1.x 512–768, SDXL 1024–1536 in multiples of 64.
  const info = await bridgeModel(client, input.request.model);
  const resolution = resolutionFor(info?.family);
  const plan = await planInpaint(input.image, input.selection, input.strength, input.inpaint ?? {}, resolution);
  const { model } = plan.transform;
  if (input.pose && input.posePhoto) throw new Error('a fill takes a pose or a reference photo, not both');
  // Said before anything is uploaded, in the panel's words rather than the bridge's field path.
  const noFast = input.request.acceleration ? fastUnavailable({ control: !!(input.pose || input.posePhoto), ...(info ? { modelKind: info.kind } : {}) }) : undefined;
  if (noFast) throw new Error(noFast);
  // Checked before anything is uploaded: a bad pose costs no round trip.
  const control = input.pose ? [poseUnit(input.pose, input.selection, plan)] : input.posePhoto ? [await photoUnit(client, input.posePhoto, input.selection, plan)] : undefined;
  const initImage = (await client.uploadImage(encodePng(plan.image))).id;
  const mask = input.mode === 'inpaint' ? (await client.uploadImage(encodePng(plan.mask))).id : undefined;
  const request: GenerateRequestInput = {
    ...input.request,
    width: model.width,
    height: model.height,
    strength: input.strength,
    initImage,
    // planInpaint's mask is feathered: its grey levels mean partial denoising, not a cut at 50 %.
    ...(mask ? { mask, maskMode: 'soft' as const } : {}),
    ...(control ? { control } : {}),
  };
  const { image: generated, seed } = await runJob(client, request, hooks);
  if (generated.width !== model.width || generated.height !== model.height) {
    throw new Error(`the bridge returned a ${generated.width}×${generated.height} image for a ${model.width}×${model.height} request`);
  }
  return { patch: await compositeInpaint(plan, input.image, generated), plan, seed };
}

type Unit = NonNullable<GenerateRequestInput['control']>[number];

/** The selection's bounds on the canvas, and as they appear in the model's frame (where a pose goes). */
function selectedRect(selection: CanvasMask, plan: InpaintPlan): { selected: Bounds; rect: Rect } {
  const selected = intersect(nonZeroBounds(selection.data, selection.bounds), plan.transform.context);
  if (isEmpty(selected)) throw new Error('the selection is empty: a pose needs an area to go into');
  const { context, scaleX, scaleY } = plan.transform;
  return { selected, rect: { x: (selected.x - context.x) * scaleX, y: (selected.y - context.y) * scaleY, width: selected.width * scaleX, height: selected.height * scaleY } };
}

/** The pose, scaled into the selection's bounds as they appear in the model's frame. */
function poseUnit(pose: PoseGuide, selection: CanvasMask, plan: InpaintPlan): Unit {
  const { selected, rect } = selectedRect(selection, plan);
  const { model } = plan.transform;
  const doc = parsePoseJson(pose.json, { width: selected.width, height: selected.height });
  if (doc.people.length === 0) throw new Error('the pose JSON has no people in it');
  return { model: pose.controlModel, pose: { ...toPoseJson(placePose(doc, rect, model.width, model.height)) }, ...(pose.scale !== undefined ? { scale: pose.scale } : {}) };
}

/**
 * The photo, aspect kept, centred in the selection's bounds on a black model-size canvas: the bridge
 * detects the people there, so their poses land in the selection as a skeleton's would.
 */
async function photoUnit(client: KirieApi, guide: PhotoPoseGuide, selection: CanvasMask, plan: InpaintPlan): Promise<Unit> {
  const { rect } = selectedRect(selection, plan);
  const { model } = plan.transform;
  const photo = toRgb(guide.photo);
  const k = Math.min(rect.width / photo.width, rect.height / photo.height);
  const fitted = await resizeImage(photo, { width: Math.max(1, Math.round(photo.width * k)), height: Math.max(1, Math.round(photo.height * k)) });
  const canvas = new Uint8Array(model.width * model.height * 3);
  const left = Math.round(rect.x + (rect.width - fitted.width) / 2);
  const top = Math.round(rect.y + (rect.height - fitted.height) / 2);
  for (let y = Math.max(0, top); y < Math.min(model.height, top + fitted.height); y++) {
    const x0 = Math.max(0, left);
    const x1 = Math.min(model.width, left + fitted.width);
    if (x1 > x0) canvas.set(fitted.data.subarray(((y - top) * fitted.width + x0 - left) * 3, ((y - top) * fitted.width + x1 - left) * 3), (y * model.width + x0) * 3);
  }
  const image = (await client.uploadImage(encodePng({ width: model.width, height: model.height, channels: 3, data: canvas }))).id;
  return { model: guide.controlModel, image, preprocessor: { type: 'openpose', full: !!guide.full }, ...(guide.scale !== undefined ? { scale: guide.scale } : {}) };
}

/** The bridge's OpenPose ControlNet: one whose name says pose, else the only ControlNet there is. */
export async function poseControlModel(client: KirieApi): Promise<string> {
  const nets = (await client.models()).filter((m) => m.kind === 'controlnet');
  const pose = nets.find((m) => /pose/i.test(`${m.id} ${m.name} ${m.file}`)) ?? (nets.length === 1 ? nets[0] : undefined);
  if (!pose) {
    const known = nets.length ? ` (it has ${nets.map((m) => m.name).join(', ')})` : '';
    throw new Error(`the bridge has no OpenPose ControlNet${known}: add e.g. control_v11p_sd15_openpose to its models folder`);
  }
  return pose.id;
}
