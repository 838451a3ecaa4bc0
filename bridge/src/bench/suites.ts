// Every bench suite, in the order `npm run bench` runs them.
import type { BenchSuite } from './types.js';
import { tokenizerSuite } from './tokenizer.js';
import { unetSuite } from './unet.js';
import { inpaintSuite } from './inpaint.js';
import { controlSuite } from './control.js';
import { pipelineSuite } from './pipeline.js';
import { soakSuite } from './soak.js';
import { buildSuite, sdxlBuildSuite } from './build.js';
import { loraSuite } from './lora.js';
import { canvasSuite } from './canvas.js';
import { deepcacheSuite } from './deepcache.js';
import { openSuite } from './open.js';
import { sdxlSuite } from './sdxl.js';
import { webgpuSuite } from './webgpu.js';

export const benchSuites: BenchSuite[] = [tokenizerSuite, unetSuite, inpaintSuite, pipelineSuite, controlSuite, soakSuite, buildSuite, sdxlBuildSuite, loraSuite, deepcacheSuite, openSuite, canvasSuite, sdxlSuite, webgpuSuite];
