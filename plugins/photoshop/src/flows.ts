// The panel's three actions as plain logic over the host adapter and the shared client. Everything is
// read first, the generation runs with Photoshop free to use, and only a finished result touches the
// document: one new masked layer in one history step. A failure before that changes nothing.
import type { KirieApi } from '@kirie/core/client/client';
import { maskFromImage } from '@kirie/core/image/masks';
import type { RasterImage } from '@kirie/core/image/png';
import type { JobHooks } from '../../shared/src/job.js';
import { poseControlModel, repaint, type RepaintInput } from '../../shared/src/repaint.js';
import { layerName, type PanelOptions, prepareRequest } from '../../shared/src/settings.js';
import { NoSelectionError, onCanvas, type PhotoshopHost } from './host.js';

export interface FlowResult {
  layerId: number;
  layerName: string;
  seed: number;
}

/** Generates new content for the selection (strength 1 unless set): an inpainting fill. */
export async function fillSelection(host: PhotoshopHost, client: KirieApi, options: PanelOptions, hooks: JobHooks = {}): Promise<FlowResult> {
  return fill(host, client, options, {}, hooks);
}

/** Like fillSelection, with an OpenPose skeleton placed into the selection guiding a ControlNet. */
export async function poseFill(host: PhotoshopHost, client: KirieApi, options: PanelOptions, poseJson: unknown, hooks: JobHooks = {}): Promise<FlowResult> {
  const controlModel = await poseControlModel(client);
  return fill(host, client, options, { pose: { json: poseJson, controlModel } }, hooks);
}

/** Like poseFill, the poses taken from a reference photo: the bridge finds the people in it (openpose preprocessor). */
export async function posePhotoFill(host: PhotoshopHost, client: KirieApi, options: PanelOptions, photo: RasterImage, hooks: JobHooks = {}): Promise<FlowResult> {
  const controlModel = await poseControlModel(client);
  return fill(host, client, options, { posePhoto: { photo, controlModel } }, hooks);
}

async function fill(host: PhotoshopHost, client: KirieApi, options: PanelOptions, guide: Pick<RepaintInput, 'pose' | 'posePhoto'>, hooks: JobHooks): Promise<FlowResult> {
  const prepared = prepareRequest(options, 1);
  const doc = await host.call('readDocument', {});
  const selection = await host.call('readSelection', { documentId: doc.id });
  const image = await host.call('readComposite', { documentId: doc.id });
  return place(host, client, doc.id, prepared.label, { image, selection, strength: prepared.strength, mode: 'inpaint', request: prepared.request, inpaint: prepared.inpaint, ...guide }, hooks);
}

/**
 * Reworks the active layer's own pixels (strength 0.6 unless set or styled). The selection limits the
 * change when there is one; otherwise the layer's alpha does.
 */
export async function img2imgLayer(host: PhotoshopHost, client: KirieApi, options: PanelOptions, hooks: JobHooks = {}): Promise<FlowResult> {
  const prepared = prepareRequest(options, 0.6);
  const doc = await host.call('readDocument', {});
  if (doc.activeLayerId === null) throw new Error('select the layer to restyle in the Layers panel');
  const layer = await host.call('readLayerPixels', { documentId: doc.id, layerId: doc.activeLayerId });
  const image = onCanvas(layer.image, layer.bounds, doc);
  const selection = await host.call('readSelection', { documentId: doc.id }).catch((err: unknown) => {
    if (err instanceof NoSelectionError) return maskFromImage(layer.image, layer.bounds.x, layer.bounds.y);
    throw err;
  });
  return place(host, client, doc.id, prepared.label, { image, selection, strength: prepared.strength, mode: 'img2img', request: prepared.request, inpaint: prepared.inpaint }, hooks);
}

async function place(host: PhotoshopHost, client: KirieApi, documentId: number, label: string, input: RepaintInput, hooks: JobHooks): Promise<FlowResult> {
  const { patch, seed } = await repaint(client, input, hooks);
  const name = layerName(label);
  const { layerId } = await host.call('createLayerWithPixels', { documentId, name, bounds: patch.bounds, pixels: patch.image, mask: { width: patch.image.width, height: patch.image.height, channels: 1, data: maskFromImage(patch.image).data } });
  return { layerId, layerName: name, seed };
}
