import { describe, expect, it } from 'vitest';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import { pasteRecipe } from '../src/recipe-paste.js';
import { prepareRequest } from '../src/settings.js';

const a1111 = `(masterpiece:1.2), a fox in snow <lora:add_detail:0.8>
Negative prompt: blurry
Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 42, Size: 512x768, Model: dreamshaper_8, Clip skip: 2, Emphasis: No norm, Hires upscaler: 4x-UltraSharp, ADetailer model: face_yolov8n.pt, ControlNet 0: "Module: canny, Model: control_v11p_sd15_canny, Weight: 1"`;

describe('Paste recipe', () => {
  it('splits an A1111 text into form fields, carried settings and what the panel cannot carry', () => {
    const pasted = pasteRecipe(a1111);
    expect(pasted.form).toEqual({ prompt: '(masterpiece:1.2), a fox in snow <lora:add_detail:0.8>', negativePrompt: 'blurry', steps: '28', seed: '42', model: 'dreamshaper_8' });
    expect(pasted.settings).toEqual({ guidance: 6.5, clipSkip: 2, promptSyntax: 'a1111', emphasis: 'No norm' });
    expect(pasted.notCarried).toEqual([
      'Hires upscaler: 4x-UltraSharp',
      'ADetailer model: face_yolov8n.pt',
      'ControlNet 0 (canny, control_v11p_sd15_canny): its image is not in the text',
      "Size 512x768: the selection's size is used",
      "Sampler DPM++ 2M (Karras): a panel repaints a selection, which A1111 sampling cannot do yet; Kirie's scheduler is used",
    ]);
  });

  it('the next generation carries the settings, and the request is valid', () => {
    const pasted = pasteRecipe(a1111);
    const { request } = prepareRequest({ prompt: pasted.form.prompt, negativePrompt: pasted.form.negativePrompt!, steps: 28, seed: 42, recipe: pasted.settings }, 1);
    expect(request).toMatchObject({ promptSyntax: 'a1111', emphasis: 'No norm', guidance: 6.5, clipSkip: 2 });
    // A panel's requests repaint a selection: valid with a mask.
    expect(() => parseGenerateRequest({ ...request, width: 512, height: 512, initImage: 'i', mask: 'm' })).not.toThrow();
  });

  it('reads a ComfyUI graph with its prompt syntax', () => {
    const graph = {
      '3': { class_type: 'KSampler', inputs: { seed: 5, steps: 4, cfg: 6, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
      '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'm.safetensors' } },
      '5': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 2 } },
      '6': { class_type: 'CLIPTextEncode', inputs: { text: '(fox:1.2)', clip: ['4', 1] } },
      '7': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['4', 1] } },
    };
    const pasted = pasteRecipe(JSON.stringify(graph));
    expect(pasted.settings).toEqual({ guidance: 6, promptSyntax: 'comfyui' });
    expect(pasted.notCarried).toEqual(["Size 512x512: the selection's size is used", 'batch of 2: one image per generation', "sampler euler / normal: a panel repaints a selection, which ComfyUI sampling cannot do yet; Kirie's scheduler is used"]);
  });
});
