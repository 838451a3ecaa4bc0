// Recipes from every file a user may drop: A1111's JPEG/WebP (EXIF UserComment as piexif writes it), a
// ComfyUI PNG ("prompt" graph), pasted text; and what `kirie generate --recipe` makes of a ComfyUI graph.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePng } from '@kirie/core/image/png';
import { prepareGeneration } from '../../src/generate/options.js';
import { withText } from '../../src/generate/png-text.js';
import { decodeUserComment, readRecipeFile } from '../../src/generate/recipe-file.js';

const dir = mkdtempSync(join(tmpdir(), 'kirie-recipe-file-'));
const parameters = '一只猫, (red fox:1.2) BREAK snow\nNegative prompt: blurry\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1, Size: 512x512, Hires upscaler: Latent, ADetailer model: face_yolov8n.pt';

/** A TIFF block with IFD0 → Exif IFD → UserComment, in the given byte order (TIFF 6.0, EXIF 2.3). */
function tiffWithComment(comment: Uint8Array, little: boolean): Uint8Array {
  const ifd0 = 8;
  const exif = ifd0 + 18;
  const data = exif + 18;
  const out = new Uint8Array(data + comment.length);
  const v = new DataView(out.buffer);
  out.set(little ? [0x49, 0x49] : [0x4d, 0x4d]);
  v.setUint16(2, 42, little);
  v.setUint32(4, ifd0, little);
  const entry = (ifd: number, tag: number, type: number, count: number, value: number) => {
    v.setUint16(ifd, 1, little);
    v.setUint16(ifd + 2, tag, little);
    v.setUint16(ifd + 4, type, little);
    v.setUint32(ifd + 6, count, little);
    v.setUint32(ifd + 10, value, little);
    v.setUint32(ifd + 14, 0, little);
  };
  entry(ifd0, 0x8769, 4, 1, exif);
  entry(exif, 0x9286, 7, comment.length, data);
  out.set(comment, data);
  return out;
}

/** piexif.helper.UserComment.dump(text, encoding="unicode"): "UNICODE\0" + UTF-16 big-endian. */
function piexifUnicode(text: string): Uint8Array {
  const body = Buffer.from(text, 'utf16le').swap16();
  return Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), body]);
}

function jpegWith(tiff: Uint8Array): Uint8Array {
  const app1 = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const head = Buffer.from([0xff, 0xd8, 0xff, 0xe1, (app1.length + 2) >> 8, (app1.length + 2) & 0xff]);
  return Buffer.concat([head, app1, Buffer.from([0xff, 0xda, 0, 2, 0xff, 0xd9])]);
}

function webpWith(tiff: Uint8Array): Uint8Array {
  const chunk = (fourcc: string, data: Uint8Array) => {
    const size = Buffer.alloc(4);
    size.writeUInt32LE(data.length);
    return Buffer.concat([Buffer.from(fourcc, 'latin1'), size, data, Buffer.alloc(data.length % 2)]);
  };
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), chunk('VP8X', new Uint8Array(10)), chunk('EXIF', tiff)]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(body.length);
  return Buffer.concat([Buffer.from('RIFF', 'latin1'), size, body]);
}

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const comfyGraph = {
  '3': { class_type: 'KSampler', inputs: { seed: 5, steps: 4, cfg: 6, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'tiny.safetensors' } },
  '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: '(fox:1.2)', clip: ['4', 1] } },
  '7': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['4', 1] } },
  '10': { class_type: 'FaceDetailer', inputs: { image: ['8', 0] } },
};

describe('recipe files', () => {
  it.each([
    ['A1111 JPEG (big-endian TIFF, piexif UserComment)', () => file('a.jpg', jpegWith(tiffWithComment(piexifUnicode(parameters), false)))],
    ['A1111 WebP (little-endian TIFF)', () => file('a.webp', webpWith(tiffWithComment(piexifUnicode(parameters), true)))],
    ['pasted parameters text', () => file('a.txt', parameters)],
  ])('%s', (_name, make) => {
    const recipe = readRecipeFile(make());
    expect(recipe.source).toBe('a1111');
    if (recipe.source !== 'a1111') return;
    expect(recipe.request).toMatchObject({ prompt: '一只猫, (red fox:1.2) BREAK snow', negativePrompt: 'blurry', promptSyntax: 'a1111', sampling: { tool: 'a1111', sampler: 'DPM++ 2M', scheduleType: 'Karras' } });
    // Never silently dropped: the hires fix and ADetailer are named.
    expect(Object.keys(recipe.ignored)).toEqual(['Hires upscaler', 'ADetailer model']);
  });

  it('reads UserComment in ASCII and little-endian UNICODE too', () => {
    expect(decodeUserComment(Buffer.concat([Buffer.from('ASCII\0\0\0', 'latin1'), Buffer.from('p\nSteps: 2')]))).toBe('p\nSteps: 2');
    expect(decodeUserComment(Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), Buffer.from('fox', 'utf16le')]))).toBe('fox');
  });

  it('a ComfyUI PNG and its pasted graph become a request; other nodes are named in the notes', () => {
    const png = file('c.png', withText(encodePng({ width: 1, height: 1, channels: 4, data: new Uint8Array(4) }), { prompt: JSON.stringify(comfyGraph) }));
    for (const path of [png, file('c.json', JSON.stringify(comfyGraph))]) {
      const { request, notes } = prepareGeneration({ recipe: path });
      expect(request).toMatchObject({ model: 'tiny.safetensors', prompt: '(fox:1.2)', promptSyntax: 'comfyui', seed: 5, steps: 4, guidance: 6, width: 64, height: 64, sampling: { tool: 'comfyui', samplerName: 'euler', scheduler: 'normal' } });
      expect(notes).toEqual(['not carried over from the ComfyUI graph: FaceDetailer (node 10)']);
    }
  });

  it('names a file with no recipe', () => {
    expect(() => readRecipeFile(file('none.jpg', jpegWith(new Uint8Array(8))))).toThrow(/has no EXIF UserComment/);
    expect(() => readRecipeFile(file('bin.dat', new Uint8Array([0xc3, 0x28])))).toThrow(/neither a PNG, JPEG or WebP image nor UTF-8 text/);
  });
});
