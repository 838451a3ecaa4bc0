// The "parameters" text AUTOMATIC1111 stores in its PNGs, written and read so that recipes travel both
// ways between Kirie and the tools that use this format (A1111, Forge, SD.Next, Civitai, ...):
//
//   a red fox
//   Negative prompt: blurry
//   Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1, Size: 512x512, Model hash: 6ce0161689, Model: v1-5, ...
//
// A value holding ',', ':' or a newline is written as a JSON string (A1111's `quote`).
//
// Which sampler semantics a text means: A1111's own (k-diffusion, its noise) unless Kirie marked it with
// "Sampling: diffusers" (Kirie's diffusers-exact schedulers) or "Sampling: ComfyUI" (ComfyUI's KSampler names).
// The prompt's syntax follows the same origin (A1111's own, plain for diffusers, ComfyUI's) unless a
// "Prompt syntax" entry says otherwise; A1111's "Emphasis" and "Pad conds" are its own keys.
import type { ControlPreprocessor, ControlUnit, GenerateRequest, GenerateRequestInput } from '../request/schema.js';
import { A1111_BROWNIAN_REFUSAL, A1111_BROWNIAN_SAMPLERS, COMFY_SAMPLER_NAMES, splitLegacyA1111Sampler, type ComfySampler } from '../kdiffusion/names.js';
import { A1111_SCHEDULE_TYPES, COMFY_SCHEDULERS, type A1111ScheduleType, type ComfyScheduler } from '../kdiffusion/schedules.js';
import { A1111_RNG_SOURCES } from '../rng/a1111.js';
import { findScheduler, SCHEDULERS } from '../schedulers/registry.js';
import { loraTag, LORA_TYPES } from '../adapters/prompt.js';
import { A1111_EMPHASIS } from '../prompt/chunks.js';
import { stripExtraNetworks } from '../prompt/extra-networks.js';
import type { PromptSyntax } from '../prompt/stage.js';

export interface A1111Context {
  /** The seed this image was made with (image i of a batch: seed + i). */
  seed: number;
  modelName: string;
  /** A1111's short hash: the first 10 hex digits of the checkpoint file's sha256. */
  modelHash?: string;
  /** Written as "Version: ..." (A1111 writes its own version there). */
  version?: string;
  /**
   * "Lora hashes": each LoRA's name and A1111's short hash (the first 12 hex digits of the sha256 of the
   * safetensors data after the header, sd-scripts' addnet hash), so sites like Civitai can link the LoRAs.
   */
  loraHashes?: Record<string, string>;
}

function quote(value: string): string {
  return /[,:\n]/.test(value) ? JSON.stringify(value) : value;
}

function unquote(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  try {
    return JSON.parse(value) as string;
  } catch {
    return value;
  }
}

function samplerLabel(scheduler: string): string {
  return findScheduler(scheduler)?.label ?? scheduler;
}

// sd-webui-controlnet's module names for Kirie's preprocessors (openpose_full also draws hands and face).
function moduleName(p: ControlPreprocessor): string {
  return p.type === 'openpose' && p.full ? 'openpose_full' : p.type;
}

/** The preprocessor an A1111 unit's module names, or undefined for a module Kirie does not run (depth, lineart, ...). */
export function modulePreprocessor(control: A1111Control): ControlPreprocessor | undefined {
  switch (control.module.toLowerCase()) {
    case 'none':
      return { type: 'none' };
    case 'canny':
      return { type: 'canny', low: control.thresholds?.[0] ?? 100, high: control.thresholds?.[1] ?? 200 };
    case 'openpose':
      return { type: 'openpose', full: false };
    case 'openpose_full':
      return { type: 'openpose', full: true };
    default:
      return undefined;
  }
}

function controlText(unit: ControlUnit): string {
  const module = unit.pose ? 'openpose' : moduleName(unit.preprocessor);
  const parts = [`Module: ${module}`, `Model: ${unit.model}`, `Weight: ${unit.scale}`];
  if (unit.preprocessor.type === 'canny') parts.push(`Threshold A: ${unit.preprocessor.low}`, `Threshold B: ${unit.preprocessor.high}`);
  parts.push(`Guidance Start: ${unit.start}`, `Guidance End: ${unit.end}`);
  return parts.join(', ');
}

const SAMPLING_KEY = 'Sampling';
const DIFFUSERS = 'diffusers';
const COMFYUI = 'ComfyUI';

type Param = [string, string | number | undefined];

const PROMPT_SYNTAX_KEY = 'Prompt syntax';
const SYNTAX_LABELS: Record<PromptSyntax, string> = { plain: 'plain', a1111: 'A1111', comfyui: 'ComfyUI' };

/** The prompt syntax a text means when it has no "Prompt syntax" entry: that of its sampling's origin. */
function originSyntax(origin: string | undefined): PromptSyntax {
  return origin === DIFFUSERS ? 'plain' : origin === COMFYUI ? 'comfyui' : 'a1111';
}

/** "Prompt syntax" where the request's differs from what the text's origin implies, then A1111's emphasis keys. */
function promptParams(request: GenerateRequest, origin: string | undefined): Param[] {
  const syntax = request.promptSyntax ?? 'plain';
  return [
    [PROMPT_SYNTAX_KEY, syntax === originSyntax(origin) ? undefined : SYNTAX_LABELS[syntax]],
    ['Emphasis', request.emphasis],
    ['Pad conds', request.padConds === undefined ? undefined : request.padConds ? 'True' : 'False'],
  ];
}

/** Sampler, schedule and noise entries: A1111's own keys for A1111 sampling, Kirie's marker otherwise. */
function samplingParams(request: GenerateRequest): Param[] {
  const s = request.sampling;
  if (!s) return [['Sampler', samplerLabel(request.scheduler)], [SAMPLING_KEY, DIFFUSERS]];
  if (s.tool === 'comfyui') return [['Sampler', s.samplerName], ['Schedule type', s.scheduler], [SAMPLING_KEY, COMFYUI]];
  const varied = s.variationStrength > 0;
  return [
    ['Sampler', s.sampler],
    ['Schedule type', s.scheduleType],
    ['RNG', s.rng],
    ['Variation seed', varied ? s.variationSeed : undefined],
    ['Variation seed strength', varied ? s.variationStrength : undefined],
    ['ENSD', s.etaNoiseSeedDelta || undefined],
  ];
}

/** The parameters text for one image of `request`. */
export function formatA1111(request: GenerateRequest, ctx: A1111Context): string {
  const [sampler, ...samplingRest] = samplingParams(request);
  const params: Param[] = [
    ['Steps', request.steps],
    sampler,
    ['CFG scale', request.guidance],
    ['Seed', ctx.seed],
    ['Size', `${request.width}x${request.height}`],
    ['Model hash', ctx.modelHash],
    ['Model', ctx.modelName],
    ['Denoising strength', request.initImage !== undefined ? request.strength : undefined],
    ['Clip skip', request.clipSkip > 1 ? request.clipSkip : undefined],
    ...samplingRest,
    ...promptParams(request, samplingRest.find(([k]) => k === SAMPLING_KEY)?.[1] as string | undefined),
    ...request.control.map((u, i): [string, string] => [`ControlNet ${i}`, controlText(u)]),
    ['Lora hashes', loraHashes(ctx.loraHashes)],
    ['Version', ctx.version],
  ];
  const line = params
    .filter((p): p is [string, string | number] => p[1] !== undefined)
    .map(([k, v]) => `${k}: ${quote(String(v))}`)
    .join(', ');
  const negative = request.negativePrompt ? `\nNegative prompt: ${request.negativePrompt}` : '';
  // A1111 has no LoRA field: LoRAs live in the prompt as tags, so the request's `loras` join the prompt text.
  const prompt = [request.prompt, ...(request.loras ?? []).map(loraTag)].join(' ');
  return `${prompt}${negative}\n${line}`;
}

function loraHashes(hashes: Record<string, string> | undefined): string | undefined {
  if (!hashes || Object.keys(hashes).length === 0) return undefined;
  return Object.entries(hashes).map(([name, hash]) => `${name}: ${hash}`).join(', ');
}

/** A ControlNet unit as far as text can say: its image is not in the recipe. */
export interface A1111Control {
  model: string;
  module: string;
  scale: number;
  start: number;
  end: number;
  thresholds?: [number, number];
}

export interface ParsedA1111 {
  /** Everything the text determines, in request fields (no control units: their images are not in the text). */
  request: Omit<GenerateRequestInput, 'control'>;
  control: A1111Control[];
  modelHash?: string;
  /** Keys Kirie does not use (e.g. Hires upscaler), verbatim. */
  ignored: Record<string, string>;
}

// A1111's re_param: `key: value` pairs, a value either a JSON string or anything up to the next comma.
const PARAM = /\s*([\w ]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/g;

function params(line: string): [string, string][] {
  return [...line.matchAll(PARAM)].map((m) => [m[1].trim(), unquote(m[2].trim())]);
}

function number(key: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`recipe: "${key}" must be a number, got ${JSON.stringify(value)}`);
  return n;
}

function oneOf<T extends string>(key: string, value: string, names: readonly T[]): T {
  if (!(names as readonly string[]).includes(value)) throw new Error(`recipe: "${key}" ${JSON.stringify(value)} is not supported; Kirie has ${names.join(', ')}`);
  return value as T;
}

/** The request's sampling fields for the text's sampler keys, or undefined for Kirie's diffusers-exact schedulers. */
function sampling(values: Map<string, string>): GenerateRequestInput['sampling'] {
  const origin = values.get(SAMPLING_KEY);
  const sampler = values.get('Sampler');
  if (origin === DIFFUSERS || sampler === undefined) return undefined;
  const type = values.get('Schedule type');
  if (origin === COMFYUI) {
    if (!type) throw new Error('recipe: ComfyUI sampling needs a "Schedule type" (its scheduler)');
    return { tool: 'comfyui', samplerName: oneOf<ComfySampler>('Sampler', sampler, COMFY_SAMPLER_NAMES), scheduler: oneOf<ComfyScheduler>('Schedule type', type, COMFY_SCHEDULERS) };
  }
  if (origin !== undefined) throw new Error(`recipe: "${SAMPLING_KEY}" must be ${DIFFUSERS} or ${COMFYUI}, got ${JSON.stringify(origin)}`);
  const brownian = Object.keys(A1111_BROWNIAN_SAMPLERS).find((name) => sampler === name || sampler.startsWith(`${name} `));
  if (brownian) throw new Error(`recipe: sampler "${sampler}" is not supported: ${A1111_BROWNIAN_REFUSAL}`);
  const legacy = splitLegacyA1111Sampler(sampler);
  // A1111's other samplers (DDIM, PLMS, UniPC, LCM) run on timesteps, not k-diffusion: Kirie's diffusers ones stand in.
  if (!legacy) return undefined;
  const rng = values.get('RNG');
  const variationSeed = values.get('Variation seed');
  const variationStrength = values.get('Variation seed strength');
  const ensd = values.get('ENSD');
  return {
    tool: 'a1111',
    sampler: legacy.sampler,
    scheduleType: type ? oneOf<A1111ScheduleType>('Schedule type', type, A1111_SCHEDULE_TYPES) : legacy.scheduleType,
    // "GPU" (A1111's default) is reproduced by "NV", its CPU emulation.
    ...(rng !== undefined ? { rng: rng === 'GPU' ? 'NV' : oneOf('RNG', rng, A1111_RNG_SOURCES) } : {}),
    ...(variationSeed !== undefined ? { variationSeed: number('Variation seed', variationSeed) } : {}),
    ...(variationStrength !== undefined ? { variationStrength: number('Variation seed strength', variationStrength) } : {}),
    ...(ensd !== undefined ? { etaNoiseSeedDelta: number('ENSD', ensd) } : {}),
  };
}

function scheduler(sampler: string, scheduleType: string | undefined): string {
  const label = scheduleType && !/^automatic$/i.test(scheduleType) && !/ karras$/i.test(sampler) ? `${sampler} ${scheduleType}` : sampler;
  const found = SCHEDULERS.find((s) => s.label.toLowerCase() === label.toLowerCase()) ?? findScheduler(label.replace(/\s+/g, '_'));
  if (!found) throw new Error(`recipe: sampler "${label}" is not supported; Kirie has ${SCHEDULERS.map((s) => s.label).join(', ')}`);
  return found.name;
}

function parseControl(key: string, text: string): A1111Control {
  const fields = new Map(params(text).map(([k, v]) => [k.toLowerCase(), v]));
  const model = fields.get('model');
  if (!model) throw new Error(`recipe: "${key}" names no model`);
  const num = (name: string, fallback: number) => (fields.has(name) ? number(`${key} ${name}`, fields.get(name)!) : fallback);
  const control: A1111Control = {
    model,
    module: fields.get('module') ?? 'none',
    scale: num('weight', 1),
    start: num('guidance start', 0),
    end: num('guidance end', 1),
  };
  if (fields.has('threshold a') && fields.has('threshold b')) control.thresholds = [num('threshold a', 100), num('threshold b', 200)];
  return control;
}

/** Reads A1111 "parameters" text (from Kirie or any tool writing the format). */
export function parseA1111(text: string): ParsedA1111 {
  const lines = text.trim().split('\n');
  let last = lines[lines.length - 1] ?? '';
  // The parameter line has at least 3 pairs; otherwise the whole text is prompt.
  if (params(last).length < 3) last = '';
  else lines.pop();
  const prompt: string[] = [];
  const negative: string[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (negative.length === 0 && line.startsWith('Negative prompt:')) negative.push(line.slice('Negative prompt:'.length).trim());
    else (negative.length > 0 ? negative : prompt).push(line);
  }

  const values = new Map(params(last));
  const request: ParsedA1111['request'] = { prompt: prompt.join('\n') };
  if (negative.length > 0) request.negativePrompt = negative.join('\n');
  const chosen = sampling(values);
  const syntaxLabel = values.get(PROMPT_SYNTAX_KEY);
  const syntax = syntaxLabel === undefined ? originSyntax(values.get(SAMPLING_KEY)) : (Object.keys(SYNTAX_LABELS) as PromptSyntax[]).find((k) => SYNTAX_LABELS[k] === syntaxLabel);
  if (!syntax) throw new Error(`recipe: "${PROMPT_SYNTAX_KEY}" ${JSON.stringify(syntaxLabel)} is not supported; Kirie has ${Object.values(SYNTAX_LABELS).join(', ')}`);
  // Plain is what a request without the field means.
  if (syntax !== 'plain') request.promptSyntax = syntax;
  const control: A1111Control[] = [];
  const ignored: Record<string, string> = {};
  let modelHash: string | undefined;
  for (const [key, value] of values) {
    const controlKey = /^ControlNet (\d+)$/.exec(key);
    if (controlKey) {
      control[Number(controlKey[1])] = parseControl(key, value);
      continue;
    }
    switch (key) {
      case 'Steps':
        request.steps = number(key, value);
        break;
      case 'Sampler':
        if (chosen) request.sampling = chosen;
        else request.scheduler = scheduler(value, values.get('Schedule type'));
        break;
      // "RNG: GPU" is reproduced by NV (CUDA's randn within float rounding), so it is reported as not carried exactly.
      case 'RNG':
        if (!chosen || value === 'GPU') ignored[key] = value;
        break;
      case 'Variation seed':
      case 'Variation seed strength':
      case 'ENSD':
        if (!chosen) ignored[key] = value;
        break;
      case 'Emphasis':
        request.emphasis = oneOf(key, value, A1111_EMPHASIS);
        break;
      case 'Pad conds':
        request.padConds = oneOf(key, value, ['True', 'False']) === 'True';
        break;
      case SAMPLING_KEY:
      case PROMPT_SYNTAX_KEY:
      case 'Schedule type':
      case 'Version':
      // The LoRAs themselves are the prompt's tags; their hashes only identify the files.
      case 'Lora hashes':
        break;
      case 'CFG scale':
        request.guidance = number(key, value);
        break;
      case 'Seed':
        request.seed = number(key, value);
        break;
      case 'Size': {
        const m = /^(\d+)x(\d+)$/.exec(value);
        if (!m) throw new Error(`recipe: "Size" must be WIDTHxHEIGHT, got ${JSON.stringify(value)}`);
        request.width = Number(m[1]);
        request.height = Number(m[2]);
        break;
      }
      case 'Model':
        request.model = value;
        break;
      case 'Model hash':
        modelHash = value;
        break;
      case 'Denoising strength':
        request.strength = number(key, value);
        break;
      case 'Clip skip':
        request.clipSkip = number(key, value);
        break;
      default:
        ignored[key] = value;
    }
  }
  // A1111 strips every extra-network tag; Kirie applies LoRA tags (core/src/adapters/prompt.ts), not hypernetworks.
  if (syntax === 'a1111') for (const tag of stripExtraNetworks(request.prompt).networks) if (!LORA_TYPES.has(tag.type)) ignored[`<${tag.type}:${tag.args.join(':')}>`] = `${tag.type} (an extra network Kirie does not apply)`;
  return { request, control: control.filter((c) => c !== undefined), ...(modelHash ? { modelHash } : {}), ignored };
}
