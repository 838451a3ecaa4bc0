// cldm ControlNet (`control_model.*`, control_v11p_sd15_* layout): the UNet's down path and middle block
// with the control image added after input_blocks.0 through input_hint_block, a zero conv on every
// block output and on the middle block output, each residual multiplied by conditioning_scale.
// Outputs are the UNet residual inputs' names, so they feed the controlResiduals UNet unchanged.
import type { ControlNetArch } from './arch.js';
import { FLOAT, type Graph } from './onnx/graph.js';
import { conv, silu } from './onnx/layers.js';
import { downPath, MID_RESIDUAL, residualName, unetInputs, type AttentionOptions } from './unet.js';

export const CONTROLNET_PREFIX = 'control_model.';

/** input_hint_block conv widths (cldm.ControlNet), the last one being model_channels; stride 2 at 3 of them. */
export const HINT_WIDTHS = [16, 16, 32, 32, 96, 96, 256];
const HINT_STRIDE2 = new Set([2, 4, 6]);

export async function buildControlNet(g: Graph, arch: ControlNetArch, attention: AttentionOptions): Promise<void> {
  const p = CONTROLNET_PREFIX;
  const { ctx, sample } = await unetInputs(g, arch, p, attention);
  let hint = g.floatInput('controlnet_cond', ['batch', arch.hintChannels, 'image_height', 'image_width']);
  g.input('conditioning_scale', FLOAT, [1]);
  const scale = g.dtype === FLOAT ? 'conditioning_scale' : g.op('Cast', ['conditioning_scale'], { to: g.dtype });

  const widths = [...HINT_WIDTHS, arch.modelChannels];
  let cin = arch.hintChannels;
  for (const [i, w] of widths.entries()) {
    hint = await conv(g, hint, `${p}input_hint_block.${2 * i}`, cin, w, 3, { stride: HINT_STRIDE2.has(i) ? 2 : 1 });
    if (i < widths.length - 1) hint = silu(g, hint);
    cin = w;
  }

  const down = await downPath(ctx, sample, hint);
  for (const [i, s] of down.skips.entries()) {
    const c = down.skipChannels[i];
    const r = await conv(g, s, `${p}zero_convs.${i}.0`, c, c, 1);
    g.output(residualName(i), g.op('Mul', [r, scale]), ['batch', c, `residual_${i}_height`, `residual_${i}_width`]);
  }
  const mid = await conv(g, down.mid, `${p}middle_block_out.0`, down.channels, down.channels, 1);
  g.output(MID_RESIDUAL, g.op('Mul', [mid, scale]), ['batch', down.channels, 'mid_height', 'mid_width']);
}
