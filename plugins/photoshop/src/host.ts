// The Photoshop adapter: every call into UXP's `photoshop` module happens here, behind a small typed
// RPC map (one {params, result} per action, as sd-ppp does). Reads convert to 8-bit sRGB RGB(A) and
// always dispose the image data; the one write puts a new pixel layer, masked, as ONE history step and
// rolls everything back if any part of it fails.
import { bounds, type Bounds } from '@kirie/core/image/bounds';
import type { CanvasMask } from '@kirie/core/image/masks';
import type { RasterImage } from '@kirie/core/image/png';
import { cropPlane } from '@kirie/core/image/raster';
import type { PhotoshopModule, PsBounds, PsDocument, PsExecutionContext, PsImageData, PsPixels } from './photoshop-api.js';

/** Models are trained on sRGB; Photoshop converts from and to the document's own profile. */
export const WORKING_PROFILE = 'sRGB IEC61966-2.1';
const GRAY_PROFILE = 'Gray Gamma 2.2';

export interface DocumentInfo {
  id: number;
  title: string;
  width: number;
  height: number;
  activeLayerId: number | null;
  layerCount: number;
}

export interface LayerPixels {
  layerId: number;
  /** Where the pixels lie in canvas coordinates; may reach past the canvas. */
  bounds: Bounds;
  /** RGBA at bounds' size. */
  image: RasterImage;
}

export interface NewLayer {
  documentId: number;
  name: string;
  /** Canvas rectangle the pixels and mask cover. */
  bounds: Bounds;
  /** RGB(A) at bounds' size; written opaque, the mask decides what shows. */
  pixels: RasterImage;
  /** L at bounds' size: the layer mask inside bounds (outside, the layer has no pixels). */
  mask: RasterImage;
}

/** The document has no selection; flows that can do without one catch exactly this. */
export class NoSelectionError extends Error {
  constructor(title: string) {
    super(`nothing is selected in "${title}": make a selection (marquee, lasso, Select Subject) first`);
    this.name = 'NoSelectionError';
  }
}

export interface HostActions {
  readDocument: { params: Record<string, never>; result: DocumentInfo };
  readSelection: { params: { documentId: number }; result: CanvasMask };
  readComposite: { params: { documentId: number }; result: RasterImage };
  readLayerPixels: { params: { documentId: number; layerId: number }; result: LayerPixels };
  createLayerWithPixels: { params: NewLayer; result: { layerId: number } };
}

export type HostAction = keyof HostActions;

export interface PhotoshopHost {
  call<A extends HostAction>(action: A, params: HostActions[A]['params']): Promise<HostActions[A]['result']>;
}

type Handlers = { [A in HostAction]: (params: HostActions[A]['params']) => Promise<HostActions[A]['result']> };

export function createPhotoshopHost(ps: PhotoshopModule): PhotoshopHost {
  // Reading pixels is done in a (short) modal scope too: it keeps the document from changing mid-read,
  // and Photoshop versions differ on whether the imaging API may be called outside one.
  const reading = <T>(what: string, read: () => Promise<T>): Promise<T> => modal(ps, `Kirie: reading ${what}`, () => read());
  const handlers: Handlers = {
    readDocument: async () => {
      const doc = ps.app.activeDocument;
      if (!doc) throw new Error('no document is open: open or create one first');
      checkMode(doc);
      return { id: doc.id, title: doc.title, width: doc.width, height: doc.height, activeLayerId: doc.activeLayers[0]?.id ?? null, layerCount: doc.layers.length };
    },
    readSelection: async ({ documentId }) => {
      const doc = documentById(ps, documentId);
      // Photoshop rejects getSelection when the document has no selection at all.
      const read = await reading('the selection', () => ps.imaging.getSelection({ documentID: documentId }).catch(() => null));
      if (!read) throw new NoSelectionError(doc.title);
      const mask = await pixelsOf(read, 1);
      if (!mask.data.some((v) => v !== 0)) throw new NoSelectionError(doc.title);
      return { bounds: mask.bounds, data: mask.data };
    },
    readComposite: async ({ documentId }) => {
      const doc = documentById(ps, documentId);
      const read = await reading('the document', () => ps.imaging.getPixels({ documentID: documentId, colorSpace: 'RGB', colorProfile: WORKING_PROFILE, componentSize: 8 }));
      const { bounds: b, data, channels } = await pixelsOf(read);
      if (b.x === 0 && b.y === 0 && b.width === doc.width && b.height === doc.height) return { width: b.width, height: b.height, channels, data };
      // Trimmed to where there are pixels: lay it on a transparent canvas.
      return onCanvas({ width: b.width, height: b.height, channels, data }, b, doc);
    },
    readLayerPixels: async ({ documentId, layerId }) => {
      const doc = documentById(ps, documentId);
      const layer = doc.layers.find((l) => l.id === layerId);
      if (!layer) throw new Error(`layer ${layerId} is not in "${doc.title}"`);
      const read = await reading(`layer "${layer.name}"`, () =>
        ps.imaging.getPixels({ documentID: documentId, layerID: layerId, colorSpace: 'RGB', colorProfile: WORKING_PROFILE, componentSize: 8 }).catch((err: Error) => {
          throw new Error(`cannot read the pixels of layer "${layer.name}" (${err.message}): pick a pixel layer that is not empty`);
        }),
      );
      const { bounds: b, data, channels } = await pixelsOf(read);
      return { layerId, bounds: b, image: toRgba({ width: b.width, height: b.height, channels, data }) };
    },
    createLayerWithPixels: async (layer) => {
      const doc = documentById(ps, layer.documentId);
      checkPatch(layer);
      const { bounds: b } = layer;
      return modal(
        ps,
        layer.name,
        async (context) => {
          const suspension = await context.hostControl.suspendHistory({ documentID: doc.id, name: layer.name });
          try {
            const created = await doc.createPixelLayer({ name: layer.name });
            if (!created) throw new Error('Photoshop did not create the layer');
            const pixels = await ps.imaging.createImageDataFromBuffer(opaque(layer.pixels), { width: b.width, height: b.height, components: 4, colorSpace: 'RGB', colorProfile: WORKING_PROFILE });
            await disposing(pixels, () => ps.imaging.putPixels({ documentID: doc.id, layerID: created.id, imageData: pixels, targetBounds: { left: b.x, top: b.y } }));
            // A new layer has no mask to put pixels into: make one that reveals all, then write ours into it.
            await ps.action.batchPlay(
              [{ _obj: 'make', new: { _class: 'channel' }, at: { _ref: 'channel', _enum: 'channel', _value: 'mask' }, using: { _enum: 'userMaskEnabled', _value: 'revealAll' } }],
              {},
            );
            const mask = await ps.imaging.createImageDataFromBuffer(layer.mask.data, { width: b.width, height: b.height, components: 1, chunky: false, colorSpace: 'Grayscale', colorProfile: GRAY_PROFILE });
            await disposing(mask, () => ps.imaging.putLayerMask({ documentID: doc.id, layerID: created.id, kind: 'user', imageData: mask, replace: false, targetBounds: { left: b.x, top: b.y } }));
            await context.hostControl.resumeHistory(suspension, true);
            return { layerId: created.id };
          } catch (err) {
            await context.hostControl.resumeHistory(suspension, false);
            throw err;
          }
        },
      );
    },
  };
  return {
    call: (action, params) => (handlers[action] as (p: typeof params) => Promise<HostActions[typeof action]['result']>)(params),
  };
}

/** executeAsModal, with its "another plugin is modal" rejection (error number 9) said plainly. */
async function modal<T>(ps: PhotoshopModule, commandName: string, target: (context: PsExecutionContext) => Promise<T>): Promise<T> {
  try {
    return await ps.core.executeAsModal(target, { commandName });
  } catch (err) {
    if ((err as { number?: number }).number === 9) throw new Error('Photoshop is busy with another plugin or a dialog (modal state): finish that, then try again');
    throw err;
  }
}

function checkMode(doc: PsDocument): void {
  if (!/rgb/i.test(doc.mode)) throw new Error(`"${doc.title}" is in ${doc.mode}: Kirie works on RGB documents (Image ▸ Mode ▸ RGB Color)`);
}

function documentById(ps: PhotoshopModule, id: number): PsDocument {
  const doc = ps.app.documents.find((d) => d.id === id);
  if (!doc) throw new Error('the document was closed while Kirie was working on it');
  return doc;
}

function checkPatch({ bounds: b, pixels, mask }: NewLayer): void {
  if (b.width < 1 || b.height < 1) throw new Error(`cannot create a layer of ${b.width}×${b.height} pixels`);
  if (pixels.width !== b.width || pixels.height !== b.height || pixels.channels < 3) throw new Error(`layer pixels must be RGB(A) ${b.width}×${b.height}, got ${pixels.width}×${pixels.height}×${pixels.channels}`);
  if (mask.width !== b.width || mask.height !== b.height || mask.channels !== 1) throw new Error(`layer mask must be L ${b.width}×${b.height}, got ${mask.width}×${mask.height}×${mask.channels}`);
}

function boundsOfPs(b: PsBounds): Bounds {
  return bounds(b.left, b.top, b.right - b.left, b.bottom - b.top);
}

/**
 * Reads chunky pixels as 8 bits and always disposes the image data. getPixels honours componentSize: 8,
 * but getSelection has no such option and answers at the document's depth (16-bit: 0..32768).
 */
async function pixelsOf(read: PsPixels, expectComponents?: number): Promise<{ bounds: Bounds; data: Uint8Array; channels: RasterImage['channels'] }> {
  const { imageData } = read;
  try {
    const { components, componentSize, width, height } = imageData;
    if (expectComponents !== undefined && components !== expectComponents) throw new Error(`expected ${expectComponents} component(s) from Photoshop, got ${components}`);
    if (components < 1 || components > 4) throw new Error(`unsupported pixel layout: ${components} components`);
    const raw = await imageData.getData({ chunky: true });
    if (raw.length !== width * height * components) throw new Error(`Photoshop returned ${raw.length} values for ${width}×${height}×${components}`);
    // A copy: dispose() below releases the buffer getData's array may share.
    const data = componentSize === 8 ? Uint8Array.from(raw) : to8Bit(raw, componentSize);
    const b = boundsOfPs(read.sourceBounds);
    if (b.width !== width || b.height !== height) throw new Error(`Photoshop returned ${width}×${height} pixels for a ${b.width}×${b.height} region`);
    return { bounds: b, data, channels: components as RasterImage['channels'] };
  } finally {
    imageData.dispose();
  }
}

function to8Bit(raw: Uint16Array | Float32Array | Uint8Array, componentSize: number): Uint8Array {
  // 16-bit is Photoshop's 0..32768 range; 32-bit is float 0..1 (HDR values beyond are clamped).
  const scale = componentSize === 16 ? 255 / 32768 : 255;
  return Uint8Array.from(raw, (v) => Math.round(Math.min(255, Math.max(0, v * scale))));
}

async function disposing<T>(data: PsImageData, use: () => Promise<T>): Promise<T> {
  try {
    return await use();
  } finally {
    data.dispose();
  }
}

function toRgba(image: RasterImage): RasterImage {
  if (image.channels === 4) return image;
  if (image.channels !== 3) throw new Error(`expected RGB(A) pixels, got ${image.channels} channel(s)`);
  const n = image.width * image.height;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    out.set(image.data.subarray(i * 3, i * 3 + 3), i * 4);
    out[i * 4 + 3] = 255;
  }
  return { width: image.width, height: image.height, channels: 4, data: out };
}

function opaque(image: RasterImage): Uint8Array {
  const rgba = toRgba(image).data.slice();
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  return rgba;
}

/** Pixels at `at` (canvas coordinates, possibly partly off-canvas) on a transparent RGBA canvas. */
export function onCanvas(image: RasterImage, at: Bounds, canvas: { width: number; height: number }): RasterImage {
  return { width: canvas.width, height: canvas.height, channels: 4, data: cropPlane(toRgba(image).data, at, bounds(0, 0, canvas.width, canvas.height), 4) };
}
