// A result's recipe, kept on its Figma layer as plugin data: the source frame and the panel options with
// the seed that was used. "Remake" runs it as is; "Variations" with a new seed.
import { z } from 'zod';
import type { PanelOptions } from '../../shared/src/settings.js';
import { AdapterName, MannequinSceneJson } from '@kirie/core/request/schema';
import type { PoseSource } from './flow.js';
import { A1111_EMPHASIS } from '@kirie/core/prompt/chunks';
import { PROMPT_SYNTAXES } from '@kirie/core/prompt/stage';

const loraSchema = z.object({ name: AdapterName, weight: z.number(), textEncoderWeight: z.number().optional() });

const recipeSchema = z.object({
  kirie: z.literal(1),
  frameId: z.string().min(1),
  mode: z.enum(['style', 'mask']),
  /** Made with Pose fill: Remake follows the pose the frame holds then (its skeleton stays on the frame to edit). */
  pose: z.literal(true).optional(),
  /** Made with Mannequin fill: the 3-D scene, which Remake fills with again and opens in the editor to re-pose. */
  mannequin: MannequinSceneJson.optional(),
  options: z.object({
    prompt: z.string(),
    negativePrompt: z.string().optional(),
    style: z.string().optional(),
    strength: z.number().gt(0).max(1).optional(),
    steps: z.number().int().min(1).max(150).optional(),
    seed: z.number().int().min(0),
    model: z.string().optional(),
    colorMatch: z.boolean().optional(),
    fast: z.boolean().optional(),
    loras: z.array(loraSchema).optional(),
    // A pasted recipe's settings (recipe-paste.ts); the bridge checks them again with the request.
    recipe: z
      .object({
        scheduler: z.string().optional(),
        guidance: z.number().optional(),
        clipSkip: z.number().int().optional(),
        loras: z.array(loraSchema.partial({ weight: true })).optional(),
        promptSyntax: z.enum(PROMPT_SYNTAXES).optional(),
        emphasis: z.enum(A1111_EMPHASIS).optional(),
        padConds: z.boolean().optional(),
      })
      .optional(),
  }),
});

export type FigmaRecipe = z.infer<typeof recipeSchema>;

export function recipeFor(frameId: string, mode: FigmaRecipe['mode'], options: PanelOptions, seed: number, source: PoseSource | null = null): FigmaRecipe {
  const pose = source?.from === 'skeleton' ? { pose: true as const } : source?.from === 'mannequin' ? { mannequin: source.scene } : {};
  return { kirie: 1, frameId, mode, ...pose, options: { ...options, seed } };
}

/** The recipe stored on a layer, checked: plugin data can be edited by anything with the plugin's id. */
export function parseRecipe(text: string): FigmaRecipe {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('this layer\'s Kirie recipe is not valid JSON: generate it anew from its frame');
  }
  const parsed = recipeSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`this layer's Kirie recipe is unusable (${issue.path.join('.') || 'recipe'}: ${issue.message}): generate it anew from its frame`);
  }
  return parsed.data;
}
