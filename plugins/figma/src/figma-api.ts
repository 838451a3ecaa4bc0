// The slice of the Figma plugin API (`figma` global, main thread) Kirie calls, typed after Figma's
// plugin typings (@figma/plugin-typings, plugin-api.d.ts). Only host.ts and code.ts use it; the tests'
// fake implements it.

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Paint = { readonly type: 'IMAGE'; readonly imageHash: string | null; readonly scaleMode: 'FILL' | 'FIT' | 'CROP' | 'TILE' } | { readonly type: 'SOLID'; readonly color: { r: number; g: number; b: number } };

/** plugin-api.d.ts `ExportSettingsImage`: colorProfile defaults to 'DOCUMENT' (the file's own profile). */
export interface ExportSettingsImage {
  format: 'PNG' | 'JPG';
  constraint?: { type: 'SCALE' | 'WIDTH' | 'HEIGHT'; value: number };
  colorProfile?: 'DOCUMENT' | 'SRGB' | 'DISPLAY_P3_V4';
}

export interface BaseNode {
  readonly id: string;
  readonly type: string;
  name: string;
  readonly removed: boolean;
  /** The node's parent; null for the document root and for removed nodes. */
  readonly parent: (BaseNode & ChildrenMixin) | null;
  /** Plugin data is private to this plugin id; values are strings (plugin-api.d.ts `PluginDataMixin`). */
  getPluginData(key: string): string;
  setPluginData(key: string, value: string): void;
}

/** plugin-api.d.ts `Transform`: [[a, c, tx], [b, d, ty]]; always unit axes (size is width/height, nodes-relativetransform). */
export type Transform = [[number, number, number], [number, number, number]];

export interface SceneNode extends BaseNode {
  visible: boolean;
  /** relativeTransform[0][2] / [1][2]: the position in the containing parent (groups do not contain). */
  x: number;
  y: number;
  readonly width: number;
  readonly height: number;
  readonly rotation: number;
  /** Position and rotation in the containing parent; setting it moves and rotates the node. */
  relativeTransform: Transform;
  /** Position and rotation on the page (read-only, T LayoutMixin.absoluteTransform). */
  readonly absoluteTransform: Transform;
  /** The node's own box in absolute coordinates. */
  readonly absoluteBoundingBox: Rect | null;
  /** Bounds of what renders (effects, strokes), in absolute coordinates; null when nothing renders. */
  readonly absoluteRenderBounds: Rect | null;
  exportAsync(settings: ExportSettingsImage): Promise<Uint8Array>;
  /** A copy parented under figma.currentPage; components clone as new components, instances as instances. */
  clone(): SceneNode;
  remove(): void;
}

export interface ChildrenMixin {
  readonly children: readonly SceneNode[];
  insertChild(index: number, child: SceneNode): void;
  /** Frames only: auto layout, whose children are placed by the layout unless positioned absolutely. */
  readonly layoutMode?: 'NONE' | 'HORIZONTAL' | 'VERTICAL' | 'GRID';
}

export type FrameNode = SceneNode & ChildrenMixin;

export interface RectangleNode extends SceneNode {
  fills: readonly Paint[];
  layoutPositioning: 'AUTO' | 'ABSOLUTE';
  resize(width: number, height: number): void;
}

export interface EllipseNode extends SceneNode {
  readonly type: 'ELLIPSE';
  fills: readonly Paint[];
  resize(width: number, height: number): void;
}

export interface LineNode extends SceneNode {
  readonly type: 'LINE';
  strokes: readonly Paint[];
  strokeWeight: number;
  /** A line's height is 0 (createLine: `line.resize(200, 0)`). */
  resize(width: number, height: number): void;
}

export interface FigmaImage {
  readonly hash: string;
}

export interface NotificationHandler {
  cancel(): void;
}

export interface PluginApi {
  readonly currentPage: BaseNode & ChildrenMixin & { readonly selection: readonly SceneNode[] };
  getNodeByIdAsync(id: string): Promise<BaseNode | null>;
  createRectangle(): RectangleNode;
  createImage(bytes: Uint8Array): FigmaImage;
  /** A 100×100 ellipse under figma.currentPage (figma-createellipse). */
  createEllipse(): EllipseNode;
  /** A 100-long line with a 1 px black stroke under figma.currentPage (figma-createline). */
  createLine(): LineNode;
  /** A group of `nodes` (non-empty: Figma has no empty groups) created in `parent` (figma-group). */
  group(nodes: readonly SceneNode[], parent: BaseNode & ChildrenMixin, index?: number): FrameNode;
  notify(message: string, options?: { error?: boolean; timeout?: number }): NotificationHandler;
  clientStorage: { getAsync(key: string): Promise<unknown>; setAsync(key: string, value: unknown): Promise<void> };
  ui: { postMessage(message: unknown): void; onmessage: ((message: unknown) => void) | undefined };
  on(event: 'selectionchange', callback: () => void): void;
  showUI(html: string, options?: { width?: number; height?: number; themeColors?: boolean; title?: string }): void;
}
