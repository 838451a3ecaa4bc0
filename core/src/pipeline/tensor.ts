// Float32 NCHW arithmetic the loop needs between model calls. Results are fresh arrays unless the
// name says "InPlace": the loop owns its latents and may overwrite them, never a caller's input.

const f = Math.fround;


/** Classifier-free guidance on a [2B,...] UNet output ordered [negative, positive]: uncond + g·(text − uncond). */
export function guide(output: Float32Array, guidance: number): Float32Array {
  const half = output.length / 2;
  const g = f(guidance);
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    // float32 at every step, as torch computes it (the scale is cast to float32 too).
    const uncond = output[i];
    out[i] = uncond + f(g * f(output[half + i] - uncond));
  }
  return out;
}

/** The batch repeated `times` times along N ([B,...] → [times·B,...]), as torch.cat([x]*times). */
export function repeatBatch(x: Float32Array, times: number): Float32Array {
  if (times === 1) return x;
  const out = new Float32Array(x.length * times);
  for (let k = 0; k < times; k++) out.set(x, k * x.length);
  return out;
}

/** Concatenates NCHW tensors along C; each part is [N, c_i, H, W] with its own c_i. */
export function concatChannels(parts: { data: Float32Array; channels: number }[], batch: number, plane: number): Float32Array {
  const total = parts.reduce((a, p) => a + p.channels, 0);
  const out = new Float32Array(batch * total * plane);
  for (let n = 0; n < batch; n++) {
    let c0 = 0;
    for (const p of parts) {
      const span = p.channels * plane;
      out.set(p.data.subarray(n * span, (n + 1) * span), (n * total + c0) * plane);
      c0 += p.channels;
    }
  }
  return out;
}

/** latents = (1 − m)·keep + m·latents, with one [1,1,h,w] mask broadcast over batch and channels. */
export function blendInPlace(latents: Float32Array, keep: Float32Array, mask: Float32Array): void {
  const plane = mask.length;
  for (let i = 0; i < latents.length; i++) {
    const m = mask[i % plane];
    latents[i] = (1 - m) * keep[i] + m * latents[i];
  }
}

export function scaleInPlace(x: Float32Array, factor: number): Float32Array {
  const s = f(factor);
  for (let i = 0; i < x.length; i++) x[i] *= s;
  return x;
}

export function addInPlace(acc: Float32Array, x: Float32Array): Float32Array {
  if (acc.length !== x.length) throw new Error(`cannot add tensors of ${x.length} values to ${acc.length}`);
  for (let i = 0; i < acc.length; i++) acc[i] += x[i];
  return acc;
}
