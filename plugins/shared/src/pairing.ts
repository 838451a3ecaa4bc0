// "Pair with bridge" in both panels: ask the bridge for a code, tell the user exactly where to type it,
// and wait for the token (core/src/client/pairing.ts has the protocol and why it is safe).
import { pairWithBridge, type PairOptions } from '@kirie/core/client/pairing';
import { checkBridgeUrl } from './settings.js';

export function pairingInstructions(code: string): string {
  return `Pairing code ${code}. In the window where the bridge runs (npm start / kirie serve), type ${code} and press Enter, or run \`npx kirie pair ${code}\`. Waiting for it…`;
}

export interface PanelPairing extends Pick<PairOptions, 'fetch' | 'signal' | 'pollMs'> {
  /** The Bridge section's URL field as typed. */
  url: string;
  client: 'Photoshop' | 'Figma';
  /** Shows a line to the user (the panel's status). */
  show(text: string): void;
}

/** Resolves with the token once the user approved the code; the URL is checked before anything is sent. */
export async function pairPanel(options: PanelPairing): Promise<string> {
  const { url, client, show, ...rest } = options;
  return await pairWithBridge({ ...rest, url: checkBridgeUrl(url), client, onCode: (code) => show(pairingInstructions(code)) });
}
