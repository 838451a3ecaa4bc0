// Tiled VAE decode and encode exactly as diffusers 0.24's AutoencoderKL.tiled_decode / tiled_encode
// (`enable_tiling()`): overlapping tiles run through the VAE one at a time, each blended in place into
// its upper and left neighbours (already blended themselves), then cropped to its top-left part and
// stitched. Memory is bounded by one tile's activations instead of the whole canvas's. The spec, with a
// worked example, is tests/golden/vae-tiling/README.md.
import type { FloatTensor } from './models.js';

const f = Math.fround;

/** diffusers' tile attributes: S = tile_sample_min_size px, L = tile_latent_min_size latents, f = tile_overlap_factor. */
export interface VaeTiling {
  sampleSize: number;
  latentSize: number;
  overlap: number;
}

/** SD1.5's VAE (sample_size 512, 3 downsampling blocks): what `enable_vae_tiling()` uses for it. */
export const SD15_VAE_TILING: VaeTiling = { sampleSize: 512, latentSize: 64, overlap: 0.25 };

/** diffusers' trigger: decode tiles iff either latent side > L, encode iff either image side > S (strictly). */
export function decodeTiles(tiling: VaeTiling, latentHeight: number, latentWidth: number): boolean {
  return latentHeight > tiling.latentSize || latentWidth > tiling.latentSize;
}

export function encodeTiles(tiling: VaeTiling, height: number, width: number): boolean {
  return height > tiling.sampleSize || width > tiling.sampleSize;
}

interface Grid {
  /** Input tile side and the step between tile starts (input units). */
  tileIn: number;
  stride: number;
  /** Output rows/columns blended with the neighbour, and kept per tile (output units). */
  blendExtent: number;
  rowLimit: number;
}

export function decodeGrid(t: VaeTiling): Grid {
  const blendExtent = Math.trunc(t.sampleSize * t.overlap);
  return { tileIn: t.latentSize, stride: Math.trunc(t.latentSize * (1 - t.overlap)), blendExtent, rowLimit: t.sampleSize - blendExtent };
}

export function encodeGrid(t: VaeTiling): Grid {
  const blendExtent = Math.trunc(t.latentSize * t.overlap);
  return { tileIn: t.sampleSize, stride: Math.trunc(t.sampleSize * (1 - t.overlap)), blendExtent, rowLimit: t.latentSize - blendExtent };
}

/** A [1, C, h, w] window of a [1, C, H, W] tensor; Python slicing, so edge windows are smaller. */
function crop(x: FloatTensor, y0: number, x0: number, side: number): FloatTensor {
  const [, c, hh, ww] = x.dims;
  const h = Math.min(side, hh - y0);
  const w = Math.min(side, ww - x0);
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const src = (ch * hh + y0 + y) * ww + x0;
      out.set(x.data.subarray(src, src + w), (ch * h + y) * w);
    }
  }
  return { data: out, dims: [1, c, h, w] };
}

/** T[:, :, y, :] = A[:, :, hA − e + y, :]·(1 − y/e) + T[:, :, y, :]·(y/e) for y < e (weights rounded to float32, as torch). */
function blendVertical(a: FloatTensor, t: FloatTensor, extent: number): void {
  const [, c, ha, w] = a.dims;
  const ht = t.dims[2];
  const e = Math.min(extent, ha, ht);
  for (let y = 0; y < e; y++) {
    const wa = f(1 - y / e);
    const wt = f(y / e);
    for (let ch = 0; ch < c; ch++) {
      const ta = (ch * ha + ha - e + y) * w;
      const tt = (ch * ht + y) * w;
      for (let x = 0; x < w; x++) t.data[tt + x] = f(a.data[ta + x] * wa) + f(t.data[tt + x] * wt);
    }
  }
}

/** T[:, :, :, x] = A[:, :, :, wA − e + x]·(1 − x/e) + T[:, :, :, x]·(x/e) for x < e. */
function blendHorizontal(a: FloatTensor, t: FloatTensor, extent: number): void {
  const [, c, h, wa] = a.dims;
  const wt = t.dims[3];
  const e = Math.min(extent, wa, wt);
  for (let x = 0; x < e; x++) {
    const ka = f(1 - x / e);
    const kt = f(x / e);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        const i = (ch * h + y) * wt + x;
        t.data[i] = f(a.data[(ch * h + y) * wa + wa - e + x] * ka) + f(t.data[i] * kt);
      }
    }
  }
}

/**
 * Runs `model` over the tile grid of `input` [1, C, H, W] and stitches the blended, cropped tiles. Only
 * the previous row of full tiles is kept for blending, so memory stays at two rows of tiles plus the
 * output (diffusers keeps every row; the result is the same).
 */
export async function tiled(input: FloatTensor, grid: Grid, model: (tile: FloatTensor) => Promise<FloatTensor>, signal?: AbortSignal): Promise<FloatTensor> {
  const [batch, , height, width] = input.dims;
  if (batch !== 1) throw new Error(`tiled VAE runs one image at a time, got a batch of ${batch}`);
  const starts = (size: number) => Array.from({ length: Math.ceil(size / grid.stride) }, (_, i) => i * grid.stride);
  const ys = starts(height);
  const xs = starts(width);
  let above: FloatTensor[] = [];
  const kept: FloatTensor[][] = [];
  for (const [i, y0] of ys.entries()) {
    const row: FloatTensor[] = [];
    for (const [j, x0] of xs.entries()) {
      signal?.throwIfAborted();
      const tile = await model(crop(input, y0, x0, grid.tileIn));
      if (i > 0) blendVertical(above[j], tile, grid.blendExtent);
      if (j > 0) blendHorizontal(row[j - 1], tile, grid.blendExtent);
      row.push(tile);
    }
    kept.push(row.map((t) => crop(t, 0, 0, grid.rowLimit)));
    above = row;
  }
  return stitch(kept);
}

/** Kept tile parts concatenated along width per row, rows along height. */
function stitch(rows: FloatTensor[][]): FloatTensor {
  const c = rows[0][0].dims[1];
  const height = rows.reduce((s, r) => s + r[0].dims[2], 0);
  const width = rows[0].reduce((s, t) => s + t.dims[3], 0);
  const out = new Float32Array(c * height * width);
  let y0 = 0;
  for (const row of rows) {
    let x0 = 0;
    for (const t of row) {
      const [, , h, w] = t.dims;
      for (let ch = 0; ch < c; ch++) {
        for (let y = 0; y < h; y++) out.set(t.data.subarray((ch * h + y) * w, (ch * h + y + 1) * w), (ch * height + y0 + y) * width + x0);
      }
      x0 += w;
    }
    y0 += row[0].dims[2];
  }
  return { data: out, dims: [1, c, height, width] };
}
