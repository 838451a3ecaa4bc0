// The slice of UXP's `photoshop` and `uxp` modules Kirie calls, typed from Adobe's documentation and
// @types/photoshop (Imaging API, executeAsModal, Document/Layer DOM, uxp.xmp). Only host.ts uses it; the
// tests' fakes implement it.

export interface PsBounds {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export type PsRect = { left: number; top: number; width: number; height: number } | PsBounds;

/** PhotoshopImageData: pixels only through the async getData(); must be disposed or Photoshop keeps the memory. */
export interface PsImageData {
  readonly width: number;
  readonly height: number;
  readonly colorSpace: string;
  readonly colorProfile: string;
  readonly hasAlpha: boolean;
  readonly components: number;
  readonly componentSize: 8 | 16 | 32;
  readonly isChunky: boolean;
  getData(options?: { chunky?: boolean; fullRange?: boolean }): Promise<Uint8Array | Uint16Array | Float32Array>;
  dispose(): void;
}

export interface PsPixels {
  imageData: PsImageData;
  /** What was actually read: trimmed to where the layer has pixels. */
  sourceBounds: PsBounds;
  level?: number;
}

export interface PsGetPixelsOptions {
  documentID?: number;
  layerID?: number;
  sourceBounds?: PsRect;
  colorSpace?: string;
  colorProfile?: string;
  componentSize?: -1 | 8 | 16 | 32;
  applyAlpha?: boolean;
}

export interface PsImaging {
  getPixels(options: PsGetPixelsOptions): Promise<PsPixels>;
  getLayerMask(options: { documentID?: number; layerID: number; kind?: 'user' | 'vector'; sourceBounds?: PsBounds }): Promise<PsPixels>;
  getSelection(options: { documentID?: number; sourceBounds?: PsBounds }): Promise<PsPixels>;
  putPixels(options: { documentID?: number; layerID: number; imageData: PsImageData; replace?: boolean; targetBounds?: { left: number; top: number }; commandName?: string }): Promise<void>;
  putLayerMask(options: { documentID?: number; layerID: number; kind?: 'user'; imageData: PsImageData; replace?: boolean; targetBounds?: { left: number; top: number }; commandName?: string }): Promise<void>;
  createImageDataFromBuffer(
    data: Uint8Array | Uint16Array | Float32Array,
    options: { width: number; height: number; components: number; chunky?: boolean; colorProfile?: string; colorSpace: string; fullRange?: boolean },
  ): Promise<PsImageData>;
}

export interface PsLayer {
  readonly id: number;
  name: string;
  /** Constants.LayerKind: "pixel", "group", "text", … (@types/photoshop dom/Constants.d.ts). */
  readonly kind: string;
  readonly boundsNoEffects: PsBounds;
  /** A group's children (top-level of the group only); null for other kinds (Layer.layers, @minVersion 23.0). */
  readonly layers: readonly PsLayer[] | null;
}

/** Constants.BitsPerChannelType (@types/photoshop dom/Constants.d.ts). */
export type PsBitsPerChannel = 'bitDepth1' | 'bitDepth8' | 'bitDepth16' | 'bitDepth32';

/**
 * PathPointInfo / SubPathInfo: made with `new app.PathPointInfo()` / `new app.SubPathInfo()` (@types/photoshop
 * dom/Photoshop.d.ts) and passed to PathItems.add (ps_reference/classes/pathpointinfo, subpathinfo, since 23.3).
 * `kind` is a Constants.PointKind value and `operation` a Constants.ShapeOperation value, read from `constants`.
 */
export interface PsPathPointInfo {
  anchor: number[];
  leftDirection: number[];
  rightDirection: number[];
  kind: string;
}

export interface PsSubPathInfo {
  closed: boolean;
  operation: string;
  entireSubPath: PsPathPointInfo[];
}

/** PathPoint: read-only; anchor in [horizontal, vertical] (ps_reference/classes/pathpoint). */
export interface PsPathPoint {
  readonly anchor: readonly number[];
  readonly kind: string;
  readonly leftDirection: readonly number[];
  readonly rightDirection: readonly number[];
}

export interface PsSubPathItem {
  readonly closed: boolean;
  readonly pathPoints: ArrayLike<PsPathPoint>;
}

export interface PsPathItem {
  readonly id: number;
  name: string;
  readonly subPathItems: ArrayLike<PsSubPathItem>;
}

/** Document.pathItems (ps_reference/classes/pathitems): add(name, entirePath) returns the new PathItem. */
export interface PsPathItems extends ArrayLike<PsPathItem> {
  add(name: string, entirePath: PsSubPathInfo[]): PsPathItem;
}

export interface PsDocument {
  readonly id: number;
  /** Pixels per inch (Document.resolution). */
  readonly resolution: number;
  readonly pathItems: PsPathItems;
  readonly title: string;
  readonly width: number;
  readonly height: number;
  readonly mode: string;
  readonly bitsPerChannel: PsBitsPerChannel;
  readonly activeLayers: readonly PsLayer[];
  /** Top-level layers only: a layer inside a group is found through the group's own `layers`. */
  readonly layers: readonly PsLayer[];
  createPixelLayer(options?: { name?: string }): Promise<PsLayer | null>;
}

export interface PsHostControl {
  suspendHistory(options: { documentID: number; name: string }): Promise<number>;
  resumeHistory(suspensionID: number, commit?: boolean): Promise<void>;
}

export interface PsExecutionContext {
  readonly isCancelled: boolean;
  readonly hostControl: PsHostControl;
  reportProgress(options: { value: number; commandName?: string }): void;
}

export type PsDescriptor = Record<string, unknown>;

export interface PhotoshopModule {
  /** activeDocument has a setter (Photoshop.activeDocument, @types/photoshop dom/Photoshop.d.ts). */
  app: {
    activeDocument: PsDocument | null;
    readonly documents: readonly PsDocument[];
    readonly PathPointInfo: new () => PsPathPointInfo;
    readonly SubPathInfo: new () => PsSubPathInfo;
  };
  /** Constants (@types/photoshop dom/Constants.d.ts): PointKind.CORNERPOINT, ShapeOperation.SHAPEADD. */
  constants: { PointKind: { CORNERPOINT: string; SMOOTHPOINT: string }; ShapeOperation: { SHAPEADD: string; SHAPEXOR: string } };
  core: {
    executeAsModal<T>(target: (context: PsExecutionContext, descriptor: PsDescriptor) => Promise<T>, options: { commandName: string; descriptor?: PsDescriptor }): Promise<T>;
  };
  action: { batchPlay(commands: PsDescriptor[], options: PsDescriptor): Promise<PsDescriptor[]> };
  /** Absent before Photoshop 25.0 release builds (24.2 had only `imaging_beta`, in prerelease builds). */
  imaging?: PsImaging;
}

export interface XmpProperty {
  readonly value: string;
}

/** require('uxp').xmp, since UXP 7.2 = Photoshop 25.0 (uxp-api/reference-js/Modules/uxp/XMP). */
export interface UxpXmp {
  XMPMeta: {
    new (packet?: string): XmpMeta;
    registerNamespace(namespaceURI: string, suggestedPrefix: string): string;
  };
}

export interface XmpMeta {
  setProperty(schemaNS: string, propName: string, propValue: string): void;
  getProperty(schemaNS: string, propName: string): XmpProperty | undefined;
  serialize(): string;
}
