// Verify kind for tests/golden/vae-tiling component cases (`kind` vae_tiled_decode / vae_tiled_encode):
// the tiny checkpoint's VAE halves, built as the bridge builds them, run through the pipeline's own tiling
// (core/src/pipeline/vae-tiling.ts) with the case's tile attributes, compared with diffusers' tiled output.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { FloatTensor } from '@kirie/core/pipeline/models';
import { decodedToImages } from '@kirie/core/pipeline/images';
import { decodeGrid, decodeTiles, encodeGrid, encodeTiles, tiled, type VaeTiling } from '@kirie/core/pipeline/vae-tiling';
import { openCheckpoint } from '../../models/checkpoint.js';
import { allClose } from '../compare.js';
import { readJson, readNpy, readPng } from '../files.js';
import type { CaseFile, CaseResult, VerifyKind } from '../types.js';
import { sessionFor } from './components.js';

const KIND = 'vae-tiling';

interface TilingCase {
  id: string;
  kind: 'vae_tiled_decode' | 'vae_tiled_encode';
  models: { checkpoint: string };
  tiling: { tile_sample_min_size: number; tile_latent_min_size: number; tile_overlap_factor: number };
  grid: { triggered: boolean; output_hw: number[] } | { triggered: false };
  files: Record<string, string>;
  tolerance?: { atol: number };
}

function tolerance(file: CaseFile, c: TilingCase): number {
  const table = join(dirname(file.dir), 'tolerances.json');
  const entry = existsSync(table) ? readJson<{ cases: Record<string, { output_atol?: number }> }>(table).cases[c.id] : undefined;
  const atol = entry?.output_atol ?? c.tolerance?.atol;
  if (atol === undefined) throw new Error(`${c.id}: no tolerance in tolerances.json or the case`);
  return atol;
}

function tensor(path: string): FloatTensor {
  const a = readNpy(path);
  return { data: Float32Array.from(a.data as ArrayLike<number>), dims: a.shape };
}

function result(name: string, what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number): CaseResult {
  if (actual.length !== expected.length) {
    return { case: name, kind: KIND, maxAbsDiff: Number.POSITIVE_INFINITY, tolerance: atol, pass: false, detail: `${what}: got ${actual.length} values, expected ${expected.length}` };
  }
  const r = allClose(actual, expected, atol);
  return { case: name, kind: KIND, maxAbsDiff: r.maxAbsDiff, tolerance: atol, pass: r.pass, detail: what };
}

async function* runCase(file: CaseFile): AsyncGenerator<CaseResult> {
  if (!file.root) throw new Error(`${file.path}: no tiny-sd15/ folder above this case directory`);
  const c = file.json as unknown as TilingCase;
  const atol = tolerance(file, c);
  const tiling: VaeTiling = { sampleSize: c.tiling.tile_sample_min_size, latentSize: c.tiling.tile_latent_min_size, overlap: c.tiling.tile_overlap_factor };
  const ckpt = await openCheckpoint(join(file.root, 'tiny-sd15', c.models.checkpoint));
  const decode = c.kind === 'vae_tiled_decode';
  const session = await sessionFor(ckpt, decode ? 'vae_decoder' : 'vae_encoder').finally(() => ckpt.file.close());
  try {
    const model = async (x: FloatTensor): Promise<FloatTensor> => {
      const out = await session.run({ [decode ? 'latent_sample' : 'sample']: new ort.Tensor('float32', x.data, x.dims) });
      const t = out[decode ? 'sample' : 'latent_parameters'];
      return { data: t.data as Float32Array, dims: [...t.dims] };
    };
    const input = tensor(join(file.dir, c.files[decode ? 'decoder_input' : 'input']));
    const [, , h, w] = input.dims;
    const tiles = decode ? decodeTiles(tiling, h, w) : encodeTiles(tiling, h, w);
    yield result(`vae-tiling/${c.id}/trigger`, 'tiled or not, as diffusers decides', [Number(tiles)], [Number(c.grid.triggered)], 0);
    const out = tiles ? await tiled(input, decode ? decodeGrid(tiling) : encodeGrid(tiling), model) : await model(input);
    if (decode) {
      yield result(`vae-tiling/${c.id}/decoded_raw`, `decoded [${out.dims}]`, out.data, readNpy(join(file.dir, c.files.decoded_raw)).data as Float32Array, atol);
      const [, , oh, ow] = out.dims;
      const png = readPng(join(file.dir, c.files.image_png));
      yield result(`vae-tiling/${c.id}/image_png`, 'image.png levels', decodedToImages(out.data, 1, ow, oh).images[0].data, png.data, 1);
    } else {
      const [, , lh, lw] = out.dims;
      yield result(`vae-tiling/${c.id}/moments`, `moments [${out.dims}]`, out.data, readNpy(join(file.dir, c.files.moments)).data as Float32Array, atol);
      yield result(`vae-tiling/${c.id}/mean`, 'mean (channels 0-3)', out.data.subarray(0, 4 * lh * lw), readNpy(join(file.dir, c.files.mean)).data as Float32Array, atol);
    }
  } finally {
    await session.release();
  }
}

export const vaeTilingKind: VerifyKind = {
  kind: KIND,
  providers: ['cpu'],
  matches: (file) => file.json.kind === 'vae_tiled_decode' || file.json.kind === 'vae_tiled_encode',
  run: runCase,
};
