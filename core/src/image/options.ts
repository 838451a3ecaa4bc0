// The inpainting knobs a request may set. GenerateRequest embeds this schema as its optional `inpaint`
// field. The defaults are the tuned values; planInpaint's doc comment says what they add up to.
import { z } from 'zod';

/** How the hole is filled before encoding at strength 1 (at strength < 1 the original pixels are kept). */
export const PREFILL_MODES = ['auto', 'blur', 'neutral', 'border', 'none'] as const;
export type PrefillMode = (typeof PREFILL_MODES)[number];

export const InpaintOptions = z
  .object({
    /** Pixels the selection is grown by before anything else, so its anti-aliased edge is repainted too. */
    grow: z.number().min(0).max(256).default(4),
    /** Width of the denoise mask's soft edge as a fraction of the selection's diagonal (scaled by strength)… */
    featherFraction: z.number().min(0).max(1).default(0.1),
    /** …but never narrower than this many pixels (before the strength scaling). */
    featherMin: z.number().min(0).max(1024).default(32),
    /**
     * Half-width in pixels of the blend mask's ramp, which ends where the denoise mask is one half so the
     * seam lies in generated pixels; capped so the selection itself is always fully replaced.
     */
    blendBlur: z.number().min(0).max(256).default(25),
    /**
     * Fill of the hole at strength 1: `blur` (remove / replace: a wide blur of the surroundings), `neutral`
     * (add an object: mid grey), `border` (expand the canvas: nearest known pixel), `none` (keep pixels).
     * `auto` picks border when the hole is transparent or spans the canvas, otherwise blur.
     */
    prefill: z.enum(PREFILL_MODES).default('auto'),
    /** Match the generated patch's Lab mean/std to the original's in the ring around the mask. */
    colorMatch: z.boolean().default(true),
  })
  .strict();

/** Complete options, every default filled in. */
export type InpaintOptions = z.output<typeof InpaintOptions>;
/** What a client may send: every field optional. */
export type InpaintOptionsInput = z.input<typeof InpaintOptions>;

export const DEFAULT_INPAINT_OPTIONS: InpaintOptions = InpaintOptions.parse({});

/** A model's native resolution range: sides are scaled into [minSide, maxSide] and rounded to `multiple`. */
export interface ModelResolution {
  readonly minSide: number;
  readonly maxSide: number;
  /** Side lengths must be multiples of this (8 for SD's VAE); multiples of 16 are preferred when cheap. */
  readonly multiple: number;
}

export const SD15_RESOLUTION: ModelResolution = Object.freeze({ minSide: 512, maxSide: 768, multiple: 8 });
