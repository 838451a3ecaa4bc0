// What an exported UNet's metadata may leave symbolic: diffusers' classic ONNX export script names the
// channel axis of `sample` ("channels") and writes no unet/config.json, so the count is read from the graph
// itself: the input channels of the first convolution `sample` feeds (conv_in's weight [out, in, k, k]).
import { onnx } from './onnx/graph.js';

/** Ops that pass a tensor on with its channels unchanged (precision casts, identities). */
const PASS_THROUGH = new Set(['Cast', 'Identity']);

export function unetInChannelsFromGraph(modelBytes: Uint8Array, sampleName: string): number {
  const graph = onnx.ModelProto.decode(modelBytes).graph;
  if (!graph) throw new Error('unet: the model has no graph');
  // Decoded protobuf fields may be absent (null): every list defaults to empty.
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const nodes = (graph.node ?? []).map((n) => ({ name: n.name ?? '', opType: n.opType ?? '', input: n.input ?? [], output: n.output ?? [] }));
  let value = sampleName;
  for (let hops = 0; hops < 8; hops++) {
    const consumers = nodes.filter((n) => n.input.includes(value));
    const conv = consumers.find((n) => n.opType === 'Conv' && n.input[0] === value);
    if (conv) {
      const weight = initializers.get(conv.input[1] ?? '');
      const dims = weight?.dims?.map(Number);
      if (!dims || dims.length !== 4) throw new Error(`unet: the first convolution on ${sampleName} (${conv.name}) has no 4-D weight initializer to read the channel count from`);
      return dims[1]!;
    }
    const next = consumers.find((n) => PASS_THROUGH.has(n.opType));
    if (!next) break;
    if (next.output[0] === undefined) break;
    value = next.output[0];
  }
  throw new Error(`unet: no convolution reads ${sampleName} directly, so its channel count cannot be read from the graph`);
}
