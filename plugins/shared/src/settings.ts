// What a panel's form says, turned into the request fields every flow shares. A style preset (core's
// STYLE_PRESETS) supplies prompt wording and sampler settings; anything the user set explicitly wins.
import { applyStyle, findStyle } from '@kirie/core/styles/presets';
import type { InpaintOptionsInput } from '@kirie/core/image/options';
import type { BaseRequest } from './repaint.js';

export interface PanelOptions {
  prompt: string;
  negativePrompt?: string;
  /** A style preset id, or undefined for the prompt as typed. */
  style?: string;
  /** Denoising strength 0..1 (exclusive of 0); undefined = the style's, or the flow's default. */
  strength?: number;
  steps?: number;
  seed?: number;
  /** Model id on the bridge; undefined = the bridge's default. */
  model?: string;
  /** Match the result's colours to its surroundings (core's InpaintOptions.colorMatch); default on. */
  colorMatch?: boolean;
}

export interface PreparedRequest {
  request: BaseRequest;
  strength: number;
  /** Short label for layer names: the style's name or the prompt's start. */
  label: string;
  inpaint: InpaintOptionsInput;
}

export function prepareRequest(options: PanelOptions, defaultStrength: number): PreparedRequest {
  const strength = options.strength ?? (options.style ? findStyle(options.style).settings.strength : defaultStrength);
  if (!(strength > 0 && strength <= 1)) throw new Error(`strength must be greater than 0 and at most 1, got ${strength}`);
  const base: BaseRequest = { prompt: options.prompt.trim() };
  let label = options.prompt.trim().slice(0, 32) || 'generated';
  if (options.style) {
    const style = findStyle(options.style);
    const { prompt, negativePrompt } = applyStyle(style, options.prompt);
    Object.assign(base, { prompt, negativePrompt, steps: style.settings.steps, guidance: style.settings.guidance, scheduler: style.settings.scheduler });
    label = style.name.replace(/\s*\(.*\)$/, '').toLowerCase();
  } else if (!base.prompt) {
    throw new Error('type a prompt or pick a style');
  }
  if (options.negativePrompt?.trim()) base.negativePrompt = [base.negativePrompt, options.negativePrompt.trim()].filter(Boolean).join(', ');
  if (options.steps !== undefined) base.steps = options.steps;
  if (options.seed !== undefined) base.seed = options.seed;
  if (options.model) base.model = options.model;
  return { request: base, strength, label, inpaint: options.colorMatch === undefined ? {} : { colorMatch: options.colorMatch } };
}

/** Name of a result layer, e.g. "Kirie · paper-cut". */
export function layerName(label: string): string {
  return `Kirie · ${label}`;
}
