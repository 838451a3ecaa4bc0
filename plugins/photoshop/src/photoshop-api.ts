// The slice of UXP's `photoshop` module Kirie calls, typed from Adobe's documentation (Imaging API,
// executeAsModal, Document/Layer DOM). Only host.ts uses it; the tests' fake implements it.

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
  readonly kind: string;
  readonly boundsNoEffects: PsBounds;
}

export interface PsDocument {
  readonly id: number;
  readonly title: string;
  readonly width: number;
  readonly height: number;
  readonly mode: string;
  readonly bitsPerChannel: number;
  readonly activeLayers: readonly PsLayer[];
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
  app: { readonly activeDocument: PsDocument | null; readonly documents: readonly PsDocument[] };
  core: {
    executeAsModal<T>(target: (context: PsExecutionContext, descriptor: PsDescriptor) => Promise<T>, options: { commandName: string; descriptor?: PsDescriptor }): Promise<T>;
  };
  action: { batchPlay(commands: PsDescriptor[], options: PsDescriptor): Promise<PsDescriptor[]> };
  imaging: PsImaging;
}
