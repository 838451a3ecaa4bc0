// `kirie generate` options → one GenerateRequest. A recipe (an image Kirie, AUTOMATIC1111 or ComfyUI wrote, or
// pasted parameters text; bridge/src/generate/recipe-file.ts) gives
// the starting point and explicit options override it; images are referenced by content id, so a
// recipe's init image, mask or control image must be passed again and is checked against the recipe.
import { readFileSync } from 'node:fs';
import { parseGenerateRequest, withResolvedSeed } from '@kirie/core/request/parse';
import type { ControlUnit, GenerateRequest, GenerateRequestInput } from '@kirie/core/request/schema';
import { modulePreprocessor } from '@kirie/core/recipe/a1111';
import { ImageFiles } from './images.js';
import { readRecipeFile } from './recipe-file.js';

export interface GenerateOptions {
  model?: string;
  prompt?: string;
  negative?: string;
  init?: string;
  mask?: string;
  strength?: number;
  pose?: string;
  control?: string;
  canny?: boolean;
  /** A reference photo: people's poses are detected and drawn as the control image. */
  posePhoto?: string;
  /** With posePhoto: also draw hands and face (openpose_full). */
  poseFull?: boolean;
  controlnet?: string;
  controlScale?: number;
  seed?: number;
  steps?: number;
  scheduler?: string;
  guidance?: number;
  width?: number;
  height?: number;
  clipSkip?: number;
  batch?: number;
  recipe?: string;
  /** With mask: the pipeline's whole output (every pixel through the VAE), not composited onto the init image. */
  raw?: boolean;
}

export interface PreparedGeneration {
  request: GenerateRequest;
  images: ImageFiles;
  /** Notes for the user (recipe differences). */
  notes: string[];
}

/** A control unit as a recipe gives it: A1111 text has no image, Kirie's own recipe has its id or pose. */
type RecipeUnit = Pick<ControlUnit, 'model' | 'scale' | 'start' | 'end' | 'preprocessor'> & Partial<Pick<ControlUnit, 'image' | 'pose'>>;
type Draft = Omit<GenerateRequestInput, 'control'> & { control: RecipeUnit[] };

/** `kirieRequest`: the recipe is Kirie's full request, so it also says whether its mask was composited (`inpaint`). */
function fromRecipe(path: string, notes: string[]): Draft & { kirieRequest?: boolean } {
  const recipe = readRecipeFile(path);
  if (recipe.source === 'kirie') return { ...recipe.request, kirieRequest: true };
  if (recipe.source === 'comfyui') {
    for (const n of recipe.notCarried) notes.push(`not carried over from the ComfyUI graph: ${n}`);
    return { ...recipe.request, control: [] };
  }
  const ignored = Object.keys(recipe.ignored);
  if (ignored.length > 0) notes.push(`recipe settings Kirie does not use: ${ignored.join(', ')}`);
  return {
    ...recipe.request,
    control: recipe.control.map((c) => {
      const preprocessor = modulePreprocessor(c);
      if (!preprocessor) notes.push(`the recipe's ControlNet preprocessor "${c.module}" is not one Kirie runs: the control image is used as given`);
      return { model: c.model, preprocessor: preprocessor ?? { type: 'none' as const }, scale: c.scale, start: c.start, end: c.end };
    }),
  };
}

/** The id of the file given for an image, checked against the one the recipe names. */
function imageFor(images: ImageFiles, path: string | undefined, recipeId: string | undefined, flag: string, notes: string[]): string | undefined {
  if (path === undefined) {
    if (recipeId !== undefined) throw new Error(`the recipe was made with ${flag.slice(2)} image ${recipeId}: pass that file with ${flag}`);
    return undefined;
  }
  const id = images.add(path, flag.slice(2));
  if (recipeId !== undefined && recipeId !== id) notes.push(`${flag} ${path} is not the image the recipe was made with: the result will differ`);
  return id;
}

function controlUnits(opts: GenerateOptions, draft: Draft, images: ImageFiles, notes: string[]): GenerateRequestInput['control'] {
  const [base, ...rest] = draft.control;
  if (rest.length > 0) throw new Error(`the recipe uses ${draft.control.length} ControlNets; the command line gives one: use the bridge's API for several`);
  const given = (['pose', 'control', 'posePhoto'] as const).filter((k) => opts[k] !== undefined);
  if (given.length > 1) throw new Error('give one of --pose, --control or --pose-photo');
  if (opts.poseFull && opts.posePhoto === undefined) throw new Error('--pose-full needs --pose-photo');
  const photoFlag = base?.preprocessor.type === 'openpose' ? '--pose-photo' : '--control';
  if (given.length === 0) {
    if (!base) return [];
    if (base.pose !== undefined) return [{ ...base, pose: base.pose }];
    throw new Error(
      base.image !== undefined
        ? `the recipe was made with control image ${base.image}: pass that file with ${photoFlag}`
        : `the recipe uses ControlNet ${base.model}: pass its ${photoFlag === '--pose-photo' ? 'reference photo with --pose-photo (or a pose with --pose)' : 'control image with --control or its pose with --pose'}`,
    );
  }
  const model = opts.controlnet ?? base?.model;
  if (!model) throw new Error('--pose/--control/--pose-photo need a ControlNet model: pass --controlnet <file>');
  const unit = { model, scale: opts.controlScale ?? base?.scale ?? 1, start: base?.start ?? 0, end: base?.end ?? 1 };
  if (opts.pose !== undefined) {
    let pose: unknown;
    try {
      pose = JSON.parse(readFileSync(opts.pose, 'utf8'));
    } catch (err) {
      throw new Error(`--pose ${opts.pose}: ${(err as Error).message}`);
    }
    return [{ ...unit, pose: pose as ControlUnit['pose'] }];
  }
  if (opts.posePhoto !== undefined) {
    const image = imageFor(images, opts.posePhoto, base?.image, '--pose-photo', notes)!;
    const full = opts.poseFull ?? (base?.preprocessor.type === 'openpose' && base.preprocessor.full);
    return [{ ...unit, image, preprocessor: { type: 'openpose', full } }];
  }
  const image = imageFor(images, opts.control, base?.image, '--control', notes)!;
  const preprocessor = opts.canny ? { type: 'canny' as const } : (base?.preprocessor ?? { type: 'none' as const });
  return [{ ...unit, image, preprocessor }];
}

export function prepareGeneration(opts: GenerateOptions): PreparedGeneration {
  const notes: string[] = [];
  const images = new ImageFiles();
  const { kirieRequest, ...draft }: Draft & { kirieRequest?: boolean } = opts.recipe !== undefined ? fromRecipe(opts.recipe, notes) : { prompt: '', control: [] };
  if (opts.recipe === undefined && opts.prompt === undefined) throw new Error('give --prompt (or --recipe image.png)');
  const initImage = imageFor(images, opts.init, draft.initImage, '--init', notes);
  const mask = imageFor(images, opts.mask, draft.mask, '--mask', notes);
  if (opts.raw && mask === undefined) throw new Error('--raw applies to inpainting: give it with --init and --mask');
  // A mask repaints like the plugins do (core/src/image's context crop, colour match and composite):
  // outside the blend mask the init image comes back bit-identical. --raw keeps diffusers' output, and
  // so does remaking a Kirie recipe that was made raw.
  const inpaint = mask === undefined || opts.raw || (kirieRequest && draft.inpaint === undefined) ? undefined : (draft.inpaint ?? {});
  const init = initImage !== undefined ? images.get(initImage) : undefined;
  // Composited, the result has the init image's size and width × height only bound the model's
  // resolution, so any image size works: the bound is rounded down to the multiple of 8 a model needs.
  const fromInit = (side: number | undefined) => (side !== undefined && inpaint ? Math.max(64, side - (side % 8)) : side);
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const input = {
    ...draft,
    ...defined({
      model: opts.model,
      prompt: opts.prompt,
      negativePrompt: opts.negative,
      strength: opts.strength,
      seed: opts.seed,
      steps: opts.steps,
      scheduler: opts.scheduler,
      guidance: opts.guidance,
      clipSkip: opts.clipSkip,
      batchSize: opts.batch,
      // Without a size, an init image gives its own.
      width: opts.width ?? (draft.width === undefined ? fromInit(init?.width) : undefined),
      height: opts.height ?? (draft.height === undefined ? fromInit(init?.height) : undefined),
    }),
    initImage,
    mask,
    inpaint,
    control: controlUnits(opts, draft, images, notes),
  };
  // --scheduler names one of Kirie's diffusers-exact schedulers: it replaces the recipe's A1111/ComfyUI sampling.
  if (opts.scheduler !== undefined && input.sampling !== undefined) {
    notes.push(`--scheduler ${opts.scheduler} replaces the recipe's ${input.sampling.tool === 'a1111' ? 'A1111' : 'ComfyUI'} sampler`);
    delete input.sampling;
  }
  if (input.model === undefined) throw new Error('give --model <checkpoint or ONNX folder>');
  return { request: withResolvedSeed(parseGenerateRequest(input)), images, notes };
}
