// The Figma adapter: every use of the plugin API happens here. It reads a frame (and the shape named
// "mask" in it) as sRGB PNGs without writing to it, and places a result as a NEW rectangle with an image
// fill right above the frame, carrying its recipe as plugin data.
import type { BaseNode, ChildrenMixin, ExportSettingsImage, FigmaImage, FrameNode, PluginApi, RectangleNode, SceneNode } from './figma-api.js';
import type { FrameData, PlaceRequest, SelectionInfo } from './messages.js';
import type { BridgeSettings } from '../../shared/src/settings.js';

const FRAME_TYPES = new Set(['FRAME', 'COMPONENT', 'INSTANCE']);
const MASK_NAME = 'mask';
const SETTINGS_KEY = 'kirie.bridge';
export const RECIPE_KEY = 'kirie.recipe';
/** Figma refuses images with a side over 4096 px (plugin-api.d.ts, PluginAPI.createImage). */
const MAX_IMAGE_SIDE = 4096;
/**
 * The model works in sRGB; without a profile Figma exports in the file's own ('DOCUMENT'), which in a
 * Display P3 file means P3 numbers the model would read as sRGB.
 */
const EXPORT: ExportSettingsImage = { format: 'PNG', constraint: { type: 'SCALE', value: 1 }, colorProfile: 'SRGB' };
/** Containers a result may go into: pages, plain frames, groups, sections. */
const ACCEPTS_RESULT = new Set(['PAGE', 'FRAME', 'GROUP', 'SECTION']);
/**
 * Inside these nothing may be added (instances, component sets: Figma refuses) or should be (a layer added
 * to a component appears in every instance of it).
 */
const SEALED = new Set(['INSTANCE', 'COMPONENT', 'COMPONENT_SET']);

export interface FigmaHost {
  describeSelection(): SelectionInfo;
  /** The selected frame, or the frame with `frameId` (a recipe's source), exported without changing it. */
  readFrame(frameId?: string): Promise<FrameData>;
  placeResult(place: PlaceRequest): Promise<{ nodeId: string }>;
  notify(text: string, error?: boolean): void;
  loadSettings(): Promise<BridgeSettings | null>;
  saveSettings(settings: BridgeSettings): Promise<void>;
}

const isFrame = (node: BaseNode): node is FrameNode => FRAME_TYPES.has(node.type) && 'children' in node;
const maskOf = (frame: FrameNode) => frame.children.find((c) => c.name.trim().toLowerCase() === MASK_NAME);

function checkFrame(node: SceneNode): FrameNode {
  if (!isFrame(node)) throw new Error(`"${node.name}" is a ${node.type.toLowerCase()}: select a frame`);
  if (node.rotation !== 0) throw new Error(`"${node.name}" is rotated ${node.rotation}°: set its rotation to 0 first`);
  return node;
}

/** The nearest container that takes a new layer, and the node (the frame or its ancestor) to stack it above. */
function placementFor(frame: SceneNode): { parent: BaseNode & ChildrenMixin; above: SceneNode } {
  const chain: (BaseNode & ChildrenMixin)[] = [];
  for (let p = frame.parent; p; p = p.parent) chain.push(p);
  let above = frame;
  for (const [i, parent] of chain.entries()) {
    const sealed = chain.slice(i).some((a) => SEALED.has(a.type));
    if (ACCEPTS_RESULT.has(parent.type) && !sealed) return { parent, above };
    above = parent as unknown as SceneNode;
  }
  throw new Error(`"${frame.name}" is not on a page: nothing was placed`);
}

export function createFigmaHost(figma: PluginApi): FigmaHost {
  const selected = (): SceneNode => {
    const selection = figma.currentPage.selection;
    if (selection.length === 0) throw new Error('select a frame first');
    if (selection.length > 1) throw new Error(`select one frame (${selection.length} layers are selected)`);
    return selection[0]!;
  };

  const frameById = async (frameId: string): Promise<FrameNode> => {
    const node = await figma.getNodeByIdAsync(frameId);
    if (!node || node.removed || !isFrame(node)) throw new Error('the frame this was made from is gone (deleted, or on another page): select a frame and generate anew');
    return node;
  };

  /** The frame without its mask shape: a clone with the shape hidden is exported, then removed. */
  const exportWithoutMask = async (frame: FrameNode, mask: SceneNode): Promise<Uint8Array> => {
    const index = frame.children.indexOf(mask);
    const copy = frame.clone() as FrameNode;
    try {
      // The copy sits over the original while it exists, so the canvas does not flash it elsewhere.
      const box = frame.absoluteBoundingBox!;
      copy.x = box.x;
      copy.y = box.y;
      // Hidden, not removed: a clone of an instance is an instance, whose sublayers can only be overridden.
      copy.children[index]!.visible = false;
      return await copy.exportAsync(EXPORT);
    } finally {
      copy.remove();
    }
  };

  return {
    describeSelection() {
      let node: SceneNode;
      try {
        node = selected();
      } catch (err) {
        return { frame: null, hasMask: false, problem: (err as Error).message, recipe: null };
      }
      const recipe = node.getPluginData(RECIPE_KEY) || null;
      try {
        const frame = checkFrame(node);
        return { frame: frame.name, hasMask: maskOf(frame) !== undefined, problem: null, recipe };
      } catch (err) {
        return { frame: null, hasMask: false, problem: recipe ? null : (err as Error).message, recipe };
      }
    },

    async readFrame(frameId) {
      const frame = frameId ? checkFrame(await frameById(frameId)) : checkFrame(selected());
      const box = frame.absoluteBoundingBox;
      const frameBounds = frame.absoluteRenderBounds;
      if (!frameBounds || !box) throw new Error(`"${frame.name}" renders nothing to restyle`);
      if (frameBounds.width > MAX_IMAGE_SIDE || frameBounds.height > MAX_IMAGE_SIDE) {
        throw new Error(`"${frame.name}" is ${Math.round(frameBounds.width)}×${Math.round(frameBounds.height)}: Figma images are at most ${MAX_IMAGE_SIDE} px a side`);
      }
      const origin = { x: frameBounds.x - box.x, y: frameBounds.y - box.y };
      const mask = maskOf(frame);
      if (!mask) return { frameId: frame.id, name: frame.name, png: await frame.exportAsync(EXPORT), origin };
      const maskBounds = mask.absoluteRenderBounds;
      if (!mask.visible || !maskBounds) throw new Error(`the "${mask.name}" shape in "${frame.name}" is hidden or empty: show it, it marks what to repaint`);
      const maskPng = await mask.exportAsync(EXPORT);
      const png = await exportWithoutMask(frame, mask);
      return { frameId: frame.id, name: frame.name, png, origin, mask: { png: maskPng, x: Math.round(maskBounds.x - frameBounds.x), y: Math.round(maskBounds.y - frameBounds.y) } };
    },

    async placeResult(place) {
      const found = await figma.getNodeByIdAsync(place.frameId);
      if (!found || found.removed || !isFrame(found)) throw new Error('the frame was deleted while Kirie was working: nothing was placed');
      const frame = found;
      const box = frame.absoluteBoundingBox;
      if (!frame.parent || !box) throw new Error(`"${frame.name}" is no longer on the canvas: nothing was placed`);
      const { parent, above } = placementFor(frame);
      let image: FigmaImage;
      try {
        image = figma.createImage(place.png);
      } catch (err) {
        throw new Error(`Figma did not accept the result image: ${(err as Error).message}`);
      }
      const rect: RectangleNode = figma.createRectangle();
      rect.name = place.name;
      rect.resize(place.bounds.width, place.bounds.height);
      // Paint arrays are read-only: a fill is changed by assigning a new array.
      rect.fills = [{ type: 'IMAGE', imageHash: image.hash, scaleMode: 'FILL' }];
      rect.setPluginData(RECIPE_KEY, place.recipe);
      parent.insertChild(parent.children.indexOf(above) + 1, rect);
      if (parent.layoutMode !== undefined && parent.layoutMode !== 'NONE') rect.layoutPositioning = 'ABSOLUTE';
      // x/y are relative to the containing parent (groups do not count): move by what is off absolutely.
      const at = rect.absoluteBoundingBox!;
      rect.x += box.x + place.origin.x + place.bounds.x - at.x;
      rect.y += box.y + place.origin.y + place.bounds.y - at.y;
      return { nodeId: rect.id };
    },

    notify(text, error = false) {
      figma.notify(text, error ? { error: true } : {});
    },

    async loadSettings() {
      const stored = await figma.clientStorage.getAsync(SETTINGS_KEY);
      if (!stored || typeof stored !== 'object') return null;
      const { url, token } = stored as Partial<BridgeSettings>;
      return typeof url === 'string' && typeof token === 'string' ? { url, token } : null;
    },

    async saveSettings(settings) {
      await figma.clientStorage.setAsync(SETTINGS_KEY, { url: settings.url, token: settings.token });
    },
  };
}
