// "Paste recipe": an A1111 parameters text or a ComfyUI API graph, as people copy them from image sites, split
// into what the panel's form shows, the request settings the form has no field for (they ride along with the
// next generation), and what a panel cannot carry, said to the user rather than dropped.
import { readRecipeText } from '@kirie/core/recipe/recipe';
import type { GenerateRequestInput } from '@kirie/core/client/protocol';
import type { PanelForm } from './settings.js';

/** Request settings a recipe brings beyond the form's fields. */
export type RecipeSettings = Pick<GenerateRequestInput, 'scheduler' | 'guidance' | 'clipSkip' | 'loras' | 'promptSyntax' | 'emphasis' | 'padConds'>;

export interface PastedRecipe {
  form: Pick<PanelForm, 'prompt' | 'negativePrompt' | 'steps' | 'seed' | 'model' | 'strength'>;
  settings: RecipeSettings;
  notCarried: string[];
}

const SETTING_KEYS = ['scheduler', 'guidance', 'clipSkip', 'loras', 'promptSyntax', 'emphasis', 'padConds'] as const;

export function pasteRecipe(text: string): PastedRecipe {
  const recipe = readRecipeText(text);
  if (recipe.source === 'kirie') throw new Error('a Kirie recipe is remade from its image (Remake), not pasted');
  const r = recipe.request;
  const notCarried = recipe.source === 'a1111'
    ? [
        ...Object.entries(recipe.ignored).map(([k, v]) => `${k}: ${v}`),
        ...recipe.control.map((c, i) => `ControlNet ${i} (${c.module}, ${c.model}): its image is not in the text`),
      ]
    : [...recipe.notCarried];
  // A panel paints into the selection: its size decides the image's.
  if (r.width !== undefined || r.height !== undefined) notCarried.push(`Size ${r.width ?? '?'}x${r.height ?? '?'}: the selection's size is used`);
  if (r.batchSize !== undefined && r.batchSize !== 1) notCarried.push(`batch of ${r.batchSize}: one image per generation`);
  // The panels repaint a selection (a mask), which the tools' own samplers do not do in Kirie yet.
  const s = r.sampling;
  if (s) notCarried.push(`${s.tool === 'a1111' ? `Sampler ${s.sampler} (${s.scheduleType ?? 'Automatic'})` : `sampler ${s.samplerName} / ${s.scheduler}`}: a panel repaints a selection, which ${s.tool === 'a1111' ? 'A1111' : 'ComfyUI'} sampling cannot do yet; Kirie's scheduler is used`);
  const settings: RecipeSettings = {};
  for (const key of SETTING_KEYS) if (r[key] !== undefined) Object.assign(settings, { [key]: r[key] });
  const asText = (v: number | undefined) => (v === undefined ? undefined : String(v));
  const form: PastedRecipe['form'] = { prompt: r.prompt };
  if (r.negativePrompt !== undefined) form.negativePrompt = r.negativePrompt;
  if (r.steps !== undefined) form.steps = asText(r.steps);
  if (r.seed !== undefined) form.seed = asText(r.seed);
  if (r.model !== undefined) form.model = r.model;
  if (r.strength !== undefined) form.strength = asText(r.strength);
  return { form, settings, notCarried };
}
