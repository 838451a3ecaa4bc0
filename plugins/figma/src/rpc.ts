// The UI's calls into the main thread: a request id per call, resolved by the matching reply.
import { parsePoseJson } from '@kirie/core/control/openpose';
import { skeletonFromPose } from '@kirie/core/control/skeleton';
import type { BridgeSettings } from '../../shared/src/settings.js';
import type { FrameData, MainToUi, PanelPrefs, PlaceRequest, PoseRead, UiToMain } from './messages.js';

export interface MainRpc {
  /** The selected frame, or the frame with this id (a recipe's source). */
  readFrame(frameId?: string): Promise<FrameData>;
  place(place: PlaceRequest): Promise<{ nodeId: string }>;
  saveSettings(settings: BridgeSettings): Promise<void>;
  savePrefs(prefs: PanelPrefs): Promise<void>;
  /** Places a pose (OpenPose JSON, checked here) on the selected frame as editable nodes. */
  addPose(json: unknown): Promise<{ people: number }>;
  /** The joints of the skeletons on the selected frame (or `frameId`). */
  readPose(frameId?: string): Promise<PoseRead>;
  notify(text: string, error?: boolean): void;
  /** Feed every message from the main thread here; returns false for ones that are not replies. */
  receive(message: MainToUi): boolean;
}

type Request = UiToMain extends infer M ? (M extends { requestId: number } ? Omit<M, 'requestId'> : never) : never;

export function createMainRpc(send: (message: UiToMain) => void): MainRpc {
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const call = <T>(request: Request): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const requestId = next++;
      pending.set(requestId, { resolve: resolve as (v: unknown) => void, reject });
      send({ ...request, requestId } as UiToMain);
    });
  return {
    readFrame: (frameId) => call<FrameData>({ type: 'read-frame', ...(frameId ? { frameId } : {}) }),
    place: (place) => call<{ nodeId: string }>({ type: 'place', place }),
    saveSettings: (settings) => call<void>({ type: 'save-settings', settings }),
    savePrefs: (prefs) => call<void>({ type: 'save-prefs', prefs }),
    // Parsed on this side: a bad file is refused before the document is touched, and zod stays out of the sandbox.
    addPose: async (json) => call<{ people: number }>({ type: 'add-pose', skeleton: skeletonFromPose(parsePoseJson(json)) }),
    readPose: (frameId) => call<PoseRead>({ type: 'read-pose', ...(frameId ? { frameId } : {}) }),
    notify: (text, error) => send({ type: 'notify', text, ...(error ? { error } : {}) }),
    receive(message) {
      if (message.type !== 'reply') return false;
      const waiting = pending.get(message.requestId);
      if (!waiting) return true;
      pending.delete(message.requestId);
      if (message.ok) waiting.resolve(message.value);
      else waiting.reject(new Error(message.error));
      return true;
    },
  };
}
