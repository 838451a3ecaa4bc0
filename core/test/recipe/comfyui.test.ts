import { describe, expect, it } from 'vitest';
import { formatComfyPrompt, parseComfyPrompt, type ComfyPrompt } from '../../src/recipe/comfyui.js';
import { readRecipe, recipeText } from '../../src/recipe/recipe.js';
import { parseGenerateRequest } from '../../src/request/parse.js';

/** ComfyUI's default workflow in API format (as its PNGs carry it), with a LoRA and clip skip 2 added. */
const graph: ComfyPrompt = {
  '3': { class_type: 'KSampler', inputs: { seed: 156680208700286, steps: 20, cfg: 8, sampler_name: 'dpmpp_2m', scheduler: 'karras', denoise: 1, model: ['10', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
  '5': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 768, batch_size: 1 } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: 'beautiful scenery, (purple galaxy bottle:1.2)', clip: ['11', 0] } },
  '7': { class_type: 'CLIPTextEncode', inputs: { text: 'text, watermark', clip: ['11', 0] } },
  '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
  '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] } },
  '10': { class_type: 'LoraLoader', inputs: { lora_name: 'sd15/add_detail.safetensors', strength_model: 0.8, strength_clip: 0.5, model: ['4', 0], clip: ['4', 1] } },
  '11': { class_type: 'CLIPSetLastLayer', inputs: { stop_at_clip_layer: -2, clip: ['10', 1] } },
};

describe('ComfyUI prompt graph → GenerateRequest', () => {
  it('reads the checkpoint, LoRA, clip skip, prompts, empty latent and KSampler', () => {
    const parsed = parseComfyPrompt(JSON.stringify(graph));
    expect(parsed.notCarried).toEqual([]);
    expect(parsed.request).toEqual({
      model: 'v1-5-pruned-emaonly.safetensors',
      prompt: 'beautiful scenery, (purple galaxy bottle:1.2)',
      negativePrompt: 'text, watermark',
      promptSyntax: 'comfyui',
      seed: 156680208700286,
      steps: 20,
      guidance: 8,
      sampling: { tool: 'comfyui', samplerName: 'dpmpp_2m', scheduler: 'karras' },
      clipSkip: 2,
      loras: [{ name: 'add_detail', weight: 0.8, textEncoderWeight: 0.5 }],
      width: 512,
      height: 768,
      batchSize: 1,
    });
    expect(() => parseGenerateRequest(parsed.request)).not.toThrow();
  });

  it('names what it cannot carry: a hires-fix second pass and its upscaler', () => {
    const hires: ComfyPrompt = {
      ...graph,
      '20': { class_type: 'UpscaleModelLoader', inputs: { model_name: '4x-UltraSharp.pth' } },
      '21': { class_type: 'LatentUpscale', inputs: { samples: ['3', 0], upscale_method: 'nearest-exact', width: 1024, height: 1536, crop: 'disabled' } },
      '22': { class_type: 'KSampler', inputs: { ...graph['3']!.inputs, denoise: 0.5, latent_image: ['21', 0] } },
    };
    expect(parseComfyPrompt(JSON.stringify(hires)).notCarried).toEqual(['UpscaleModelLoader (node 20)', 'LatentUpscale (node 21)', 'KSampler (node 22): a second sampling pass (hires fix?)']);
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['no sampler', JSON.stringify({ '4': graph['4'] }), /no KSampler in the graph \(nodes: CheckpointLoaderSimple\)/],
    ['an unknown sampler', JSON.stringify({ ...graph, '3': { ...graph['3'], inputs: { ...graph['3']!.inputs, sampler_name: 'dpmpp_3m_sde_gpu' } } }), /sampler_name "dpmpp_3m_sde_gpu" is not supported/],
    ['a prompt from another node', JSON.stringify({ ...graph, '6': { class_type: 'CLIPTextEncode', inputs: { text: ['40', 0], clip: ['11', 0] } } }), /CLIPTextEncode \(node 6\) input "text" is linked to node 40, not a string/],
  ])('refuses %s, naming it', (_name, text, error) => {
    expect(() => parseComfyPrompt(text)).toThrow(error);
  });

  it('round-trips: a ComfyUI request written as a graph reads back the same', () => {
    const request = parseGenerateRequest({ ...parseComfyPrompt(JSON.stringify(graph)).request, loras: [{ name: 'add_detail', weight: 0.8, textEncoderWeight: 0.5 }] });
    const written = formatComfyPrompt(request, request.model);
    const back = parseComfyPrompt(JSON.stringify(written));
    expect(back.notCarried).toEqual([]);
    expect(parseGenerateRequest(back.request)).toEqual(request);
  });

  it("a result's PNG text carries the graph for ComfyUI requests only", () => {
    const request = parseGenerateRequest(parseComfyPrompt(JSON.stringify(graph)).request);
    const text = recipeText(request, 0, { modelName: request.model });
    expect(parseComfyPrompt(text.prompt!).request).toEqual(parseComfyPrompt(JSON.stringify(graph)).request);
    expect(readRecipe({ prompt: text.prompt! }).source).toBe('comfyui');
    expect(recipeText(parseGenerateRequest({ prompt: 'x', seed: 1 }), 0, { modelName: 'm' }).prompt).toBeUndefined();
  });

  it('refuses to write what ComfyUI would not run the same', () => {
    const plain = parseGenerateRequest({ prompt: 'x' });
    expect(() => formatComfyPrompt(plain, 'm')).toThrow(/needs ComfyUI sampling/);
  });
});
