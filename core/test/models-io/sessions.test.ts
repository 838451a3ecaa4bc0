import { describe, expect, it } from 'vitest';
import type { InferenceSession } from 'onnxruntime-common';
import { describeControlNetIo, describeSdIo, type SdGraphs, type SessionMetadata } from '../../src/models/sessions.js';

type Dims = (number | string)[];
const t = (name: string, type: string, shape: Dims): InferenceSession.ValueMetadata =>
  ({ name, isTensor: true, type, shape }) as InferenceSession.ValueMetadata;
/** Tests edit metadata in place to make one thing wrong. */
const edit = (g: SessionMetadata, i: number, change: Partial<{ shape: Dims; type: string }>) => Object.assign(g.inputMetadata[i] as object, change);
const graph = (inputs: readonly InferenceSession.ValueMetadata[], outputs: readonly InferenceSession.ValueMetadata[]): SessionMetadata => ({
  inputMetadata: inputs,
  outputMetadata: outputs,
});

const residualInputs = (type: string) => [
  ...Array.from({ length: 12 }, (_, i) => t(`down_block_${i}_additional_residual`, type, ['b', 'c', 'h', 'w'])),
  t('mid_block_additional_residual', type, ['b', 'c', 'h', 'w']),
];

/** Graph sets the way real exporters write them. */
function layout(opts: { ids: string; ts: string; tsShape: Dims; float: string; channels: number | string; enc?: string; residuals?: boolean }): SdGraphs {
  const f = opts.float;
  return {
    textEncoder: graph([t('input_ids', opts.ids, ['batch', 77])], [t('last_hidden_state', f, ['batch', 77, 768]), t('pooler_output', f, ['batch', 768])]),
    unet: graph(
      [
        t('sample', f, ['batch', opts.channels, 'h', 'w']),
        t('timestep', opts.ts, opts.tsShape),
        t('encoder_hidden_states', f, ['batch', 77, 768]),
        ...(opts.residuals ? residualInputs(f) : []),
      ],
      [t('out_sample', f, ['batch', 4, 'h', 'w'])],
    ),
    vaeDecoder: graph([t('latent_sample', f, ['batch', 4, 'h', 'w'])], [t('sample', f, ['batch', 3, 'H', 'W'])]),
    vaeEncoder: opts.enc ? graph([t('sample', f, ['batch', 3, 'H', 'W'])], [t(opts.enc, f, ['batch', 8, 'h', 'w'])]) : undefined,
  };
}

describe('describeSdIo', () => {
  const table: [string, Parameters<typeof layout>[0], object][] = [
    [
      'optimum (int32 ids, int64 timestep rank 1, latent_parameters)',
      { ids: 'int32', ts: 'int64', tsShape: ['steps'], float: 'float32', channels: 4, enc: 'latent_parameters' },
      { inputIds: 'int32', timestep: { name: 'timestep', type: 'int64', rank: 1 }, floatType: 'float32', unetInChannels: 4, vaeEncoderOutput: 'latent_parameters', unetTakesResiduals: false },
    ],
    [
      'diffusers script (int64 ids, float32 timestep rank 1, latent_sample)',
      { ids: 'int64', ts: 'float32', tsShape: [1], float: 'float32', channels: 4, enc: 'latent_sample' },
      { inputIds: 'int64', timestep: { name: 'timestep', type: 'float32', rank: 1 }, vaeEncoderOutput: 'latent_sample' },
    ],
    [
      'Olive fp16 (float16 timestep, inpainting)',
      { ids: 'int32', ts: 'float16', tsShape: ['unet_time_batch'], float: 'float16', channels: 9, enc: 'latent_sample' },
      { floatType: 'float16', timestep: { name: 'timestep', type: 'float16', rank: 1 }, unetInChannels: 9 },
    ],
    [
      'scalar timestep, no VAE encoder',
      { ids: 'int64', ts: 'int64', tsShape: [], float: 'float32', channels: 4 },
      { timestep: { name: 'timestep', type: 'int64', rank: 0 }, vaeEncoderOutput: undefined },
    ],
    [
      'OnnxStack ControlNet UNet (residual inputs, symbolic channels + config hint)',
      { ids: 'int32', ts: 'float16', tsShape: ['unet_time_batch'], float: 'float16', channels: 'unet_sample_channels', residuals: true },
      { unetTakesResiduals: true, unetInChannels: 4 },
    ],
  ];
  it.each(table)('%s', (_name, opts, expected) => {
    const io = describeSdIo(layout(opts), 4);
    expect(io).toMatchObject(expected);
    expect(io.names.unet).toMatchObject({ sample: 'sample', context: 'encoder_hidden_states', output: 'out_sample' });
    expect(io.names.textEncoder).toEqual({ inputIds: 'input_ids', hiddenState: 'last_hidden_state' });
    if (opts.residuals) {
      expect(io.names.unet.downResiduals).toHaveLength(12);
      expect(io.names.unet.downResiduals[10]).toBe('down_block_10_additional_residual');
      expect(io.names.unet.midResidual).toBe('mid_block_additional_residual');
    }
  });

  it('falls back to the only plausible tensor when names differ', () => {
    const g = layout({ ids: 'int64', ts: 'int64', tsShape: [1], float: 'float32', channels: 4 });
    g.textEncoder = graph([t('ids', 'int64', [1, 77])], [t('hidden', 'float32', [1, 77, 768]), t('pooled', 'float32', [1, 768])]);
    g.vaeDecoder = graph([t('z', 'float32', [1, 4, 64, 64])], [t('image', 'float32', [1, 3, 512, 512])]);
    const io = describeSdIo(g);
    expect(io.names.textEncoder).toEqual({ inputIds: 'ids', hiddenState: 'hidden' });
    expect(io.names.vaeDecoder).toEqual({ latent: 'z', image: 'image' });
  });

  const errors: [string, (g: SdGraphs) => void, RegExp][] = [
    ['float input_ids', (g) => (g.textEncoder = graph([t('input_ids', 'float32', [1, 77])], [t('last_hidden_state', 'float32', [1, 77, 768])])), /text_encoder: input_ids is float32, expected int32 or int64/],
    ['no timestep', (g) => (g.unet = graph([t('sample', 'float32', [1, 4, 8, 8]), t('encoder_hidden_states', 'float32', [1, 77, 768])], [t('out_sample', 'float32', [1, 4, 8, 8])])), /unet: expected an input named timestep or timesteps or t; the graph has inputs sample: float32\[1,4,8,8\]/],
    ['rank-2 timestep', (g) => edit(g.unet, 1, { shape: [1, 1] }), /timestep input timestep has rank 2/],
    ['int32 timestep', (g) => edit(g.unet, 1, { type: 'int32' }), /timestep input timestep is int32, expected int64, float32 or float16/],
    ['SDXL-like 4-ch with 8 channels', (g) => edit(g.unet, 0, { shape: [1, 8, 8, 8] }), /unet: sample has 8 channels; only 4 .* and 9 .* are supported/],
    ['symbolic channels, no hint', (g) => edit(g.unet, 0, { shape: [1, 'c', 8, 8] }), /channel count of sample is symbolic \(c\) and no unet config/],
    ['mixed float types', (g) => (g.vaeDecoder = graph([t('latent_sample', 'float16', [1, 4, 8, 8])], [t('sample', 'float16', [1, 3, 64, 64])])), /vae_decoder: latent_sample is float16 while the UNet uses float32/],
    ['encoder without a known output', (g) => (g.vaeEncoder = graph([t('sample', 'float32', [1, 3, 64, 64])], [t('moments', 'float32', [1, 8, 8, 8])])), /vae_encoder: expected an output named latent_parameters or latent_sample; the graph has outputs moments/],
    ['half the residuals', (g) => (g.unet = graph([...g.unet.inputMetadata, t('down_block_0_additional_residual', 'float32', [1, 320, 8, 8])], g.unet.outputMetadata)), /residual inputs are incomplete/],
  ];
  it.each(errors)('clear error: %s', (_name, mutate, message) => {
    const g = layout({ ids: 'int64', ts: 'int64', tsShape: [1], float: 'float32', channels: 4, enc: 'latent_parameters' });
    mutate(g);
    expect(() => describeSdIo(g)).toThrow(message);
  });
});

describe('describeControlNetIo', () => {
  const outputs = [
    ...Array.from({ length: 12 }, (_, i) => t(`down_block_${11 - i}_additional_residual`, 'float16', ['b', 'c', 'h', 'w'])),
    t('mid_block_additional_residual', 'float16', ['b', 1280, 'h', 'w']),
  ];
  it('reads an OnnxStack-style ControlNet', () => {
    const io = describeControlNetIo(
      graph(
        [
          t('sample', 'float16', ['b', 4, 'h', 'w']),
          t('timestep', 'int64', ['b']),
          t('encoder_hidden_states', 'float16', ['b', 77, 768]),
          t('controlnet_cond', 'float16', ['b', 3, 'H', 'W']),
          t('conditioning_scale', 'float64', []),
        ],
        outputs,
      ),
    );
    expect(io).toMatchObject({ sample: 'sample', cond: 'controlnet_cond', floatType: 'float16', scale: { name: 'conditioning_scale', type: 'float64', rank: 0 }, midResidual: 'mid_block_additional_residual' });
    expect(io.downResiduals[0]).toBe('down_block_0_additional_residual');
    expect(io.downResiduals[11]).toBe('down_block_11_additional_residual');
  });

  it('names what is missing', () => {
    const inputs = [t('sample', 'float32', [1, 4, 8, 8]), t('timestep', 'int64', [1]), t('encoder_hidden_states', 'float32', [1, 77, 768]), t('controlnet_cond', 'float32', [1, 3, 64, 64])];
    expect(() => describeControlNetIo(graph(inputs, [t('out_sample', 'float32', [1, 4, 8, 8])]))).toThrow(/controlnet: expected outputs down_block_\{0\.\.N\}_additional_residual .* the graph has outputs out_sample/);
    expect(() => describeControlNetIo(graph(inputs.slice(0, 3), outputs))).toThrow(/controlnet: expected an input named controlnet_cond/);
  });
});
