// Messages between the main thread (code.ts: the only code that sees `figma`) and the UI iframe (ui.ts:
// the only code on the network). PNG bytes travel as Uint8Array, which postMessage copies as is.
import type { PlacedJoint, Skeleton } from '@kirie/core/control/skeleton-geometry';
import type { BridgeSettings } from '../../shared/src/settings.js';

/** A frame as the UI needs it, in export pixels (scale 1: one pixel per Figma unit, sRGB). */
export interface FrameData {
  frameId: string;
  name: string;
  png: Uint8Array;
  /** Where the PNG's top-left lies from the frame's top-left (negative when effects reach outside the box). */
  origin: { x: number; y: number };
  /** The shape named "mask" inside the frame, rendered alone, and where it sits on the frame's PNG. */
  mask?: { png: Uint8Array; x: number; y: number };
}

export interface PlaceRequest {
  frameId: string;
  name: string;
  /** RGBA PNG of the result, placed at `bounds` of the frame's PNG, whose top-left is `origin` from the frame's. */
  png: Uint8Array;
  origin: { x: number; y: number };
  bounds: { x: number; y: number; width: number; height: number };
  /** The recipe (JSON, see recipe.ts), kept on the new layer as plugin data. */
  recipe: string;
}

/** The joints of the skeletons on a frame (a list per person), in the frame's own pixels (its top-left is 0, 0). */
export interface PoseRead {
  frameId: string;
  width: number;
  height: number;
  people: PlacedJoint[][];
}

/** The form's choices kept between sessions (figma.clientStorage), beside the bridge settings. */
export interface PanelPrefs {
  fast: boolean;
}

/** What the UI shows about the selection: a frame to work on, or a Kirie result and the recipe it carries. */
export interface SelectionInfo {
  frame: string | null;
  hasMask: boolean;
  problem: string | null;
  /** The selected layer's recipe when it is a Kirie result. */
  recipe: string | null;
}

export type UiToMain =
  | { type: 'read-frame'; requestId: number; frameId?: string }
  | { type: 'place'; requestId: number; place: PlaceRequest }
  | { type: 'save-settings'; requestId: number; settings: BridgeSettings }
  | { type: 'save-prefs'; requestId: number; prefs: PanelPrefs }
  | { type: 'add-pose'; requestId: number; skeleton: Skeleton }
  | { type: 'read-pose'; requestId: number; frameId?: string }
  | { type: 'notify'; text: string; error?: boolean };

export type MainToUi =
  | { type: 'reply'; requestId: number; ok: true; value: unknown }
  | { type: 'reply'; requestId: number; ok: false; error: string }
  | ({ type: 'selection' } & SelectionInfo)
  | { type: 'settings'; settings: BridgeSettings | null }
  | { type: 'prefs'; prefs: PanelPrefs };
