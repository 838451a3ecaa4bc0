// Messages between the main thread (code.ts: the only code that sees `figma`) and the UI iframe (ui.ts:
// the only code on the network). PNG bytes travel as Uint8Array, which postMessage copies as is.
import type { BridgeSettings } from '../../shared/src/settings.js';

/** The selected frame as the UI needs it, in export pixels (scale 1: one pixel per Figma unit). */
export interface FrameData {
  frameId: string;
  name: string;
  png: Uint8Array;
  /** The shape named "mask" inside the frame, rendered alone, and where it sits on the frame's PNG. */
  mask?: { png: Uint8Array; x: number; y: number };
}

export interface PlaceRequest {
  frameId: string;
  name: string;
  /** RGBA PNG of the result, placed at `bounds` of the frame's PNG. */
  png: Uint8Array;
  bounds: { x: number; y: number; width: number; height: number };
}

export type UiToMain =
  | { type: 'read-frame'; requestId: number }
  | { type: 'place'; requestId: number; place: PlaceRequest }
  | { type: 'save-settings'; requestId: number; settings: BridgeSettings }
  | { type: 'notify'; text: string; error?: boolean };

export type MainToUi =
  | { type: 'reply'; requestId: number; ok: true; value: unknown }
  | { type: 'reply'; requestId: number; ok: false; error: string }
  | { type: 'selection'; frame: string | null; hasMask: boolean; problem: string | null }
  | { type: 'settings'; settings: BridgeSettings | null };
