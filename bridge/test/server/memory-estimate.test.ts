// The job memory estimate, table-driven: anchored on measured peaks, monotonic in everything that
// costs memory, and largestFitting's answers at their boundary.
import { describe, expect, it } from 'vitest';
import { estimateJobMemory, largestFitting, vaeTilingFor, type JobShape } from '../../src/server/memory-estimate.js';
import { checkJsonDepth } from '../../src/server/limits.js';

const SD15_BYTES = 4_265_380_512;
const GB = 1e9;
/** One head's [batch, N, N] float32 scores and their softmax: what a head-by-head graph holds at once. */
const headScores = (batch: number, tokens: number) => 2 * batch * tokens * tokens * 4;
const job = (patch: Partial<JobShape> = {}): JobShape => ({ width: 512, height: 512, batchSize: 1, cfg: true, controlUnits: 0, encodes: false, weightsBytes: SD15_BYTES, canvasPixels: 0, ...patch });

describe('estimateJobMemory', () => {
  it('matches the measured 512² SD1.5 txt2img peak (5.12 GB with the fp32 weights resident) within 5 %', () => {
    expect(estimateJobMemory(job()).peakBytes / (5.12 * GB)).toBeGreaterThan(0.95);
    expect(estimateJobMemory(job()).peakBytes / (5.12 * GB)).toBeLessThan(1.05);
  });

  it('follows the family: an SDXL UNet attends from level 1 (a quarter of the tokens, 10 heads of 64), an SD1.5 one at the latent size', () => {
    // Counted head by head (an ONNX folder's graph): SD1.5 at 1024² holds 2 × [2, 16384, 16384] float32 scores = 4.3 GB; SDXL 2 × [2, 4096, 4096] = 0.27 GB.
    const sd1 = estimateJobMemory(job({ width: 1024, height: 1024, weightsBytes: 0, attention: 'unfused' }));
    const sdxl = estimateJobMemory(job({ width: 1024, height: 1024, weightsBytes: 0, family: 'sdxl', attention: 'unfused' }));
    expect(sd1.denoiseBytes).toBeGreaterThan(4.3e9);
    expect(sdxl.denoiseBytes).toBeLessThan(sd1.denoiseBytes - 3.5e9);
    // Beside the scores, its skips, feed-forward and DeepCache features (320/640/1280 wide): over 2000 floats per latent pixel per row.
    expect(sdxl.denoiseBytes).toBeGreaterThan(0.27e9 + 2 * 16384 * 2000 * 4);
    expect(sdxl.vaeBytes).toBe(sd1.vaeBytes);
  });

  it("counts no score matrix for the graphs Kirie builds (ONNX Runtime's fused attention; flash attention on the CPU)", () => {
    for (const family of ['sd1', 'sdxl'] as const) {
      const fused = estimateJobMemory(job({ width: 1024, height: 1024, family }));
      const unfused = estimateJobMemory(job({ width: 1024, height: 1024, family, attention: 'unfused' }));
      // SDXL's first attention level is level 1: a quarter of the 128² latent pixels.
      expect(unfused.denoiseBytes - fused.denoiseBytes).toBe(headScores(2, family === 'sd1' ? 16384 : 4096));
    }
  });

  it("puts the issue's 4096² × 8 far beyond any machine: 174 GB of UNet features fused, ~8.8 TB more counted head by head", () => {
    const fused = estimateJobMemory(job({ width: 4096, height: 4096, batchSize: 8 }));
    expect(fused.denoiseBytes).toBeGreaterThan(170e9);
    const unfused = estimateJobMemory(job({ width: 4096, height: 4096, batchSize: 8, attention: 'unfused' }));
    expect(unfused.denoiseBytes).toBeGreaterThan(8.8e12);
    expect(unfused.denoiseBytes).toBeLessThan(9.0e12);
  });

  // Full-size SD1.5 fp32 img2img (1 UNet call with CFG), `npm run bench -- canvas`, 2 cores: [what, shape, budget,
  // measured peak RSS GiB]. The tiled 1024² job peaks 0.85 GiB above both of its counted phases (5.24 GiB): what
  // the UNet phase leaves mapped while the tiles decode, which at 2048² disappears under the UNet's own 5 GiB.
  it.each([
    ['2048² img2img, VAE tiled', job({ width: 2048, height: 2048, encodes: true }), 1, 9.05],
    ['1024² img2img, VAE untiled', job({ width: 1024, height: 1024, encodes: true }), undefined, 6.76],
    ['1024² img2img, VAE tiled', job({ width: 1024, height: 1024, encodes: true }), 1, 6.09],
  ])('%s: within 15 % of the measured peak (%s GiB)', (_what, shape, budget, measured) => {
    const ratio = estimateJobMemory(shape, budget).peakBytes / 2 ** 30 / measured;
    expect(ratio).toBeGreaterThan(0.85);
    expect(ratio).toBeLessThan(1.15);
  });

  // [what, shape, GB lower, GB upper]: the phase that dominates, with its own numbers worked out.
  it.each([
    ['64² tiny weights (1 MB)', job({ width: 64, height: 64, weightsBytes: 1e6 }), 0.005, 0.03],
    ['512² b1: VAE decode dominates (0.81 GB of 128/256-ch full-size maps + 8 MB of sliced mid attention)', job(), 5.0, 5.2],
    ['512² b1 no CFG: same peak, the decoder does not see the guidance batch', job({ cfg: false }), 5.0, 5.2],
    ['512² b4: the UNet of batch 8 dominates (1.36 GB of features, DeepCache outputs included; no score matrix)', job({ batchSize: 4 }), 5.5, 5.7],
    ['768² b1: VAE decode (1.8 GB of maps; its sliced attention 42 MB)', job({ width: 768, height: 768 }), 6.1, 6.4],
    ['1024² b1: the untiled VAE decode dominates (3.4 GB; UNet features 1.36 GB)', job({ width: 1024, height: 1024 }), 7.5, 7.8],
    ['512² with one ControlNet (1.45 GB weights)', job({ controlUnits: 1, weightsBytes: SD15_BYTES + 1.45e9 }), 6.4, 6.7],
    ['512² img2img (encoder at full size too)', job({ encodes: true }), 5.0, 5.2],
    ['512² inpaint onto a 4096² canvas', job({ encodes: true, canvasPixels: 4096 * 4096 }), 5.2, 5.5],
  ])('%s', (_what, shape, low, high) => {
    const peak = estimateJobMemory(shape).peakBytes / GB;
    expect(peak).toBeGreaterThan(low);
    expect(peak).toBeLessThan(high);
  });

  it.each([
    ['width', (j: JobShape) => ({ ...j, width: j.width + 64 })],
    ['height', (j: JobShape) => ({ ...j, height: j.height + 64 })],
    ['batchSize', (j: JobShape) => ({ ...j, batchSize: j.batchSize + 1 })],
    ['controlUnits', (j: JobShape) => ({ ...j, controlUnits: j.controlUnits + 1 })],
    ['weightsBytes', (j: JobShape) => ({ ...j, weightsBytes: j.weightsBytes + 1 })],
    ['canvasPixels', (j: JobShape) => ({ ...j, canvasPixels: j.canvasPixels + 4096 })],
  ])('never falls when %s grows', (_name, grow) => {
    for (const shape of [job(), job({ width: 64, height: 4096 }), job({ batchSize: 8, cfg: false }), job({ width: 1024, height: 768, encodes: true })]) {
      expect(estimateJobMemory(grow(shape)).peakBytes).toBeGreaterThanOrEqual(estimateJobMemory(shape).peakBytes);
    }
  });
});

describe('DeepCache in the estimate', () => {
  it("adds the shallow UNet's float32 weights: 30 MB for branch 0, 2.9 GB for branch 11 (all but the middle block)", () => {
    const plain = estimateJobMemory(job());
    const mb = (branch: number) => (estimateJobMemory(job({ deepCacheBranch: branch })).weightsBytes - plain.weightsBytes) / 2 ** 20;
    expect(mb(0)).toBeGreaterThan(30);
    expect(mb(0)).toBeLessThan(31);
    expect(mb(11)).toBeGreaterThan(2900);
    expect(mb(11)).toBeLessThan(2920);
    for (let b = 1; b < 12; b++) expect(mb(b)).toBeGreaterThan(mb(b - 1));
  });
});

describe('VAE tiling in the estimate', () => {
  const budget = 8 * 2 ** 30;
  it('tiles nothing within one 512 px tile, whatever the budget', () => {
    expect(vaeTilingFor(512, 512, true, 1)).toBeUndefined();
    expect(estimateJobMemory(job({ weightsBytes: 0 }), 1).vaeTiled).toBe(false);
  });

  it('tiles above the size where the untiled pass would take half the budget, and the VAE phase then shrinks', () => {
    // 768 floats per pixel of decoder maps: 2048² untiled is 12.9 GB, over half of 8 GiB; 1024² (3.3 GB) is not.
    expect(vaeTilingFor(1024, 1024, false, budget)).toBeUndefined();
    expect(vaeTilingFor(2048, 2048, false, budget)).toEqual({ sampleSize: 512, latentSize: 64, overlap: 0.25 });
    const big = job({ width: 2048, height: 2048, encodes: true });
    const tiled = estimateJobMemory(big, budget);
    expect(tiled.vaeTiled).toBe(true);
    expect(estimateJobMemory(big).vaeTiled).toBe(false);
    expect(tiled.vaeBytes).toBeLessThan(estimateJobMemory(big).vaeBytes / 5);
  });
});

describe('largestFitting', () => {
  it.each([
    [job({ width: 4096, height: 4096, batchSize: 8 }), 8 * 2 ** 30],
    [job({ width: 4096, height: 2048 }), 8 * 2 ** 30],
    [job({ width: 2048, height: 2048, batchSize: 4 }), 16 * 2 ** 30],
    [job({ width: 1536, height: 1024, batchSize: 8, cfg: false }), 6 * 2 ** 30],
  ])('%j within %d bytes: what it names fits, one step more does not', (shape, budget) => {
    expect(estimateJobMemory(shape, budget).peakBytes).toBeGreaterThan(budget);
    const fit = largestFitting(shape, budget);
    expect(fit.size).not.toBeNull();
    const { width, height } = fit.size!;
    expect(estimateJobMemory({ ...shape, width, height }, budget).peakBytes).toBeLessThanOrEqual(budget);
    // The next size up along the same aspect ratio (8 px on the longer side).
    const longer = Math.max(shape.width, shape.height);
    const next = Math.max(width, height) + 8;
    const bigger = { width: Math.floor((shape.width * next) / longer / 8) * 8, height: Math.floor((shape.height * next) / longer / 8) * 8 };
    expect(estimateJobMemory({ ...shape, ...bigger }, budget).peakBytes).toBeGreaterThan(budget);
    // The aspect ratio is kept to within one 8-px step.
    expect(Math.abs(width / height - shape.width / shape.height)).toBeLessThan(0.05);
    if (fit.batchSize > 0) expect(estimateJobMemory({ ...shape, batchSize: fit.batchSize }, budget).peakBytes).toBeLessThanOrEqual(budget);
    if (fit.batchSize < shape.batchSize) expect(estimateJobMemory({ ...shape, batchSize: fit.batchSize + 1 }, budget).peakBytes).toBeGreaterThan(budget);
  });

  it('names no size when the weights alone exceed the budget', () => {
    expect(largestFitting(job({ weightsBytes: 10 * 2 ** 30 }), 8 * 2 ** 30)).toEqual({ size: null, batchSize: 0 });
  });
});

describe('checkJsonDepth', () => {
  const nestedObjects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  it.each([
    ['[]', '[]', 1, true],
    ['[[]]', '[[]]', 1, false],
    ['object, array, object', '{"a":[{"b":1}]}', 3, true],
    ['object, array, object, one level short', '{"a":[{"b":1}]}', 2, false],
    ['brackets in a string', '"[[[[[[[["', 1, true],
    ['an escaped quote before brackets in a string', '["\\"[[[[["]', 1, true],
    ['an escaped backslash ending a string', '["\\\\",[[1]]]', 2, false],
    ['siblings do not add up', '[[[1]],[[2]],[[3]]]', 3, true],
    ['1 MB of "[" never closed', '['.repeat(1_000_000), 32, false],
    ['100 nested objects at 100', nestedObjects(100), 100, true],
    ['101 nested objects at 100', nestedObjects(101), 100, false],
  ])('%s (depth limit %i) → accepted: %s', (_name, text, max, ok) => {
    const run = () => checkJsonDepth(text, max);
    if (ok) expect(run).not.toThrow();
    else expect(run).toThrow(expect.objectContaining({ status: 400, code: 'too_deep', field: 'body' }));
  });
});
