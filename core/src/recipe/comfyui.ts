// A ComfyUI recipe: the API-format graph ComfyUI saves in its PNGs' "prompt" text (node id → {class_type,
// inputs}; an input is a value or a [node id, output index] link), read into a GenerateRequest, and a
// request written back as such a graph. Read: the KSampler that starts from an empty latent (or an encoded
// image) and what feeds it: checkpoint loader, LoRA loaders, CLIPSetLastLayer, CLIPTextEncode, EmptyLatentImage.
// Every other node is named in `notCarried` (a second KSampler for hires fix, upscalers, detailers, …).
import { COMFY_SAMPLER_NAMES, type ComfySampler } from '../kdiffusion/names.js';
import { COMFY_SCHEDULERS, type ComfyScheduler } from '../kdiffusion/schedules.js';
import type { GenerateRequest, GenerateRequestInput, LoraUse } from '../request/schema.js';

export const COMFY_PROMPT_KEY = 'prompt';

type Link = [string, number];
interface ComfyNode {
  class_type: string;
  inputs: Record<string, unknown>;
}
export type ComfyPrompt = Record<string, ComfyNode>;

export interface ParsedComfy {
  request: GenerateRequestInput;
  /** Nodes and settings the request cannot hold, in words, for the user to see. */
  notCarried: string[];
}

/** Nodes that only show or save the result: what a request's run does anyway. */
const OUTPUT_NODES = new Set(['VAEDecode', 'SaveImage', 'PreviewImage']);

function isLink(v: unknown): v is Link {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'number';
}

function parseGraph(text: string): ComfyPrompt {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`ComfyUI recipe: the "${COMFY_PROMPT_KEY}" text is not JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('ComfyUI recipe: expected an object of nodes (the API-format prompt)');
  for (const [id, node] of Object.entries(json)) {
    const n = node as Partial<ComfyNode>;
    if (typeof n?.class_type !== 'string' || typeof n.inputs !== 'object' || n.inputs === null) throw new Error(`ComfyUI recipe: node ${id} has no class_type and inputs`);
  }
  return json as ComfyPrompt;
}

class Reader {
  readonly visited = new Set<string>();
  readonly notCarried: string[] = [];

  constructor(private readonly graph: ComfyPrompt) {}

  node(link: unknown, what: string): [string, ComfyNode] {
    if (!isLink(link)) throw new Error(`ComfyUI recipe: ${what} is not connected to a node`);
    const node = this.graph[link[0]];
    if (!node) throw new Error(`ComfyUI recipe: ${what} links to node ${link[0]}, which is not in the graph`);
    this.visited.add(link[0]);
    return [link[0], node];
  }

  value<T>(node: ComfyNode, id: string, key: string, type: 'number' | 'string'): T {
    const v = node.inputs[key];
    if (typeof v !== type) throw new Error(`ComfyUI recipe: ${node.class_type} (node ${id}) input "${key}" is ${isLink(v) ? `linked to node ${v[0]}` : JSON.stringify(v)}, not a ${type}`);
    return v as T;
  }

  /** The checkpoint and the LoRAs on the way to it. */
  model(link: unknown, loras: LoraUse[]): string {
    const [id, node] = this.node(link, 'the sampler\'s model');
    if (node.class_type === 'CheckpointLoaderSimple') return this.value<string>(node, id, 'ckpt_name', 'string');
    if (node.class_type === 'LoraLoader') {
      const file = this.value<string>(node, id, 'lora_name', 'string');
      const name = file.replace(/^.*[\\/]/, '').replace(/\.(safetensors|ckpt|pt)$/i, '');
      const unet = this.value<number>(node, id, 'strength_model', 'number');
      const te = this.value<number>(node, id, 'strength_clip', 'number');
      loras.unshift({ name, weight: unet, ...(te !== unet ? { textEncoderWeight: te } : {}) });
      return this.model(node.inputs.model, loras);
    }
    if (node.class_type === 'LoraLoaderModelOnly') {
      this.notCarried.push(`LoraLoaderModelOnly (node ${id}): a LoRA on the UNet only`);
      return this.model(node.inputs.model, loras);
    }
    throw new Error(`ComfyUI recipe: the model comes from ${node.class_type} (node ${id}); Kirie reads CheckpointLoaderSimple and LoraLoader`);
  }

  /** A CLIPTextEncode's text, and the clip skip on its CLIP's way to the loader. */
  text(link: unknown, what: string): { text: string; clipSkip: number } {
    const [id, node] = this.node(link, what);
    if (node.class_type !== 'CLIPTextEncode') throw new Error(`ComfyUI recipe: the ${what} comes from ${node.class_type} (node ${id}); Kirie reads CLIPTextEncode`);
    return { text: this.value<string>(node, id, 'text', 'string'), clipSkip: this.clipSkip(node.inputs.clip) };
  }

  private clipSkip(link: unknown): number {
    const [id, node] = this.node(link, 'a text encoder\'s CLIP');
    // ComfyUI's stop_at_clip_layer -N is A1111's clip skip N; the loaders further up are walked so they count as read.
    if (node.class_type === 'CLIPSetLastLayer') {
      this.clipSkip(node.inputs.clip);
      return -this.value<number>(node, id, 'stop_at_clip_layer', 'number');
    }
    if (node.class_type === 'LoraLoader') return this.clipSkip(node.inputs.clip);
    if (node.class_type === 'CheckpointLoaderSimple') return 1;
    throw new Error(`ComfyUI recipe: a CLIP comes from ${node.class_type} (node ${id}); Kirie reads CLIPSetLastLayer, LoraLoader and CheckpointLoaderSimple`);
  }
}

function oneOf<T extends string>(what: string, value: string, names: readonly T[]): T {
  if (!(names as readonly string[]).includes(value)) throw new Error(`ComfyUI recipe: ${what} "${value}" is not supported; Kirie has ${names.join(', ')}`);
  return value as T;
}

/** Reads ComfyUI's API-format prompt graph (a PNG's "prompt" text). */
export function parseComfyPrompt(text: string): ParsedComfy {
  const graph = parseGraph(text);
  const samplers = Object.entries(graph).filter(([, n]) => n.class_type === 'KSampler');
  const startsFromEmpty = (n: ComfyNode) => isLink(n.inputs.latent_image) && graph[n.inputs.latent_image[0]]?.class_type === 'EmptyLatentImage';
  const chosen = samplers.find(([, n]) => startsFromEmpty(n)) ?? samplers[0];
  if (!chosen) throw new Error(`ComfyUI recipe: no KSampler in the graph (nodes: ${[...new Set(Object.values(graph).map((n) => n.class_type))].join(', ')})`);
  const [samplerId, sampler] = chosen;
  const r = new Reader(graph);
  r.visited.add(samplerId);
  const loras: LoraUse[] = [];
  const model = r.model(sampler.inputs.model, loras);
  const positive = r.text(sampler.inputs.positive, 'positive conditioning');
  const negative = r.text(sampler.inputs.negative, 'negative conditioning');
  if (positive.clipSkip !== negative.clipSkip) r.notCarried.push(`clip skip ${negative.clipSkip} on the negative prompt (the request uses the positive's, ${positive.clipSkip})`);
  const seed = r.value<number>(sampler, samplerId, 'seed', 'number');
  const request: GenerateRequestInput = {
    model,
    prompt: positive.text,
    negativePrompt: negative.text,
    promptSyntax: 'comfyui',
    seed,
    steps: r.value<number>(sampler, samplerId, 'steps', 'number'),
    guidance: r.value<number>(sampler, samplerId, 'cfg', 'number'),
    sampling: {
      tool: 'comfyui',
      samplerName: oneOf<ComfySampler>('sampler_name', r.value<string>(sampler, samplerId, 'sampler_name', 'string'), COMFY_SAMPLER_NAMES),
      scheduler: oneOf<ComfyScheduler>('scheduler', r.value<string>(sampler, samplerId, 'scheduler', 'string'), COMFY_SCHEDULERS),
    },
    ...(positive.clipSkip > 1 ? { clipSkip: positive.clipSkip } : {}),
    ...(loras.length > 0 ? { loras } : {}),
  };
  const [latentId, latent] = r.node(sampler.inputs.latent_image, 'the sampler\'s latent');
  const denoise = typeof sampler.inputs.denoise === 'number' ? sampler.inputs.denoise : 1;
  if (latent.class_type === 'EmptyLatentImage') {
    request.width = r.value<number>(latent, latentId, 'width', 'number');
    request.height = r.value<number>(latent, latentId, 'height', 'number');
    request.batchSize = r.value<number>(latent, latentId, 'batch_size', 'number');
    if (denoise !== 1) r.notCarried.push(`denoise ${denoise} on an empty latent`);
  } else {
    request.strength = denoise;
    r.notCarried.push(`the sampler's input image (${latent.class_type}, node ${latentId}): pass it as the init image`);
  }
  for (const [id, node] of Object.entries(graph)) {
    if (r.visited.has(id) || OUTPUT_NODES.has(node.class_type)) continue;
    // Inputs of the image-to-image path are covered by the note above.
    if (latent.class_type !== 'EmptyLatentImage' && (node.class_type === 'LoadImage' || node.class_type === 'VAEEncode')) continue;
    r.notCarried.push(`${node.class_type} (node ${id})${node.class_type === 'KSampler' ? ': a second sampling pass (hires fix?)' : ''}`);
  }
  return { request, notCarried: r.notCarried };
}

/** Why ComfyUI would not run `request` as Kirie does, or undefined when a graph says it faithfully. */
export function comfyGraphProblem(request: GenerateRequest): string | undefined {
  if (request.sampling?.tool !== 'comfyui') return 'a ComfyUI graph needs ComfyUI sampling (sampling.tool "comfyui"): other samplers do not exist there';
  if (request.promptSyntax !== 'comfyui') return 'a ComfyUI graph reads its prompts as ComfyUI does: the request needs promptSyntax "comfyui"';
  if (request.initImage !== undefined || request.control.length > 0) return 'a ComfyUI graph is written for text-to-image requests without control units so far';
  return undefined;
}

/** A request as ComfyUI's API-format graph: what ComfyUI runs for it (its samplers, its prompt reading). */
export function formatComfyPrompt(request: GenerateRequest, modelName: string): ComfyPrompt {
  const problem = comfyGraphProblem(request);
  if (problem) throw new Error(problem);
  const s = request.sampling as Extract<GenerateRequest['sampling'], { tool: 'comfyui' }>;
  const graph: ComfyPrompt = { '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: modelName } } };
  let model: Link = ['4', 0];
  let clip: Link = ['4', 1];
  (request.loras ?? []).forEach((l, i) => {
    const id = `${10 + i}`;
    graph[id] = { class_type: 'LoraLoader', inputs: { lora_name: `${l.name}.safetensors`, strength_model: l.weight, strength_clip: l.textEncoderWeight ?? l.weight, model, clip } };
    [model, clip] = [[id, 0], [id, 1]];
  });
  if (request.clipSkip > 1) {
    graph['30'] = { class_type: 'CLIPSetLastLayer', inputs: { stop_at_clip_layer: -request.clipSkip, clip } };
    clip = ['30', 0];
  }
  graph['6'] = { class_type: 'CLIPTextEncode', inputs: { text: request.prompt, clip } };
  graph['7'] = { class_type: 'CLIPTextEncode', inputs: { text: request.negativePrompt, clip } };
  graph['5'] = { class_type: 'EmptyLatentImage', inputs: { width: request.width, height: request.height, batch_size: request.batchSize } };
  graph['3'] = {
    class_type: 'KSampler',
    inputs: { seed: request.seed, steps: request.steps, cfg: request.guidance, sampler_name: s.samplerName, scheduler: s.scheduler, denoise: 1, model, positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] },
  };
  graph['8'] = { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } };
  graph['9'] = { class_type: 'SaveImage', inputs: { filename_prefix: 'Kirie', images: ['8', 0] } };
  return graph;
}
