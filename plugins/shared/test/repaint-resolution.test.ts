// The context crop is scaled to the native sides of the model the request names, as the bridge lists its
// family: SD1.x 512–768 (multiples of 8), SDXL 1024–1536 in multiples of 64.
import { describe, expect, it } from 'vitest';
import type { ModelInfo } from '@kirie/core/client/protocol';
import { MockKirieClient } from '@kirie/core/client/mock';
import { repaint } from '../src/repaint.js';

const checkpoint = (id: string, family?: 'sd1' | 'sdxl'): ModelInfo => ({ id, name: id, kind: 'checkpoint', file: id, sizeBytes: 1, loaded: false, ...(family ? { family } : {}) });

/** The size repaint asks the bridge for, for a 300×200 selection in a 2000×1500 canvas (the job is refused after submit). */
async function requestedSize(models: ModelInfo[], model?: string): Promise<{ width: number; height: number }> {
  const client = new MockKirieClient({ models, script: () => [{ type: 'error', message: 'stop here' }] });
  const image = { width: 2000, height: 1500, channels: 3 as const, data: new Uint8Array(2000 * 1500 * 3).fill(128) };
  const mask = new Uint8Array(2000 * 1500);
  for (let y = 600; y < 800; y++) mask.fill(255, y * 2000 + 800, y * 2000 + 1100);
  const selection = { bounds: { x: 0, y: 0, width: 2000, height: 1500 }, data: mask };
  await expect(repaint(client, { image, selection, strength: 1, mode: 'inpaint', request: { prompt: 'x', ...(model ? { model } : {}) } })).rejects.toThrow(/stop here/);
  const [sent] = client.submitted;
  return { width: sent!.width!, height: sent!.height! };
}

describe('repaint follows the model family', () => {
  it('SDXL: sides in 1024–1536, multiples of 64', async () => {
    const size = await requestedSize([checkpoint('sd15.safetensors', 'sd1'), checkpoint('xl.safetensors', 'sdxl')], 'xl.safetensors');
    for (const side of [size.width, size.height]) {
      expect(side % 64).toBe(0);
      expect(side).toBeGreaterThanOrEqual(1024);
      expect(side).toBeLessThanOrEqual(1536);
    }
  });

  it("SD1.x, and the bridge's default (its first checkpoint) when the request names no model: 512–768", async () => {
    for (const size of [await requestedSize([checkpoint('sd15.safetensors', 'sd1'), checkpoint('xl.safetensors', 'sdxl')]), await requestedSize([checkpoint('a.safetensors')], 'a.safetensors')]) {
      expect(Math.min(size.width, size.height)).toBeGreaterThanOrEqual(512);
      expect(Math.max(size.width, size.height)).toBeLessThanOrEqual(768);
    }
    const xlFirst = await requestedSize([checkpoint('xl.safetensors', 'sdxl')]);
    expect(Math.min(xlFirst.width, xlFirst.height)).toBeGreaterThanOrEqual(1024);
  });
});
