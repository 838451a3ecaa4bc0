// The Photoshop adapter: every call into UXP's `photoshop` module happens here, behind a small typed
// RPC map (one {params, result} per action, as sd-ppp does). Reads convert to 8-bit sRGB RGB(A) and
// always dispose the image data; the one write puts a new pixel layer, masked, at the document's own bit
// depth, with its recipe in the layer's XMP, as ONE history step, into the document and layer named by
// id (whatever the user made active meanwhile), and rolls everything back if any part of it fails.
import { bounds, type Bounds, intersect } from '@kirie/core/image/bounds';
import type { CanvasMask } from '@kirie/core/image/masks';
import type { RasterImage } from '@kirie/core/image/png';
import { cropPlane } from '@kirie/core/image/raster';
import type { PersonSkeleton, PlacedJoint, Point } from '@kirie/core/control/skeleton-geometry';
import { jointsFromMarkers, markersFor, POSE_PATH_NAME, posePathName } from './pose-paths.js';
import type { PhotoshopModule, PsBounds, PsDescriptor, PsDocument, PsExecutionContext, PsImageData, PsImaging, PsLayer, PsPixels, UxpXmp } from './photoshop-api.js';

/** Models are trained on sRGB; Photoshop converts from and to the document's own profile. */
export const WORKING_PROFILE = 'sRGB IEC61966-2.1';
const GRAY_PROFILE = 'Gray Gamma 2.2';

/**
 * The first release build with `require('photoshop').imaging` (24.2 had it only in prerelease builds as
 * `imaging_beta`; the 24.4 changelog moved it to the Beta app as `imaging`) and with `require('uxp').xmp`
 * (UXP 7.2 = Photoshop 25.0, uxp-api versions table). manifest.json's host.minVersion says the same.
 */
export const MIN_PHOTOSHOP = '25.0';
const IMAGING_CALLS = ['getPixels', 'getSelection', 'getLayerMask', 'putPixels', 'putLayerMask', 'createImageDataFromBuffer'] as const;

/** Where the recipe lives in a result layer's XMP. */
export const RECIPE_NS = 'https://kirie.dev/ns/recipe/1.0/';
const RECIPE_PROPERTY = 'recipe';

export interface DocumentInfo {
  id: number;
  title: string;
  width: number;
  height: number;
  /** Bits per channel; 32-bit documents are refused. */
  depth: 8 | 16;
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
  /** Stored in the layer's XMP (metadata.layerXMP) so Remake and Variations can find it again. */
  recipe?: string;
}

/** The document has no selection; flows that can do without one catch exactly this. */
export class NoSelectionError extends Error {
  constructor(title: string) {
    super(`nothing is selected in "${title}": make a selection (marquee, lasso, Select Subject) first`);
    this.name = 'NoSelectionError';
  }
}

/**
 * Photoshop is in a modal state (another plugin's executeAsModal, a dialog, a tool in use): executeAsModal
 * rejects with error number 9. Nothing was changed; the same call can succeed once the host is free.
 */
export class HostBusyError extends Error {
  constructor() {
    super('Photoshop is busy with another plugin or a dialog (modal state): finish that, then try again');
    this.name = 'HostBusyError';
  }
}

export interface HostActions {
  readDocument: { params: Record<string, never>; result: DocumentInfo };
  readSelection: { params: { documentId: number }; result: CanvasMask };
  readComposite: { params: { documentId: number }; result: RasterImage };
  readLayerPixels: { params: { documentId: number; layerId: number }; result: LayerPixels };
  /** The layer's user mask on the canvas, or null when it has none. */
  readLayerMask: { params: { documentId: number; layerId: number }; result: CanvasMask | null };
  /** The recipe a Kirie layer carries in its XMP, or null for any other layer. */
  readLayerRecipe: { params: { documentId: number; layerId: number }; result: string | null };
  createLayerWithPixels: { params: NewLayer; result: { layerId: number } };
  /** One path per person (pose-paths.ts), as one history step; joints in canvas pixels. Returns the paths' names. */
  placePosePaths: { params: { documentId: number; people: PersonSkeleton[] }; result: { names: string[] } };
  /** The joints of every "Kirie pose N" path, in canvas pixels. */
  readPosePaths: { params: { documentId: number }; result: { width: number; height: number; people: PlacedJoint[][] } };
}

/**
 * Path anchors are not in pixels: the UXP PathPoint page gives no unit, and Photoshop scripts convert
 * with 72 / resolution (ExtendScript's PathPointInfo takes points, 1/72 inch). One factor both ways, so a
 * placed pose reads back unchanged whatever it is; where it lands on the canvas needs a device check.
 */
const pointsPerPixel = (doc: PsDocument): number => 72 / doc.resolution;

export type HostAction = keyof HostActions;

export interface PhotoshopHost {
  call<A extends HostAction>(action: A, params: HostActions[A]['params']): Promise<HostActions[A]['result']>;
}

type Handlers = { [A in HostAction]: (params: HostActions[A]['params']) => Promise<HostActions[A]['result']> };

export function createPhotoshopHost(ps: PhotoshopModule, xmp: UxpXmp): PhotoshopHost {
  // Reading pixels is done in a (short) modal scope too: it keeps the document from changing mid-read,
  // and Photoshop versions differ on whether the imaging API may be called outside one.
  const reading = <T>(what: string, read: () => Promise<T>): Promise<T> => modal(ps, `Kirie: reading ${what}`, () => read());
  const handlers: Handlers = {
    readDocument: async () => {
      imagingOf(ps);
      const doc = ps.app.activeDocument;
      if (!doc) throw new Error('no document is open: open or create one first');
      checkMode(doc);
      return { id: doc.id, title: doc.title, width: doc.width, height: doc.height, depth: depthOf(doc), activeLayerId: doc.activeLayers[0]?.id ?? null, layerCount: doc.layers.length };
    },
    readSelection: async ({ documentId }) => {
      const doc = documentById(ps, documentId);
      // Photoshop rejects getSelection when the document has no selection at all.
      const read = await reading('the selection', () => imagingOf(ps).getSelection({ documentID: documentId }).catch(() => null));
      if (!read) throw new NoSelectionError(doc.title);
      const mask = await pixelsOf(read, 1);
      if (!mask.data.some((v) => v !== 0)) throw new NoSelectionError(doc.title);
      return { bounds: mask.bounds, data: mask.data };
    },
    readComposite: async ({ documentId }) => {
      const doc = documentById(ps, documentId);
      const read = await reading('the document', () => imagingOf(ps).getPixels({ documentID: documentId, colorSpace: 'RGB', colorProfile: WORKING_PROFILE, componentSize: 8 }));
      const { bounds: b, data, channels } = await pixelsOf(read);
      if (b.x === 0 && b.y === 0 && b.width === doc.width && b.height === doc.height) return { width: b.width, height: b.height, channels, data };
      // Trimmed to where there are pixels: lay it on a transparent canvas.
      return onCanvas({ width: b.width, height: b.height, channels, data }, b, doc);
    },
    readLayerPixels: async ({ documentId, layerId }) => {
      const doc = documentById(ps, documentId);
      const layer = layerById(doc, layerId);
      const read = await reading(`layer "${layer.name}"`, () =>
        imagingOf(ps)
          .getPixels({ documentID: documentId, layerID: layerId, colorSpace: 'RGB', colorProfile: WORKING_PROFILE, componentSize: 8 })
          .catch((err: Error) => {
            throw new Error(`cannot read the pixels of layer "${layer.name}" (${err.message}): pick a pixel layer that is not empty`);
          }),
      );
      const { bounds: b, data, channels } = await pixelsOf(read);
      return { layerId, bounds: b, image: toRgba({ width: b.width, height: b.height, channels, data }) };
    },
    readLayerMask: async ({ documentId, layerId }) => {
      const doc = documentById(ps, documentId);
      const layer = layerById(doc, layerId);
      // getLayerMask rejects for a layer without a user mask.
      const read = await reading(`the mask of "${layer.name}"`, () => imagingOf(ps).getLayerMask({ documentID: documentId, layerID: layerId, kind: 'user' }).catch(() => null));
      if (!read) return null;
      const mask = await pixelsOf(read, 1);
      // A mask made with "reveal all" is white far past the layer's pixels; only where they are counts.
      const area = intersect(mask.bounds, boundsOfPs(layer.boundsNoEffects));
      return { bounds: area, data: cropPlane(mask.data, mask.bounds, area, 1) };
    },
    readLayerRecipe: async ({ documentId, layerId }) => {
      layerById(documentById(ps, documentId), layerId);
      // A layer that never had XMP answers without `metadata` (or rejects): it has no recipe.
      const [reply] = await ps.action.batchPlay([{ _obj: 'get', _target: [{ _property: 'metadata' }, layerRef(layerId), documentRef(documentId)] }], {}).catch(() => [undefined]);
      const packet = (reply as { metadata?: { layerXMP?: unknown } } | undefined)?.metadata?.layerXMP;
      if (typeof packet !== 'string' || !packet) return null;
      xmp.XMPMeta.registerNamespace(RECIPE_NS, 'kirie');
      return new xmp.XMPMeta(packet).getProperty(RECIPE_NS, RECIPE_PROPERTY)?.value ?? null;
    },
    placePosePaths: async ({ documentId, people }) => {
      if (people.length === 0) throw new Error('the pose has no people in it');
      return modal(ps, 'Kirie: add pose', async (context) => {
        const doc = documentById(ps, documentId);
        const scale = pointsPerPixel(doc);
        const { PathPointInfo, SubPathInfo } = ps.app;
        const corner = ps.constants.PointKind.CORNERPOINT;
        const point = (p: Point) => {
          const info = new PathPointInfo();
          // A corner with both handles on the anchor: a straight-sided marker.
          info.anchor = [p.x * scale, p.y * scale];
          info.leftDirection = info.anchor;
          info.rightDirection = info.anchor;
          info.kind = corner;
          return info;
        };
        const taken = new Set(Array.from(doc.pathItems, (p) => p.name));
        let n = 1;
        const suspension = await context.hostControl.suspendHistory({ documentID: doc.id, name: 'Kirie: add pose' });
        const names: string[] = [];
        try {
          for (const person of people) {
            while (taken.has(posePathName(n))) n++;
            const name = posePathName(n++);
            const subpaths = markersFor(person).map((square) => {
              const info = new SubPathInfo();
              info.closed = true;
              info.operation = ps.constants.ShapeOperation.SHAPEADD;
              info.entireSubPath = square.map(point);
              return info;
            });
            doc.pathItems.add(name, subpaths);
            names.push(name);
          }
        } catch (err) {
          // All people or none: a half-placed pose would read back as a different one.
          await context.hostControl.resumeHistory(suspension, false);
          throw err;
        }
        await context.hostControl.resumeHistory(suspension, true);
        return { names };
      });
    },
    readPosePaths: async ({ documentId }) => {
      const doc = documentById(ps, documentId);
      const scale = pointsPerPixel(doc);
      const paths = Array.from(doc.pathItems).filter((p) => POSE_PATH_NAME.test(p.name));
      if (paths.length === 0) throw new Error(`"${doc.title}" has no "Kirie pose" path: press "Add pose" first (Paths panel)`);
      const people = paths.map((path) => {
        const markers = Array.from(path.subPathItems, (sub) => Array.from(sub.pathPoints, (pt) => ({ x: pt.anchor[0]! / scale, y: pt.anchor[1]! / scale })));
        return jointsFromMarkers(path.name, markers, doc.width, doc.height);
      });
      return { width: doc.width, height: doc.height, people };
    },
    createLayerWithPixels: async (layer) => {
      checkPatch(layer);
      const imaging = imagingOf(ps);
      const { bounds: b } = layer;
      return modal(ps, layer.name, async (context) => {
        // Looked up inside the scope: the user may have closed or switched documents while the model ran.
        const doc = documentById(ps, layer.documentId);
        const depth = depthOf(doc);
        const userDocument = ps.app.activeDocument;
        // Layer commands and batchPlay act on the active document: make ours active for the write, and
        // give the user's choice back afterwards.
        if (userDocument?.id !== doc.id) ps.app.activeDocument = doc;
        const suspension = await context.hostControl.suspendHistory({ documentID: doc.id, name: layer.name });
        try {
          const created = await doc.createPixelLayer({ name: layer.name });
          if (!created) throw new Error('Photoshop did not create the layer');
          const pixels = await imaging.createImageDataFromBuffer(atDepth(opaque(layer.pixels), depth), { width: b.width, height: b.height, components: 4, colorSpace: 'RGB', colorProfile: WORKING_PROFILE });
          await disposing(pixels, () => imaging.putPixels({ documentID: doc.id, layerID: created.id, imageData: pixels, targetBounds: { left: b.x, top: b.y } }));
          // A new layer has no mask to put pixels into: select it by id, make one that reveals all, then
          // write ours into it.
          const commands: PsDescriptor[] = [
            { _obj: 'select', _target: [layerRef(created.id), documentRef(doc.id)], makeVisible: false },
            { _obj: 'make', new: { _class: 'channel' }, at: { _ref: 'channel', _enum: 'channel', _value: 'mask' }, using: { _enum: 'userMaskEnabled', _value: 'revealAll' } },
          ];
          if (layer.recipe !== undefined) {
            xmp.XMPMeta.registerNamespace(RECIPE_NS, 'kirie');
            const meta = new xmp.XMPMeta();
            meta.setProperty(RECIPE_NS, RECIPE_PROPERTY, layer.recipe);
            commands.push({ _obj: 'set', _target: [{ _ref: 'property', _property: 'metadata' }, layerRef(created.id), documentRef(doc.id)], to: { _obj: 'metadata', layerXMP: meta.serialize() } });
          }
          await ps.action.batchPlay(commands, {});
          const mask = await imaging.createImageDataFromBuffer(atDepth(layer.mask.data, depth), { width: b.width, height: b.height, components: 1, chunky: false, colorSpace: 'Grayscale', colorProfile: GRAY_PROFILE });
          await disposing(mask, () => imaging.putLayerMask({ documentID: doc.id, layerID: created.id, kind: 'user', imageData: mask, replace: false, targetBounds: { left: b.x, top: b.y } }));
          await context.hostControl.resumeHistory(suspension, true);
          return { layerId: created.id };
        } catch (err) {
          await context.hostControl.resumeHistory(suspension, false);
          throw err;
        } finally {
          if (userDocument && userDocument.id !== doc.id && ps.app.documents.some((d) => d.id === userDocument.id)) ps.app.activeDocument = userDocument;
        }
      });
    },
  };
  return {
    call: (action, params) => (handlers[action] as (p: typeof params) => Promise<HostActions[typeof action]['result']>)(params),
  };
}

const layerRef = (id: number): PsDescriptor => ({ _ref: 'layer', _id: id });
const documentRef = (id: number): PsDescriptor => ({ _ref: 'document', _id: id });

/** executeAsModal, with its "host is in a modal state" rejection (error number 9) as a HostBusyError. */
async function modal<T>(ps: PhotoshopModule, commandName: string, target: (context: PsExecutionContext) => Promise<T>): Promise<T> {
  try {
    return await ps.core.executeAsModal(target, { commandName });
  } catch (err) {
    if ((err as { number?: number }).number === 9) throw new HostBusyError();
    throw err;
  }
}

/** The Imaging API with every call Kirie makes, or an error that says which Photoshop has it. */
function imagingOf(ps: PhotoshopModule): PsImaging {
  const imaging = ps.imaging;
  const missing = IMAGING_CALLS.filter((name) => typeof imaging?.[name] !== 'function');
  if (!imaging || missing.length > 0) {
    const what = imaging ? `its Imaging API lacks ${missing.join(', ')}` : "it has no Imaging API (require('photoshop').imaging)";
    throw new Error(`this Photoshop is too old for Kirie: ${what}. Update to Photoshop ${MIN_PHOTOSHOP} or later in the Creative Cloud app`);
  }
  return imaging;
}

function checkMode(doc: PsDocument): void {
  if (!/rgb/i.test(doc.mode)) throw new Error(`"${doc.title}" is in ${doc.mode}: Kirie works on RGB documents (Image ▸ Mode ▸ RGB Color)`);
}

/**
 * 8 or 16 bits per channel. A 32-bit document holds linear, high-dynamic-range floats (Imaging API: 32-bit
 * values are 0..1+ and profiles are "Linear"); an 8-bit sRGB result has no faithful place there.
 */
function depthOf(doc: PsDocument): 8 | 16 {
  if (doc.bitsPerChannel === 'bitDepth16') return 16;
  if (doc.bitsPerChannel === 'bitDepth8') return 8;
  if (doc.bitsPerChannel === 'bitDepth32') throw new Error(`"${doc.title}" is a 32-bit (HDR) document: Kirie works on 8- and 16-bit documents (Image ▸ Mode ▸ 16 Bits/Channel)`);
  throw new Error(`"${doc.title}" has ${doc.bitsPerChannel} channels: Kirie works on 8- and 16-bit RGB documents`);
}

function documentById(ps: PhotoshopModule, id: number): PsDocument {
  const doc = ps.app.documents.find((d) => d.id === id);
  if (!doc) throw new Error('the document was closed while Kirie was working on it');
  return doc;
}

/** A layer at any depth: `layers` holds only the top level, a group holds its own. */
function layerById(doc: PsDocument, id: number): PsLayer {
  const find = (layers: readonly PsLayer[]): PsLayer | undefined => {
    for (const layer of layers) {
      const found = layer.id === id ? layer : layer.layers ? find(layer.layers) : undefined;
      if (found) return found;
    }
    return undefined;
  };
  const layer = find(doc.layers);
  if (!layer) throw new Error(`layer ${id} is not in "${doc.title}" any more`);
  return layer;
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

/** 8-bit values at the document's depth: 16-bit is Photoshop's 0..32768 (Imaging API, "Component Size"). */
function atDepth(data: Uint8Array, depth: 8 | 16): Uint8Array | Uint16Array {
  return depth === 8 ? data : Uint16Array.from(data, (v) => Math.round((v * 32768) / 255));
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
