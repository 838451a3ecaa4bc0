// Diffusers-format ControlNets (diffusion_pytorch_model.safetensors as on Hugging Face) through the product
// path: the golden tiny cldm ControlNet written under diffusers' names by an independent table
// (./diffusers-controlnet-fixture.ts), then opened like a user's file.
import { readFileSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { parseNpy } from '@kirie/core/io/npy';
import { SD15_ARCH } from '@kirie/core/models/arch';
import { readDiffusersControlNet } from '@kirie/core/models/diffusers-controlnet';
import { registerModelsCommand } from '../../src/commands/models.js';
import { openCheckpoint } from '../../src/models/checkpoint.js';
import { buildCheckpoint, controlNetPlans, openControlNet } from '../../src/models/load.js';
import { SafetensorsFile } from '../../src/models/safetensors-file.js';
import { classifyModel } from '../../src/registry/classify.js';
import { diffusersName, writeDiffusersControlNet, type Edit } from './diffusers-controlnet-fixture.js';
import { tempDirPerFile } from './temp-dir.js';

const golden = new URL('../../../tests/golden/tiny-sd15/', import.meta.url).pathname;
const components = join(golden, '..', 'components');
const tmp = tempDirPerFile('kirie-diffusers-cn-');

/** The golden tiny ControlNet under diffusers' names as <dir>/diffusion_pytorch_model.safetensors. */
async function writeDiffusers(dir: string, edit?: Edit): Promise<string> {
  const path = join(tmp.path, dir, 'diffusion_pytorch_model.safetensors');
  await writeDiffusersControlNet(path, edit);
  return path;
}

const npy = (name: string) => {
  const a = parseNpy(new Uint8Array(readFileSync(join(components, name))));
  return new ort.Tensor('float32', Float32Array.from(a.data as ArrayLike<number>), a.shape);
};

/** The golden ControlNet component case (tests/golden/components/case.json). */
const controlNetCase = () => JSON.parse(readFileSync(join(components, 'case.json'), 'utf8')).cases.controlnet;

/** The golden case's ControlNet inputs at `scale`. */
function goldenFeeds(scale: number): Record<string, ort.Tensor> {
  const c = controlNetCase();
  return {
    sample: npy(c.sample),
    timestep: new ort.Tensor('float32', Float32Array.of(c.timestep), [1]),
    encoder_hidden_states: npy(c.encoder_hidden_states),
    controlnet_cond: npy(c.controlnet_cond),
    conditioning_scale: new ort.Tensor('float32', Float32Array.of(scale), [1]),
  };
}

describe('diffusers-format ControlNet', () => {
  it('the test table names every tensor of the golden ControlNet once', async () => {
    const src = await SafetensorsFile.open(join(golden, 'tiny-controlnet.safetensors'));
    const names = src.keys().map(diffusersName);
    await src.close();
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('controlnet_cond_embedding.blocks.5.weight');
    expect(names).toContain('down_blocks.2.resnets.0.conv_shortcut.weight');
    expect(names).toContain('mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight');
  });

  it('reads a full-size SD1.5 ControlNet (control_v11p_sd15_* key list) as SD1.5, every tensor back under its cldm name', () => {
    const full = JSON.parse(readFileSync(join(golden, 'sd15-full-keys.json'), 'utf8')).controlnet_v11_sd15 as Record<string, [number[], string]>;
    const shapes = new Map(Object.entries(full).map(([k, [shape]]) => [diffusersName(k), shape]));
    const layout = readDiffusersControlNet([...shapes.keys()], (k) => shapes.get(k));
    expect(layout.arch).toEqual(SD15_ARCH.controlnet);
    expect(new Map([...shapes.keys()].map((k) => [layout.ldmKeys.get(k), k]))).toEqual(new Map(Object.keys(full).map((k) => [k, diffusersName(k)])));
  });

  it('opens with the architecture of the cldm file and its YAML, read from the shapes alone', async () => {
    const path = await writeDiffusers('arch');
    const diffusers = await openCheckpoint(path);
    await diffusers.file.close();
    const ldm = await openCheckpoint(join(golden, 'tiny-controlnet.safetensors'));
    await ldm.file.close();
    expect(diffusers.kind).toEqual({ kind: 'controlnet', format: 'diffusers' });
    expect(diffusers.sidecarText).toBeUndefined();
    expect(diffusers.arch.controlnet).toEqual(ldm.arch.controlnet);
    expect(diffusers.file.keys().sort()).toEqual(ldm.file.keys().sort());
  });

  it('reads a sidecar YAML next to it as for a cldm file, and refuses one that does not match', async () => {
    const path = await writeDiffusers('sidecar');
    await copyFile(join(golden, 'tiny-controlnet.yaml'), join(tmp.path, 'sidecar', 'diffusion_pytorch_model.yaml'));
    const withYaml = await openCheckpoint(path);
    await withYaml.file.close();
    const ldm = await openCheckpoint(join(golden, 'tiny-controlnet.safetensors'));
    await ldm.file.close();
    expect(withYaml.sidecarText).toContain('control_stage_config');
    expect(withYaml.arch.controlnet).toEqual(ldm.arch.controlnet);
    await writeFile(join(tmp.path, 'sidecar', 'diffusion_pytorch_model.yaml'), 'model:\n  params:\n    control_stage_config:\n      params:\n        model_channels: 64\n');
    await expect(openCheckpoint(path)).rejects.toThrow(/^diffusion_pytorch_model\.safetensors: tensor shapes do not match diffusion_pytorch_model\.yaml \(control_model\.input_blocks\.0\.0\.weight is \[32, 4, 3, 3\], expected \[64, 4, 3, 3\]\)/);
  });

  it('reads Linear transformer projections (use_linear_projection) from their shapes', async () => {
    // The same weights as 1×1 convolutions stored as [out, in] matrices, as diffusers saves Linear proj_in/proj_out.
    const path = await writeDiffusers('linear', (entries) => {
      for (const e of entries) if (/\.proj_(in|out)\.weight$/.test(e.name)) e.shape = e.shape.slice(0, 2);
    });
    const opened = await openCheckpoint(path);
    await opened.file.close();
    expect(opened.arch.controlnet.useLinearInTransformer).toBe(true);
    const cacheDir = join(tmp.path, 'cache');
    const linear = await openControlNet(path, { device: 'cpu', cacheDir });
    const conv = await openControlNet(join(golden, 'tiny-controlnet.safetensors'), { device: 'cpu', cacheDir });
    try {
      const feeds = goldenFeeds(1);
      const got = await linear.session.run(feeds);
      const want = await conv.session.run(feeds);
      const mid = 'mid_block_additional_residual';
      const a = got[mid].data as Float32Array;
      const b = want[mid].data as Float32Array;
      expect(a.length).toBe(b.length);
      expect(a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)).toBeLessThan(1e-5);
      expect(b.some((v) => v !== 0)).toBe(true);
    } finally {
      await linear.release();
      await conv.release();
    }
  });

  it('is listed as a control model, and `kirie models info` says it runs', async () => {
    const path = await writeDiffusers('listed');
    expect(await classifyModel(path, false)).toEqual({ kind: 'controlnet' });
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    try {
      const program = new Command();
      registerModelsCommand(program);
      await program.parseAsync(['models', 'info', path], { from: 'user' });
    } finally {
      log.mockRestore();
    }
    expect(printed[0]).toMatch(/^diffusion_pytorch_model\.safetensors: a ControlNet in diffusers format \(controlnet_cond_embedding\.\*\); 338 tensors/);
    expect(printed[1]).toBe('runs in Kirie: controlnet (diffusers format), UNet 4 input channels, model_channels 32, context 32 (from its tensor shapes)');
  });

  it('builds the same graph as the cldm file and passes the golden ControlNet cases bit-identically', async () => {
    const cacheDir = join(tmp.path, 'cache');
    const path = await writeDiffusers('golden');
    const plans = controlNetPlans('fp32');
    const fromDiffusers = await buildCheckpoint(path, plans, { cacheDir }, 'controlnet');
    const fromLdm = await buildCheckpoint(join(golden, 'tiny-controlnet.safetensors'), plans, { cacheDir }, 'controlnet');
    expect(fromDiffusers.dir).not.toBe(fromLdm.dir);
    const graph = (b: typeof fromLdm) => readFile(join(b.dir, b.models.controlnet!));
    expect(Buffer.compare(await graph(fromDiffusers), await graph(fromLdm))).toBe(0);

    const diffusers = await openControlNet(path, { device: 'cpu', cacheDir });
    const ldm = await openControlNet(join(golden, 'tiny-controlnet.safetensors'), { device: 'cpu', cacheDir });
    try {
      for (const item of controlNetCase().items as { conditioning_scale: number; down_residuals: string[]; mid_residual: string }[]) {
        const feeds = goldenFeeds(item.conditioning_scale);
        const got = await diffusers.session.run(feeds);
        const want = await ldm.session.run(feeds);
        const names = [...item.down_residuals.map((_, i) => `down_block_${i}_additional_residual`), 'mid_block_additional_residual'];
        const files = [...item.down_residuals, item.mid_residual];
        for (const [i, name] of names.entries()) {
          const actual = got[name].data as Float32Array;
          expect(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from((want[name].data as Float32Array).buffer))).toBe(true);
          const expected = npy(files[i]).data as Float32Array;
          expect(actual.length).toBe(expected.length);
          // Golden README tolerance for the ControlNet residuals (bridge/src/verify/kinds/components.ts).
          expect(actual.reduce((m, v, j) => Math.max(m, Math.abs(v - expected[j])), 0)).toBeLessThan(2e-4);
        }
      }
    } finally {
      await diffusers.release();
      await ldm.release();
    }
  });

  it.each<[string, Edit, RegExp]>([
    ['an extra zero conv', (e) => void e.push({ ...e.find((x) => x.name === 'controlnet_down_blocks.11.weight')!, name: 'controlnet_down_blocks.12.weight' }), /tensor controlnet_down_blocks\.12\.weight has no place in a diffusers SD1\.x ControlNetModel/],
    ['a foreign tensor', (e) => void e.push({ ...e[0], name: 'up_blocks.0.resnets.0.conv1.weight' }), /tensor up_blocks\.0\.resnets\.0\.conv1\.weight has no place/],
    ['an unknown ResNet part', (e) => void (e.find((x) => x.name === 'down_blocks.0.resnets.0.norm1.weight')!.name = 'down_blocks.0.resnets.0.norm3.weight'), /tensor down_blocks\.0\.resnets\.0\.norm3\.weight has no place/],
    ['no mid-block attention', (e) => e.splice(0, e.length, ...e.filter((x) => !x.name.startsWith('mid_block.attentions.'))), /tensor mid_block\.attentions\.0\.transformer_blocks\.0\.attn2\.to_k\.weight is missing/],
  ])('refuses a file with %s on open, naming the tensor', async (name, edit, message) => {
    const path = await writeDiffusers(name.replace(/\W/g, '-'), edit);
    await expect(openCheckpoint(path)).rejects.toThrow(new RegExp(`^diffusion_pytorch_model\\.safetensors: ${message.source}`));
  });

  it.each<[string, Edit, RegExp]>([
    ['a missing tensor', (e) => e.splice(e.findIndex((x) => x.name === 'down_blocks.1.resnets.0.norm2.bias'), 1), /checkpoint has no tensor control_model\.input_blocks\.4\.0\.out_layers\.0\.bias/],
    ['a wrong shape', (e) => void (e.find((x) => x.name === 'controlnet_down_blocks.3.weight')!.shape = [32, 16, 1, 1]), /control_model\.zero_convs\.3\.0\.weight: shape \[32,16,1,1\] does not match the architecture/],
    ['an attention part no builder reads', (e) => void e.push({ ...e.find((x) => x.name === 'conv_in.bias')!, name: 'down_blocks.0.attentions.0.extra.bias' }), /not used by the SD 1\.x graph, e\.g\. control_model\.input_blocks\.1\.1\.extra\.bias/],
  ])('refuses a file with %s when building, naming the tensor', async (name, edit, message) => {
    const path = await writeDiffusers(name.replace(/\W/g, '-'), edit);
    await expect(buildCheckpoint(path, controlNetPlans('fp32'), { cacheDir: join(tmp.path, 'cache') }, 'controlnet')).rejects.toThrow(message);
  });
});
