// A generated image's recipe as PNG text: AUTOMATIC1111's "parameters" for other tools and people, and
// Kirie's own request as JSON ("kirie"), which reproduces the image exactly. Both describe one image:
// image i of a batch is the request with batchSize 1 and seed + i.
import { FAMILIES, type FamilyId } from '../models/family.js';
import { imageSeed, parseGenerateRequest } from '../request/parse.js';
import type { GenerateRequest } from '../request/schema.js';
import { formatA1111, parseA1111, type A1111Context, type ParsedA1111 } from './a1111.js';
import { COMFY_PROMPT_KEY, comfyGraphProblem, formatComfyPrompt, parseComfyPrompt, type ParsedComfy } from './comfyui.js';

export const PARAMETERS_KEY = 'parameters';
export const KIRIE_KEY = 'kirie';

/** The request that makes image `index` of `request` on its own. */
export function singleImageRequest(request: GenerateRequest, index: number): GenerateRequest {
  return { ...request, seed: imageSeed(request, index), batchSize: 1 };
}

/** JSON with every non-ASCII character escaped, so it fits a Latin-1 tEXt chunk unchanged. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface RecipeContext extends Omit<A1111Context, 'seed'> {
  /**
   * The checkpoint's family: Kirie's recipe names it, so a remake knows the model it needs (SD 1.x and SDXL
   * names alike are free text); A1111's text has no key for it.
   */
  modelFamily?: FamilyId;
}

/**
 * PNG text entries for image `index` of a run: A1111 parameters, Kirie's request, and ComfyUI's API graph
 * when ComfyUI would run the request the same (its sampling and prompt syntax, text to image).
 */
export function recipeText(request: GenerateRequest, index: number, ctx: RecipeContext): Record<string, string> {
  const single = singleImageRequest(request, index);
  const model = { name: ctx.modelName, ...(ctx.modelHash ? { hash: ctx.modelHash } : {}), ...(ctx.modelFamily ? { family: ctx.modelFamily } : {}) };
  return {
    ...(comfyGraphProblem(single) ? {} : { [COMFY_PROMPT_KEY]: asciiJson(formatComfyPrompt(single, ctx.modelName)) }),
    [PARAMETERS_KEY]: formatA1111(single, { ...ctx, seed: single.seed }),
    [KIRIE_KEY]: asciiJson({ request: single, model }),
  };
}

export type ReadRecipe =
  | { source: 'kirie'; request: GenerateRequest; modelHash?: string; modelFamily?: FamilyId }
  | ({ source: 'a1111' } & ParsedA1111)
  | ({ source: 'comfyui' } & ParsedComfy);

/** The recipe in a PNG's text entries: Kirie's own when present, else A1111 parameters, else ComfyUI's prompt graph. */
export function readRecipe(text: Record<string, string>): ReadRecipe {
  const own = text[KIRIE_KEY];
  if (own !== undefined) {
    let json: { request?: unknown; model?: { hash?: unknown; family?: unknown } };
    try {
      json = JSON.parse(own) as typeof json;
    } catch (err) {
      throw new Error(`recipe: the "${KIRIE_KEY}" text is not JSON (${(err as Error).message})`);
    }
    const request = parseGenerateRequest(json.request);
    const { hash, family } = json.model ?? {};
    if (family !== undefined && !(typeof family === 'string' && Object.keys(FAMILIES).includes(family))) {
      throw new Error(`recipe: the "${KIRIE_KEY}" model family ${JSON.stringify(family)} is not one Kirie knows (${Object.keys(FAMILIES).join(', ')})`);
    }
    return { source: 'kirie', request, ...(typeof hash === 'string' ? { modelHash: hash } : {}), ...(family !== undefined ? { modelFamily: family as FamilyId } : {}) };
  }
  const parameters = text[PARAMETERS_KEY];
  if (parameters !== undefined) return { source: 'a1111', ...parseA1111(parameters) };
  const graph = text[COMFY_PROMPT_KEY];
  if (graph !== undefined) return { source: 'comfyui', ...parseComfyPrompt(graph) };
  throw new Error(`no recipe: the image has none of "${KIRIE_KEY}", "${PARAMETERS_KEY}" or "${COMFY_PROMPT_KEY}" text (keys: ${Object.keys(text).join(', ') || 'none'})`);
}

/** A pasted recipe: ComfyUI's API-format graph when it is a JSON object, else A1111 parameters text. */
export function readRecipeText(text: string): ReadRecipe {
  return text.trimStart().startsWith('{') ? { source: 'comfyui', ...parseComfyPrompt(text) } : { source: 'a1111', ...parseA1111(text) };
}
