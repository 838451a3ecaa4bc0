// What the bridge's models folder offers a panel beyond the built-in presets: its style list (LoRA styles
// included) and its LoRAs as weight sliders. Fetched through the typed client; header text (names, trigger
// words) is untrusted and only ever set as text.
import type { KirieApi } from '@kirie/core/client/client';
import type { AdapterInfo, StyleInfo } from '@kirie/core/client/protocol';

/** Slider range, in percent of A1111's multiplier: 0–1.5 covers the weights LoRA pages recommend. */
export const LORA_PERCENT = { min: 0, max: 150, step: 5 } as const;
/** A1111's default multiplier suggestion when a file states none. */
const FALLBACK_WEIGHT = 0.8;

export interface LoraChoice {
  name: string;
  /** The slider's starting weight: the file's preferred weight. */
  weight: number;
  /** Shown as a tooltip: family and trigger words. */
  hint: string;
}

export interface BridgeChoices {
  styles: StyleInfo[];
  loras: LoraChoice[];
  /** Embeddings are used by typing their name in the prompt. */
  embeddings: string[];
}

export function loraChoices(adapters: readonly AdapterInfo[]): LoraChoice[] {
  return adapters
    .filter((a) => a.kind === 'lora' && !a.problem)
    .map((a) => ({
      name: a.name,
      weight: Math.min(LORA_PERCENT.max / 100, Math.max(0, a.preferredWeight ?? FALLBACK_WEIGHT)),
      hint: [a.family, a.triggerWords.length > 0 ? `trigger words: ${a.triggerWords.join(', ')}` : ''].filter(Boolean).join('; '),
    }));
}

export async function fetchBridgeChoices(client: KirieApi): Promise<BridgeChoices> {
  const [styles, adapters] = await Promise.all([client.styles(), client.adapters()]);
  return { styles, loras: loraChoices(adapters), embeddings: adapters.filter((a) => a.kind === 'embedding' && !a.problem).map((a) => a.name) };
}
