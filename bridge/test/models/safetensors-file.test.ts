import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { float32ToHalf, serializeSafetensorsHeader, type SafetensorsDtype } from '@kirie/core/models/safetensors';
import { SafetensorsFile } from '../../src/models/safetensors-file.js';
import { tempDirPerFile } from './temp-dir.js';

const golden = new URL('../../../tests/golden/tiny-sd15/', import.meta.url).pathname;
const tmp = tempDirPerFile('kirie-st-');

function bf16(values: Float32Array): Uint16Array {
  const u32 = new Uint32Array(values.buffer.slice(0));
  return Uint16Array.from(u32, (x) => x >>> 16);
}

async function writeTensors(name: string, tensors: { name: string; dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array }[]): Promise<string> {
  const { prefix, fileSize } = serializeSafetensorsHeader(tensors);
  const out = new Uint8Array(fileSize);
  out.set(prefix);
  let at = prefix.length;
  for (const t of tensors) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  const path = join(tmp.path, name);
  await writeFile(path, out);
  return path;
}

describe('SafetensorsFile', () => {
  it('streams every tensor of the golden tiny checkpoint', async () => {
    const file = await SafetensorsFile.open(join(golden, 'tiny-sd15.safetensors'));
    try {
      expect(file.keys()).toHaveLength(965);
      expect(file.shape('model.diffusion_model.input_blocks.0.0.weight')).toEqual([32, 4, 3, 3]);
      expect(file.dtype('cond_stage_model.transformer.text_model.embeddings.position_ids')).toBe('I64');
      expect(file.header.metadata.format).toBe('pt');
      let values = 0;
      for (const key of file.keys()) {
        if (file.dtype(key) !== 'F32') continue;
        const t = await file.read(key);
        expect(t.length).toBe(file.shape(key).reduce((a, b) => a * b, 1));
        values += t.length;
      }
      // Every float byte of the file, read once: the header plus 8 bytes of int64 position ids make up the rest.
      expect(values * 4 + 77 * 8 + file.header.dataStart).toBe(file.size);
      const norm = await file.read('first_stage_model.decoder.norm_out.weight');
      expect(norm.every((v) => v === 1)).toBe(true); // PyTorch's GroupNorm init
    } finally {
      await file.close();
    }
  });

  it('reads F16 and BF16 tensors as float32', async () => {
    const values = new Float32Array([0, 1, -2, 0.5, 65504, 3.140625]);
    const path = await writeTensors('mixed.safetensors', [
      { name: 'half', dtype: 'F16', shape: [2, 3], bytes: new Uint8Array(float32ToHalf(values).buffer) },
      { name: 'brain', dtype: 'BF16', shape: [6], bytes: new Uint8Array(bf16(values).buffer) },
      { name: 'full', dtype: 'F32', shape: [6], bytes: new Uint8Array(values.buffer) },
    ]);
    const file = await SafetensorsFile.open(path);
    try {
      expect([...(await file.read('half'))]).toEqual([...values]);
      // 65504 needs 11 significant bits: bfloat16 keeps 8 and truncates it to 65280.
      expect([...(await file.read('brain'))]).toEqual([0, 1, -2, 0.5, 65280, 3.140625]);
      expect([...(await file.read('full'))]).toEqual([...values]);
      await expect(file.read('nope')).rejects.toThrow(/mixed\.safetensors: no tensor named nope/);
    } finally {
      await file.close();
    }
  });

  it('names a truncated file', async () => {
    const values = new Float32Array(1000).fill(1);
    const path = await writeTensors('cut.safetensors', [{ name: 'w', dtype: 'F32', shape: [1000], bytes: new Uint8Array(values.buffer) }]);
    await truncate(path, 2000);
    await expect(SafetensorsFile.open(path)).rejects.toThrow(/cut\.safetensors: tensor w: data ends at byte \d+, beyond the end of the file \(2000 bytes\)/);
    await truncate(path, 40);
    await expect(SafetensorsFile.open(path)).rejects.toThrow(/cut\.safetensors: truncated safetensors file \(header needs \d+ bytes, file has 40\)/);
    await truncate(path, 0);
    await expect(SafetensorsFile.open(path)).rejects.toThrow(/cut\.safetensors: not a safetensors file \(only 0 bytes/);
  });

  it('names a file that is not safetensors at all', async () => {
    const path = join(tmp.path, 'model.ckpt');
    await writeFile(path, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(4096, 7)]));
    await expect(SafetensorsFile.open(path)).rejects.toThrow(/model\.ckpt: not a safetensors file or corrupt \(header length/);
  });

  it('names a corrupt header', async () => {
    const path = join(tmp.path, 'garbled.safetensors');
    const json = Buffer.from('{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    await writeFile(path, Buffer.concat([len, json, Buffer.alloc(4)]));
    await expect(SafetensorsFile.open(path)).rejects.toThrow(/garbled\.safetensors: corrupt safetensors header \(not valid JSON/);
  });
});
