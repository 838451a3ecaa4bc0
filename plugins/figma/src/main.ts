// The main thread's side of the conversation with the UI: each request is answered by one reply with
// the same id, an error becoming a message the UI shows. code.ts connects this to `figma`.
import type { FigmaHost } from './host.js';
import type { MainToUi, UiToMain } from './messages.js';

export function createMessageHandler(host: FigmaHost, post: (message: MainToUi) => void): (message: UiToMain) => Promise<void> {
  const reply = async (requestId: number, work: () => Promise<unknown>) => {
    try {
      post({ type: 'reply', requestId, ok: true, value: await work() });
    } catch (err) {
      post({ type: 'reply', requestId, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  };
  return async (message) => {
    switch (message.type) {
      case 'read-frame':
        return reply(message.requestId, () => host.readFrame(message.frameId));
      case 'place':
        return reply(message.requestId, async () => {
          const placed = await host.placeResult(message.place);
          host.notify(`Kirie: added "${message.place.name}"`);
          return placed;
        });
      case 'add-pose':
        return reply(message.requestId, () => host.addPose(message.skeleton));
      case 'read-pose':
        return reply(message.requestId, () => host.readPose(message.frameId));
      case 'save-settings':
        return reply(message.requestId, () => host.saveSettings(message.settings));
      case 'save-prefs':
        return reply(message.requestId, () => host.savePrefs(message.prefs));
      case 'notify':
        return host.notify(message.text, message.error);
    }
  };
}
