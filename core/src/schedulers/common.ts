// Small pieces several schedulers share: argument checks, ᾱ-based forward noising, x0 clipping.

const f32 = Math.fround;

export function checkSteps(className: string, numInferenceSteps: number, numTrainTimesteps: number): void {
  if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1) {
    throw new Error(`${className}: number of inference steps must be a positive integer, got ${numInferenceSteps}`);
  }
  if (numInferenceSteps > numTrainTimesteps) {
    throw new Error(
      `${className}: ${numInferenceSteps} inference steps exceed the ${numTrainTimesteps} train timesteps the model was trained with`,
    );
  }
}

export function checkSameLength(className: string, a: Float32Array, b: Float32Array, what: string): void {
  if (a.length !== b.length) throw new Error(`${className}: ${what} have different sizes (${a.length} vs ${b.length})`);
}

export function trainIndex(className: string, timestep: number, numTrainTimesteps: number): number {
  if (!Number.isInteger(timestep) || timestep < 0 || timestep >= numTrainTimesteps) {
    throw new Error(`${className}: timestep ${timestep} is not an integer train timestep in [0, ${numTrainTimesteps})`);
  }
  return timestep;
}

/** DDPM forward process √ᾱ_t·x0 + √(1-ᾱ_t)·ε, as DDIM, PNDM and LCM add noise in diffusers 0.24.0. */
export function addNoiseAlphas(className: string, alphasCumprod: Float32Array, original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
  checkSameLength(className, original, noise, 'original samples and noise');
  const a = alphasCumprod[trainIndex(className, timestep, alphasCumprod.length)];
  const sqrtA = f32(Math.sqrt(a));
  const sqrtB = f32(Math.sqrt(f32(1 - a)));
  const out = new Float32Array(original.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(sqrtA * original[i]) + f32(sqrtB * noise[i]);
  return out;
}

export function clampInPlace(x: Float32Array, range: number): void {
  for (let i = 0; i < x.length; i++) x[i] = Math.min(Math.max(x[i], -range), range);
}

export function requireNoise<T>(className: string, noise: T | undefined): T {
  if (!noise) throw new Error(`${className}.step draws random noise: pass a NoiseSource`);
  return noise;
}
