// diffusers' classic ONNX export: `sample` [batch, "channels", h, w] and no unet/config.json, so the channel
// count comes from the first convolution on the sample (through a precision cast, as float16 exports have it).
import { describe, expect, it } from 'vitest';
import { unetInChannelsFromGraph } from '../../src/models/graph-channels.js';
import { onnx } from '../../src/models/onnx/graph.js';

function unet(first: { op: string; weightDims?: number[] }[]): Uint8Array {
  let value = 'sample';
  const node = first.map((n, i) => {
    const out = `v${i}`;
    const made = onnx.NodeProto.create({ opType: n.op, input: n.weightDims ? [value, `w${i}`] : [value], output: [out], name: `${n.op}_${i}` });
    value = out;
    return made;
  });
  const initializer = first.flatMap((n, i) => (n.weightDims ? [onnx.TensorProto.create({ name: `w${i}`, dims: n.weightDims, dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'weights.pb' }] })] : []));
  const input = [onnx.ValueInfoProto.create({ name: 'sample', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'channels' }, { dimParam: 'height' }, { dimParam: 'width' }] } } } })];
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ version: 17 }], graph: { name: 'unet', node, initializer, input } })).finish();
}

describe('unetInChannelsFromGraph', () => {
  it.each([
    ['conv_in straight on the sample', [{ op: 'Conv', weightDims: [320, 4, 3, 3] }], 4],
    ['a float16 export (Cast first), inpainting', [{ op: 'Cast' }, { op: 'Conv', weightDims: [320, 9, 3, 3] }], 9],
  ])('%s', (_, nodes, channels) => {
    expect(unetInChannelsFromGraph(unet(nodes), 'sample')).toBe(channels);
  });

  it('says why when no convolution reads the sample', () => {
    expect(() => unetInChannelsFromGraph(unet([{ op: 'Mul' }, { op: 'Conv', weightDims: [320, 4, 3, 3] }]), 'sample')).toThrow(/no convolution reads sample directly/);
  });
});
