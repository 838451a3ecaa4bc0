// What a panel's form says, turned into the request fields every flow shares. A style preset (core's
// STYLE_PRESETS) supplies prompt wording and sampler settings; anything the user set explicitly wins.
import type { KirieApi } from '@kirie/core/client/client';
import type { StyleInfo } from '@kirie/core/client/protocol';
import { applyStyle, STYLE_PRESETS, styleSettings } from '@kirie/core/styles/presets';
import type { FamilyId } from '@kirie/core/models/family';
import type { InpaintOptionsInput } from '@kirie/core/image/options';
import { BRIDGE_PORT_RANGE, DEFAULT_BRIDGE_PORT, isBridgePort } from '@kirie/core/client/ports';
import { type BaseRequest, modelFamily } from './repaint.js';
import type { RecipeSettings } from './recipe-paste.js';
import { LORA_PERCENT } from './adapters.js';
import { fastAcceleration } from './fast.js';

/** A LoRA as a request names it: A1111's multiplier (UNet, and text encoder unless given apart). */
export interface LoraWeight {
  name: string;
  weight: number;
  textEncoderWeight?: number;
}

export interface PanelOptions {
  prompt: string;
  negativePrompt?: string;
  /** A style id from the bridge's list (a built-in preset or a LoRA style), or undefined for the prompt as typed. */
  style?: string;
  /** LoRAs picked with the panel's sliders; they go with every generation, Remake and Variations included. */
  loras?: LoraWeight[];
  /** Denoising strength 0..1 (exclusive of 0); undefined = the style's, or the flow's default. */
  strength?: number;
  steps?: number;
  seed?: number;
  /** Model id on the bridge; undefined = the bridge's default. */
  model?: string;
  /** Match the result's colours to its surroundings (core's InpaintOptions.colorMatch); default on. */
  colorMatch?: boolean;
  /** Settings a pasted recipe brought that the form has no field for (recipe-paste.ts). */
  recipe?: RecipeSettings;
  /** "Fast": the request carries FAST_ACCELERATION (DeepCache). */
  fast?: boolean;
}

export interface PreparedRequest {
  request: BaseRequest;
  strength: number;
  /** Short label for layer names: the style's name or the prompt's start. */
  label: string;
  inpaint: InpaintOptionsInput;
}

/**
 * `styles`: the list the style id is looked up in (the bridge's, LoRA styles included); `family`: the model's,
 * as the bridge lists it, which picks the style's recommended settings.
 */
export function prepareRequest(options: PanelOptions, defaultStrength: number, styles: readonly StyleInfo[] = STYLE_PRESETS, family?: FamilyId): PreparedRequest {
  const style = options.style ? findStyle(options.style, styles) : undefined;
  const settings = style ? styleSettings(style, family) : undefined;
  const strength = options.strength ?? settings?.strength ?? defaultStrength;
  if (!(strength > 0 && strength <= 1)) throw new Error(`strength must be greater than 0 and at most 1, got ${strength}`);
  // Typed prompts read as A1111 does ((word:1.2), [word], BREAK, [a:b:when], long prompts): what prompt guides teach.
  const base: BaseRequest = { promptSyntax: 'a1111', ...options.recipe, prompt: options.prompt.trim() };
  let label = options.prompt.trim().slice(0, 32) || 'generated';
  if (style && settings) {
    const { prompt, negativePrompt } = applyStyle(style, options.prompt);
    Object.assign(base, { prompt, negativePrompt, steps: settings.steps, guidance: settings.guidance, scheduler: settings.scheduler });
    label = style.name.replace(/\s*\(.*\)$/, '').toLowerCase();
  } else if (!base.prompt) {
    throw new Error('type a prompt or pick a style');
  }
  if (options.negativePrompt?.trim()) base.negativePrompt = [base.negativePrompt, options.negativePrompt.trim()].filter(Boolean).join(', ');
  if (options.steps !== undefined) base.steps = options.steps;
  if (options.seed !== undefined) base.seed = options.seed;
  if (options.model) base.model = options.model;
  const loras = mergeLoras<NonNullable<BaseRequest['loras']>[number]>(options.recipe?.loras, style?.loras, options.loras);
  if (loras.length > 0) base.loras = loras;
  if (options.fast) base.acceleration = fastAcceleration();
  return { request: base, strength, label, inpaint: options.colorMatch === undefined ? {} : { colorMatch: options.colorMatch } };
}

/**
 * prepareRequest with the style looked up in the bridge's list when it is not a built-in preset (a LoRA style),
 * and its settings for the family the bridge lists the model with.
 */
export async function prepareForBridge(client: KirieApi, options: PanelOptions, defaultStrength: number): Promise<PreparedRequest> {
  const builtIn = !options.style || STYLE_PRESETS.some((s) => s.id === options.style);
  const family = options.style ? await modelFamily(client, options.model) : undefined;
  return prepareRequest(options, defaultStrength, builtIn ? STYLE_PRESETS : await client.styles(), family);
}

function findStyle(id: string, styles: readonly StyleInfo[]): StyleInfo {
  const style = styles.find((s) => s.id === id);
  if (!style) throw new Error(`unknown style "${id}"; known styles: ${styles.map((s) => s.id).join(', ')}`);
  return style;
}

/** A pasted recipe's LoRAs, then the style's, then the sliders': a later one of the same name wins, so each LoRA is applied once. */
function mergeLoras<T extends { name: string }>(...lists: (readonly T[] | undefined)[]): T[] {
  const byName = new Map<string, T>();
  for (const lora of lists.flatMap((l) => l ?? [])) {
    byName.delete(lora.name);
    byName.set(lora.name, lora);
  }
  return [...byName.values()];
}

/** Name of a result layer, e.g. "Kirie · paper-cut". */
export function layerName(label: string): string {
  return `Kirie · ${label}`;
}

/** The panel form's raw strings, as both hosts' UIs collect them. Empty = not set. */
export interface PanelForm {
  prompt: string;
  negativePrompt?: string;
  style?: string;
  strength?: string;
  steps?: string;
  seed?: string;
  model?: string;
  colorMatch?: boolean;
  /** The Fast toggle, only while it is enabled. */
  fast?: boolean;
  /** The LoRA sliders, in percent (UNet and text encoder); only the ones switched on. */
  loras?: { name: string; percent: string; textPercent?: string }[];
}

function numberField(name: string, raw: string | undefined, check: (v: number) => boolean, rule: string): number | undefined {
  const text = raw?.trim();
  if (!text) return undefined;
  const v = Number(text);
  if (!Number.isFinite(v) || !check(v)) throw new Error(`${name} must be ${rule}, got "${text}"`);
  return v;
}

/** Checks the form and names the first bad field; the bridge validates the full request again. */
export function optionsFromForm(form: PanelForm): PanelOptions {
  const options: PanelOptions = { prompt: form.prompt };
  const strength = numberField('strength', form.strength, (v) => v > 0 && v <= 1, 'a number above 0 and at most 1');
  const steps = numberField('steps', form.steps, (v) => Number.isInteger(v) && v >= 1 && v <= 150, 'a whole number from 1 to 150');
  const seed = numberField('seed', form.seed, (v) => Number.isSafeInteger(v) && v >= -1, 'a whole number ≥ 0, or -1 for random');
  if (form.negativePrompt?.trim()) options.negativePrompt = form.negativePrompt;
  if (form.style) options.style = form.style;
  if (strength !== undefined) options.strength = strength;
  if (steps !== undefined) options.steps = steps;
  if (seed !== undefined) options.seed = seed;
  if (form.model?.trim()) options.model = form.model.trim();
  if (form.colorMatch !== undefined) options.colorMatch = form.colorMatch;
  if (form.fast) options.fast = true;
  const { min, max } = LORA_PERCENT;
  const loras = (form.loras ?? []).map((l) => {
    const name = `the weight of LoRA "${l.name}"`;
    const percent = numberField(name, l.percent, (v) => v >= min && v <= max, `a percentage from ${min} to ${max}`);
    if (percent === undefined) throw new Error(`${name} is not set`);
    const text = numberField(`the text-encoder weight of LoRA "${l.name}"`, l.textPercent, (v) => v >= min && v <= max, `a percentage from ${min} to ${max}`);
    return { name: l.name, weight: percent / 100, ...(text !== undefined && text !== percent ? { textEncoderWeight: text / 100 } : {}) };
  });
  if (loras.length > 0) options.loras = loras;
  return options;
}

export interface BridgeSettings {
  url: string;
  token: string;
}

export const DEFAULT_BRIDGE_URL = `http://127.0.0.1:${DEFAULT_BRIDGE_PORT}`;

/** A bridge URL the plugins' network permissions allow: http on 127.0.0.1 or localhost, a port of BRIDGE_PORTS, no path. */
export function checkBridgeUrl(typed: string): string {
  const url = typed.trim().replace(/\/+$/, '') || DEFAULT_BRIDGE_URL;
  const parts = /^http:\/\/(?:127\.0\.0\.1|localhost)(?::(\d{1,5}))?$/.exec(url);
  if (!parts) {
    throw new Error(`bridge URL must look like ${DEFAULT_BRIDGE_URL} (http, 127.0.0.1 or localhost, a port, no path); got "${typed}"`);
  }
  const port = Number(parts[1] ?? 80);
  if (!isBridgePort(port)) {
    throw new Error(
      `port ${port} is not one the plugin may connect to: the host only lets it reach the ports its manifest lists, ${BRIDGE_PORT_RANGE}. ` +
        `Start the bridge on one of them (\`kirie serve --port ${DEFAULT_BRIDGE_PORT}\`) and use that port here`,
    );
  }
  return url;
}

export function checkBridgeSettings(settings: BridgeSettings): BridgeSettings {
  const url = checkBridgeUrl(settings.url);
  const token = settings.token.trim();
  if (!token) throw new Error('no bridge token yet: press "Pair with bridge", or run `kirie token` in a terminal and paste what it prints');
  return { url, token };
}
