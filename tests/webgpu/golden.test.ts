// The golden components and one pipeline per path (txt2img, img2img, 9-channel inpainting, ControlNet)
// on ONNX Runtime's WebGPU provider, within the tolerances measured for it (bridge/src/verify/webgpu-tolerances.ts).
// `kirie verify tests/golden --device webgpu` runs every case; this is the subset CI can afford on a software adapter
// (llvmpipe compiles every shader on the CPU: minutes on a loaded 2-core machine, hence the long timeouts).
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { componentsKind } from '../../bridge/src/verify/kinds/components.js';
import { checkPipelineCase, releasePipelineModels } from '../../bridge/src/verify/kinds/pipelines.js';
import { findCaseFiles, verifyDirectory } from '../../bridge/src/verify/run.js';
import type { CaseResult } from '../../bridge/src/verify/types.js';
import { describeWebGpu } from './adapter.js';

const GOLDEN = join(import.meta.dirname, '../golden');

function caseFile(dir: string) {
  const [file] = findCaseFiles(join(GOLDEN, dir));
  if (!file) throw new Error(`no case file under ${dir}`);
  return file;
}

async function all(results: AsyncIterable<CaseResult>): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for await (const r of results) out.push(r);
  return out;
}

afterAll(releasePipelineModels);

describeWebGpu('golden cases on WebGPU', () => {
  // tests/golden/lora: LoRA component cases (a kind that runs on the CPU only) and LoRA pipelines (never measured on WebGPU).
  it('reports what it cannot check on WebGPU as skipped with the reason, never runs it on the CPU', async () => {
    const lines: { kind: string; supported?: boolean; detail?: string }[] = [];
    const summary = await verifyDirectory(join(GOLDEN, 'lora'), { provider: 'webgpu', onResult: (l) => lines.push(l) });
    expect(summary).toMatchObject({ passed: 0, failed: 0, unsupported: lines.length });
    expect(lines.filter((l) => l.kind === 'lora-components')).toEqual([expect.objectContaining({ supported: false, detail: 'runs its graphs on cpu only, not checked on webgpu' })]);
    for (const l of lines.filter((l) => l.kind === 'pipelines')) expect(l.detail).toMatch(/WebGPU tolerances measured for this case/);
  });

  it('components: text encoder, VAE, UNet (4 and 9 channels), ControlNet and the UNet with its residuals', async () => {
    const results = await all(componentsKind.run(caseFile('components'), 'webgpu'));
    expect(results).toHaveLength(49);
    for (const r of results) expect(r.pass, `${r.case}: max |diff| ${r.maxAbsDiff} > ${r.tolerance}`).toBe(true);
  }, 600_000);

  it.each(['txt2img_ddim', 'img2img_euler_s060', 'inpaint9_ddim_s100', 'controlnet_ddim_s100'])('pipeline %s', async (id) => {
    const results = await all(checkPipelineCase(caseFile(join('pipelines', id)), 'webgpu'));
    expect(results.map((r) => r.case.split('/').pop())).toEqual(['final_latents', 'steps_latents', 'image', 'image_png']);
    for (const r of results) expect(r.pass, `${r.case}: max |diff| ${r.maxAbsDiff} > ${r.tolerance}`).toBe(true);
  }, 600_000);
});
