// The one generation path both hosts share: a whole-canvas image and a soft selection go through the
// core's planInpaint (context crop, model size, masks), the crop travels to the bridge, and the result
// comes back through compositeInpaint as an RGBA patch for the host to place. No crop or mask math here.
import type { KirieApi } from '@kirie/core/client/client';
import type { GenerateRequestInput } from '@kirie/core/client/protocol';
import { parsePoseJson, placePose, toPoseJson } from '@kirie/core/control/openpose';
import { intersect, isEmpty } from '@kirie/core/image/bounds';
import { compositeInpaint, type InpaintPatch, type InpaintPlan, planInpaint } from '@kirie/core/image/inpaint';
import { type CanvasMask, nonZeroBounds } from '@kirie/core/image/masks';
import type { InpaintOptionsInput } from '@kirie/core/image/options';
import { encodePng, type RasterImage } from '@kirie/core/image/png';
import { type JobHooks, runJob } from './job.js';

/** inpaint: the bridge repaints under the mask; img2img: it reworks the whole crop, the blend mask keeps it in place. */
export type RepaintMode = 'inpaint' | 'img2img';

export type BaseRequest = Omit<GenerateRequestInput, 'width' | 'height' | 'initImage' | 'mask' | 'strength' | 'inpaint' | 'control'>;

export interface PoseGuide {
  /** OpenPose JSON (object or text); placed, aspect kept, into the selection's bounds. */
  json: unknown;
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
}

export interface RepaintResult {
  patch: InpaintPatch;
  plan: InpaintPlan;
  seed: number;
}

export async function repaint(client: KirieApi, input: RepaintInput, hooks: JobHooks = {}): Promise<RepaintResult> {
  const plan = await planInpaint(input.image, input.selection, input.strength, input.inpaint ?? {});
  const { model } = plan.transform;
  // Checked before anything is uploaded: a bad pose costs no round trip.
  const control = input.pose ? [poseUnit(input.pose, input.selection, plan)] : undefined;
  const initImage = (await client.uploadImage(encodePng(plan.image))).id;
  const mask = input.mode === 'inpaint' ? (await client.uploadImage(encodePng(plan.mask))).id : undefined;
  const request: GenerateRequestInput = {
    ...input.request,
    width: model.width,
    height: model.height,
    strength: input.strength,
    initImage,
    ...(mask ? { mask } : {}),
    ...(control ? { control } : {}),
  };
  const { image: generated, seed } = await runJob(client, request, hooks);
  if (generated.width !== model.width || generated.height !== model.height) {
    throw new Error(`the bridge returned a ${generated.width}×${generated.height} image for a ${model.width}×${model.height} request`);
  }
  return { patch: await compositeInpaint(plan, input.image, generated), plan, seed };
}

/** The pose, scaled into the selection's bounds as they appear in the model's frame. */
function poseUnit(pose: PoseGuide, selection: CanvasMask, plan: InpaintPlan): NonNullable<GenerateRequestInput['control']>[number] {
  const selected = intersect(nonZeroBounds(selection.data, selection.bounds), plan.transform.context);
  if (isEmpty(selected)) throw new Error('the selection is empty: a pose needs an area to go into');
  const { context, model, scaleX, scaleY } = plan.transform;
  const doc = parsePoseJson(pose.json, { width: selected.width, height: selected.height });
  if (doc.people.length === 0) throw new Error('the pose JSON has no people in it');
  const rect = { x: (selected.x - context.x) * scaleX, y: (selected.y - context.y) * scaleY, width: selected.width * scaleX, height: selected.height * scaleY };
  return { model: pose.controlModel, pose: { ...toPoseJson(placePose(doc, rect, model.width, model.height)) }, ...(pose.scale !== undefined ? { scale: pose.scale } : {}) };
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
