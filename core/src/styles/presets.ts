// Style presets: one place that says what "paper-cut" or "watercolour" means as a prompt and as settings.
// Served by the bridge at /v1/styles and applied by clients before a request is sent, so a recipe always
// records the final prompt that produced an image rather than a style name whose meaning may change.
import type { LoraUse, SchedulerName } from '../request/schema.js';
import type { AdapterInfo } from '../client/protocol.js';
import type { FamilyId } from '../models/family.js';

export interface StyleSettings {
  steps: number;
  guidance: number;
  scheduler: SchedulerName;
  /** For img2img/inpaint: how much of the source may change (0..1). */
  strength: number;
  /** Text-to-image size: the style's aspect at the family's native resolution (flows that crop pick their own). */
  width: number;
  height: number;
}

export interface StylePreset {
  id: string;
  name: string;
  description: string;
  /** `{prompt}` is replaced by the user's prompt. */
  promptTemplate: string;
  negativePrompt: string;
  /** What the style recommends for each model family; the picked model's family chooses (styleSettings). */
  settings: Readonly<Record<FamilyId, StyleSettings>>;
  /** LoRAs the style applies (request `loras`), e.g. a style LoRA from the models folder at its preferred weight. */
  loras?: LoraUse[];
}

const COMMON_NEGATIVE = 'lowres, blurry, jpeg artifacts, watermark, signature, text';

/**
 * Sizes per family: SD 1.x's 512 side (2:3 portraits, as SD1.5 fine-tunes are trained); SDXL's training
 * buckets of about 1024² pixels in multiples of 64 (1024², 832×1216, 1216×832). SDXL settings below guide
 * less than SD 1.x (SDXL model cards and CivitAI's SDXL fine-tunes recommend CFG 5–7, SD1.5 7–8).
 */
const SIZES = {
  sd1: { square: { width: 512, height: 512 }, portrait: { width: 512, height: 768 }, landscape: { width: 768, height: 512 } },
  sdxl: { square: { width: 1024, height: 1024 }, portrait: { width: 832, height: 1216 }, landscape: { width: 1216, height: 832 } },
} as const;

export const STYLE_PRESETS: readonly StylePreset[] = [
  {
    id: 'kirie',
    name: 'Paper-cut (kirie)',
    description: 'Layered cut paper with crisp edges and soft drop shadows between layers.',
    promptTemplate: '{prompt}, paper-cut art, kirie, layered cut paper, crisp edges, soft shadows between layers, papercraft',
    negativePrompt: `${COMMON_NEGATIVE}, photo, photorealistic, 3d render, gradient`,
    settings: {
      sd1: { steps: 25, guidance: 7.5, scheduler: 'dpmpp_2m_karras', strength: 0.75, ...SIZES.sd1.square },
      sdxl: { steps: 30, guidance: 6, scheduler: 'dpmpp_2m_karras', strength: 0.75, ...SIZES.sdxl.square },
    },
  },
  {
    id: 'pop-up-book',
    name: 'Pop-up book',
    description: 'Folded card standing out of an open book, diorama lighting.',
    promptTemplate: '{prompt}, pop-up book, folded paper diorama, open book, card stock, studio lighting',
    negativePrompt: `${COMMON_NEGATIVE}, flat, painting`,
    settings: {
      sd1: { steps: 25, guidance: 7, scheduler: 'dpmpp_2m_karras', strength: 0.75, ...SIZES.sd1.landscape },
      sdxl: { steps: 30, guidance: 6, scheduler: 'dpmpp_2m_karras', strength: 0.75, ...SIZES.sdxl.landscape },
    },
  },
  {
    id: 'mosaic',
    name: 'Mosaic',
    description: 'Small ceramic tesserae with visible grout lines.',
    promptTemplate: '{prompt}, mosaic, ceramic tesserae, visible grout lines, byzantine tile art',
    negativePrompt: `${COMMON_NEGATIVE}, smooth, photo`,
    settings: {
      sd1: { steps: 30, guidance: 7.5, scheduler: 'euler_ancestral', strength: 0.8, ...SIZES.sd1.square },
      sdxl: { steps: 30, guidance: 6, scheduler: 'euler_ancestral', strength: 0.8, ...SIZES.sdxl.square },
    },
  },
  {
    id: 'isometric-3d',
    name: 'Isometric 3D',
    description: 'Clean isometric render with soft global illumination.',
    promptTemplate: '{prompt}, isometric 3d render, low poly, soft global illumination, pastel colors, clean background',
    negativePrompt: `${COMMON_NEGATIVE}, perspective distortion, photo, grainy`,
    settings: {
      sd1: { steps: 25, guidance: 7, scheduler: 'dpmpp_2m_karras', strength: 0.7, ...SIZES.sd1.square },
      sdxl: { steps: 30, guidance: 5.5, scheduler: 'dpmpp_2m_karras', strength: 0.7, ...SIZES.sdxl.square },
    },
  },
  {
    id: 'watercolour',
    name: 'Watercolour',
    description: 'Wet-on-wet washes on textured paper.',
    promptTemplate: '{prompt}, watercolour painting, wet on wet, soft washes, textured cold-press paper, bleeding edges',
    negativePrompt: `${COMMON_NEGATIVE}, photo, 3d render, hard edges`,
    settings: {
      sd1: { steps: 25, guidance: 7, scheduler: 'euler_ancestral', strength: 0.65, ...SIZES.sd1.portrait },
      sdxl: { steps: 30, guidance: 6, scheduler: 'euler_ancestral', strength: 0.65, ...SIZES.sdxl.portrait },
    },
  },
  {
    id: 'line-art',
    name: 'Line art',
    description: 'Black ink outlines on white, no shading.',
    promptTemplate: '{prompt}, line art, clean black ink outlines, white background, no shading, vector illustration',
    negativePrompt: `${COMMON_NEGATIVE}, color, shading, gradient, photo`,
    settings: {
      sd1: { steps: 20, guidance: 8, scheduler: 'euler', strength: 0.75, ...SIZES.sd1.square },
      sdxl: { steps: 25, guidance: 7, scheduler: 'euler', strength: 0.75, ...SIZES.sdxl.square },
    },
  },
  {
    id: 'photo',
    name: 'Photo',
    description: 'Natural photograph with realistic light.',
    promptTemplate: '{prompt}, professional photograph, natural light, 35mm, sharp focus, high detail',
    negativePrompt: `${COMMON_NEGATIVE}, drawing, painting, illustration, cartoon, 3d render`,
    settings: {
      sd1: { steps: 30, guidance: 6.5, scheduler: 'dpmpp_2m_karras', strength: 0.6, ...SIZES.sd1.portrait },
      sdxl: { steps: 30, guidance: 5, scheduler: 'dpmpp_2m_karras', strength: 0.6, ...SIZES.sdxl.portrait },
    },
  },
];

export function findStyle(id: string): StylePreset {
  const style = STYLE_PRESETS.find((s) => s.id === id);
  if (!style) throw new Error(`unknown style "${id}"; known styles: ${STYLE_PRESETS.map((s) => s.id).join(', ')}`);
  return style;
}

/** The settings `style` recommends for a model of `family`; SD 1.x's when the bridge lists none (ONNX folders). */
export function styleSettings(style: Pick<StylePreset, 'settings'>, family: FamilyId | undefined): StyleSettings {
  return style.settings[family ?? 'sd1'];
}

/** The prompt a style turns the user's prompt into (and its LoRAs); an empty user prompt leaves the style's own words. */
export function applyStyle(style: StylePreset, prompt: string): { prompt: string; negativePrompt: string; loras?: LoraUse[] } {
  const trimmed = prompt.trim();
  const filled = style.promptTemplate.replace('{prompt}', trimmed);
  return { prompt: trimmed ? filled : filled.replace(/^,\s*/, ''), negativePrompt: style.negativePrompt, ...(style.loras ? { loras: style.loras } : {}) };
}

/** A1111's default LoRA multiplier suggestion when a file states none; strong enough to show, weak enough to mix. */
const DEFAULT_LORA_WEIGHT = 0.8;

/**
 * A LoRA found in the models folder as a style: its trigger words after the prompt, at its preferred weight.
 * Trigger words come from the file (untrusted): they only ever become prompt text.
 */
export function loraStyle(adapter: Pick<AdapterInfo, 'name' | 'triggerWords' | 'preferredWeight' | 'family'>): StylePreset {
  const words = adapter.triggerWords.join(', ');
  return {
    id: `lora:${adapter.name}`,
    name: `${adapter.name} (LoRA)`,
    description: `LoRA from the models folder${adapter.family !== 'unknown' ? ` (${adapter.family})` : ''}${words ? `; trigger words: ${words}` : ''}`,
    promptTemplate: words ? `{prompt}, ${words}` : '{prompt}',
    negativePrompt: COMMON_NEGATIVE,
    settings: {
      sd1: { steps: 25, guidance: 7, scheduler: 'dpmpp_2m_karras', strength: 0.75, ...SIZES.sd1.square },
      sdxl: { steps: 30, guidance: 6, scheduler: 'dpmpp_2m_karras', strength: 0.75, ...SIZES.sdxl.square },
    },
    loras: [{ name: adapter.name, weight: adapter.preferredWeight ?? DEFAULT_LORA_WEIGHT }],
  };
}
