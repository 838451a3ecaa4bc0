// The panel's fill flow with a style on an SDXL checkpoint, end to end: fake Photoshop → shared client → a real
// bridge running the tiny SDXL model → one masked layer. The flow learns the model is SDXL only from the
// bridge's model list: the crop it sends is in SDXL's native range and the style's SDXL settings come along.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { STYLE_PRESETS } from '@kirie/core/styles/presets';
import type { E2eBridge } from '../../../tests/e2e/bridge-harness.js';
import { type RecordingClient, startSdxlBridge, TINY_XL } from '../../shared/test/sdxl-bridge.js';
import { fillSelection } from '../src/flows.js';
import { ellipseSelection, setup } from './scenes.js';

let bridge: E2eBridge;
let client: RecordingClient;

beforeAll(async () => {
  ({ bridge, client } = await startSdxlBridge());
}, 120_000);
afterAll(() => bridge?.dispose());

it('fill selection with a style on the tiny SDXL model: one new masked layer, sized and set for SDXL', async () => {
  const { ps, doc, host } = setup(300, 200);
  ellipseSelection(doc, 150, 100, 40, 30);
  const result = await fillSelection(host, client, { prompt: 'a paper fox', style: 'kirie', model: TINY_XL, steps: 2, seed: 4 });

  expect(doc.layersState).toHaveLength(2);
  expect(doc.history).toEqual(['Open', result.layerName]);
  expect(ps.live.size).toBe(0);
  expect(doc.layer(result.layerId).mask![100 * 300 + 150]).toBe(255);

  const [sent] = client.sent;
  for (const side of [sent!.width!, sent!.height!]) {
    expect(side % 64).toBe(0);
    expect(side).toBeGreaterThanOrEqual(1024);
    expect(side).toBeLessThanOrEqual(1536);
  }
  const xl = STYLE_PRESETS.find((s) => s.id === 'kirie')!.settings.sdxl;
  expect(sent).toMatchObject({ model: TINY_XL, guidance: xl.guidance, scheduler: xl.scheduler, steps: 2, strength: xl.strength });
  expect(client.done[0]!.recipe.model).toEqual({ id: TINY_XL, name: TINY_XL, family: 'sdxl' });
}, 600_000);
