// Every verify kind Kirie knows, tried in order against each case file.
import type { VerifyKind } from '../types.js';
import { componentsKind } from './components.js';
import { controlnetKind } from './controlnet.js';
import { kdiffusionKind } from './kdiffusion.js';
import { loraComponentsKind } from './lora.js';
import { deepcacheKind, pipelinesKind } from './pipelines.js';
import { noiseKind } from './noise.js';
import { promptsKind } from './prompts.js';
import { rngKind } from './rng.js';
import { schedulersKind } from './schedulers.js';
import { sdxlComponentsKind } from './sdxl-components.js';
import { sigmasKind } from './sigmas.js';
import { tokenizerKind } from './tokenizer.js';
import { vaeTilingKind } from './vae-tiling.js';

export const verifyKinds: VerifyKind[] = [loraComponentsKind, componentsKind, sdxlComponentsKind, tokenizerKind, noiseKind, rngKind, schedulersKind, sigmasKind, pipelinesKind, deepcacheKind, kdiffusionKind, controlnetKind, vaeTilingKind, promptsKind];
