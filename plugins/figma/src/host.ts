// The Figma adapter: every use of the plugin API happens here. It reads the selected frame (and the
// shape named "mask" in it) as PNGs, and places a result as a NEW rectangle with an image fill right
// above the frame, never touching the frame itself.
import type { FigmaImage, FrameNode, PluginApi, RectangleNode, SceneNode } from './figma-api.js';
import type { FrameData, PlaceRequest } from './messages.js';
import type { BridgeSettings } from '../../shared/src/settings.js';

const FRAME_TYPES = new Set(['FRAME', 'COMPONENT', 'INSTANCE']);
const MASK_NAME = 'mask';
const SETTINGS_KEY = 'kirie.bridge';
/** Figma refuses images with a side over 4096 px. */
const MAX_IMAGE_SIDE = 4096;

export interface FigmaHost {
  /** The selected frame, or why the selection is not one. */
  describeSelection(): { frame: string | null; hasMask: boolean; problem: string | null };
  readSelectedFrame(): Promise<FrameData>;
  placeResult(place: PlaceRequest): Promise<{ nodeId: string }>;
  notify(text: string, error?: boolean): void;
  loadSettings(): Promise<BridgeSettings | null>;
  saveSettings(settings: BridgeSettings): Promise<void>;
}

const isFrame = (node: SceneNode): node is FrameNode => FRAME_TYPES.has(node.type) && 'children' in node;
const maskOf = (frame: FrameNode) => frame.children.find((c) => c.name.trim().toLowerCase() === MASK_NAME);

export function createFigmaHost(figma: PluginApi): FigmaHost {
  const selectedFrame = (): FrameNode => {
    const selection = figma.currentPage.selection;
    if (selection.length === 0) throw new Error('select a frame first');
    if (selection.length > 1) throw new Error(`select one frame (${selection.length} layers are selected)`);
    const node = selection[0]!;
    if (!isFrame(node)) throw new Error(`"${node.name}" is a ${node.type.toLowerCase()}: select a frame`);
    if (node.rotation !== 0) throw new Error(`"${node.name}" is rotated ${node.rotation}°: set its rotation to 0 first`);
    return node;
  };

  return {
    describeSelection() {
      try {
        const frame = selectedFrame();
        return { frame: frame.name, hasMask: maskOf(frame) !== undefined, problem: null };
      } catch (err) {
        return { frame: null, hasMask: false, problem: (err as Error).message };
      }
    },

    async readSelectedFrame() {
      const frame = selectedFrame();
      const frameBounds = frame.absoluteRenderBounds;
      if (!frameBounds) throw new Error(`"${frame.name}" renders nothing to restyle`);
      if (frameBounds.width > MAX_IMAGE_SIDE || frameBounds.height > MAX_IMAGE_SIDE) {
        throw new Error(`"${frame.name}" is ${Math.round(frameBounds.width)}×${Math.round(frameBounds.height)}: Figma images are at most ${MAX_IMAGE_SIDE} px a side`);
      }
      const settings = { format: 'PNG', constraint: { type: 'SCALE', value: 1 } } as const;
      const mask = maskOf(frame);
      if (!mask) return { frameId: frame.id, name: frame.name, png: await frame.exportAsync(settings) };
      const maskBounds = mask.absoluteRenderBounds;
      if (!mask.visible || !maskBounds) throw new Error(`the "${mask.name}" shape in "${frame.name}" is hidden or empty: show it, it marks what to repaint`);
      const maskPng = await mask.exportAsync(settings);
      // The mask must not show in the picture it marks; put it back whatever happens.
      mask.visible = false;
      let png: Uint8Array;
      try {
        png = await frame.exportAsync(settings);
      } finally {
        mask.visible = true;
      }
      return { frameId: frame.id, name: frame.name, png, mask: { png: maskPng, x: Math.round(maskBounds.x - frameBounds.x), y: Math.round(maskBounds.y - frameBounds.y) } };
    },

    async placeResult(place) {
      const frame = await figma.getNodeByIdAsync(place.frameId);
      if (!frame || (frame as SceneNode).removed || !isFrame(frame as SceneNode)) throw new Error('the frame was deleted while Kirie was working: nothing was placed');
      const node = frame as FrameNode;
      const parent = node.parent;
      const frameBounds = node.absoluteRenderBounds;
      const box = node.absoluteBoundingBox;
      if (!parent || !frameBounds || !box) throw new Error(`"${node.name}" is no longer on the canvas: nothing was placed`);
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
      parent.insertChild(parent.children.indexOf(node) + 1, rect);
      if (parent.layoutMode !== undefined && parent.layoutMode !== 'NONE') rect.layoutPositioning = 'ABSOLUTE';
      // Siblings share the parent's coordinates; the PNG's origin is the frame's render bounds.
      rect.x = node.x + (frameBounds.x - box.x) + place.bounds.x;
      rect.y = node.y + (frameBounds.y - box.y) + place.bounds.y;
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
