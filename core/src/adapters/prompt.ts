// LoRAs and embeddings as a request names them: the `loras` field plus AUTOMATIC1111's extra-network tags in
// the prompt (`<lora:name>`, `<lora:name:w>`, `<lora:name:te:unet>`, named `te=` / `unet=`; `lyco` is A1111's
// old alias), which are removed from the text the text encoder sees, as A1111 does (extra_networks.py,
// networks.py). Embeddings are called by name anywhere in the prompt or the negative prompt.
import { AdapterName, type LoraUse } from '../request/schema.js';
import { EXTRA_NETWORK } from '../prompt/extra-networks.js';

/** Extra-network tag types that name a LoRA (A1111 `lyco` is its old alias). */
export const LORA_TYPES = new Set(['lora', 'lyco']);

function multiplier(value: string, tag: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`${tag}: "${value}" is not a number`);
  return n;
}

/** One tag's LoRA: positional te then unet (unet defaults to te), or named te= / unet=. */
function loraOfTag(args: string, tag: string): LoraUse {
  const [rawName, ...rest] = args.split(':');
  const name = AdapterName.safeParse(rawName!.trim());
  if (!name.success) throw new Error(`${tag}: ${name.error.issues[0]!.message}`);
  const positional: string[] = [];
  const named: Record<string, string> = {};
  for (const part of rest) {
    const eq = /^\s*(\w+)\s*=(.*)$/.exec(part);
    if (eq) named[eq[1]!] = eq[2]!;
    else positional.push(part);
  }
  const te = named.te ?? positional[0];
  const unet = named.unet ?? positional[1] ?? te;
  const teWeight = te === undefined ? 1 : multiplier(te, tag);
  const unetWeight = unet === undefined ? 1 : multiplier(unet, tag);
  return { name: name.data, weight: unetWeight, ...(teWeight !== unetWeight ? { textEncoderWeight: teWeight } : {}) };
}

/** The prompt without its LoRA tags, and the LoRAs they name (other extra networks, e.g. hypernet, stay in the text). */
export function extractLoraTags(prompt: string): { prompt: string; loras: LoraUse[] } {
  const loras: LoraUse[] = [];
  const text = prompt.replace(EXTRA_NETWORK, (tag, type: string, args: string) => {
    if (!LORA_TYPES.has(type)) return tag;
    loras.push(loraOfTag(args, tag));
    return '';
  });
  return { prompt: text, loras };
}

/** The tag that asks for `use`, as A1111 writes it (`<lora:name:w>` or `<lora:name:te:unet>`). */
export function loraTag(use: LoraUse): string {
  const te = use.textEncoderWeight ?? use.weight;
  return te === use.weight ? `<lora:${use.name}:${use.weight}>` : `<lora:${use.name}:${te}:${use.weight}>`;
}

/** A word (an embedding's name) added to a prompt as A1111's extra-networks cards add one: after a comma. */
export function withPromptWord(text: string, word: string): string {
  const base = text.trimEnd();
  return base ? `${base}${base.endsWith(',') ? ' ' : ', '}${word}` : word;
}

/** Names of `available` embeddings a text calls (exact substrings, as the tokenizer matches them). */
export function embeddingsCalled(texts: readonly string[], available: readonly string[]): string[] {
  return available.filter((name) => texts.some((t) => t.includes(name)));
}
