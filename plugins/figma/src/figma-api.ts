// The slice of the Figma plugin API (`figma` global, main thread) Kirie calls, typed after Figma's
// plugin typings. Only host.ts and code.ts use it; the tests' fake implements it.

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Paint = { readonly type: 'IMAGE'; readonly imageHash: string | null; readonly scaleMode: 'FILL' | 'FIT' | 'CROP' | 'TILE' } | { readonly type: 'SOLID'; readonly color: { r: number; g: number; b: number } };

export interface ExportSettingsImage {
  format: 'PNG';
  constraint?: { type: 'SCALE' | 'WIDTH' | 'HEIGHT'; value: number };
}

export interface SceneNode {
  readonly id: string;
  readonly type: string;
  name: string;
  visible: boolean;
  x: number;
  y: number;
  readonly width: number;
  readonly height: number;
  readonly rotation: number;
  readonly parent: (BaseNode & ChildrenMixin) | null;
  /** The node's own box in absolute coordinates. */
  readonly absoluteBoundingBox: Rect | null;
  /** Bounds of what renders (effects, strokes), in absolute coordinates; null when nothing renders. */
  readonly absoluteRenderBounds: Rect | null;
  readonly removed: boolean;
  exportAsync(settings: ExportSettingsImage): Promise<Uint8Array>;
}

export interface BaseNode {
  readonly id: string;
  readonly type: string;
  name: string;
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

export interface FigmaImage {
  readonly hash: string;
}

export interface NotificationHandler {
  cancel(): void;
}

export interface PluginApi {
  readonly currentPage: { readonly selection: readonly SceneNode[] };
  getNodeByIdAsync(id: string): Promise<BaseNode | null>;
  createRectangle(): RectangleNode;
  createImage(bytes: Uint8Array): FigmaImage;
  notify(message: string, options?: { error?: boolean; timeout?: number }): NotificationHandler;
  clientStorage: { getAsync(key: string): Promise<unknown>; setAsync(key: string, value: unknown): Promise<void> };
  ui: { postMessage(message: unknown): void; onmessage: ((message: unknown) => void) | undefined };
  on(event: 'selectionchange', callback: () => void): void;
  showUI(html: string, options?: { width?: number; height?: number; themeColors?: boolean; title?: string }): void;
}
