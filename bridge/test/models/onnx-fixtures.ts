// Small ONNX graphs with chosen input/output names, dtypes and shapes: stand-ins for the components of
// exported model folders, enough for sessions to load and report their metadata.
import { onnx } from '@kirie/core/models/onnx/graph';

type Dims = (number | string)[];
export interface IoSpec {
  name: string;
  type: 'float32' | 'float16' | 'int32' | 'int64' | 'float64';
  shape: Dims;
}

const ELEM = { float32: 1, int32: 6, int64: 7, float16: 10, float64: 11 } as const;

function valueInfo(v: IoSpec) {
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: { tensorType: { elemType: ELEM[v.type], shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
}

/** Every output is a Cast of the first input: the graph is valid, its metadata is exactly what was asked. */
export function fixtureModel(inputs: IoSpec[], outputs: IoSpec[]): Uint8Array {
  const node = outputs.map((o) => onnx.NodeProto.create({ opType: 'Cast', input: [inputs[0].name], output: [o.name], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: ELEM[o.type] }] }));
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'kirie-test',
    graph: { name: 'fixture', node, input: inputs.map(valueInfo), output: outputs.map(valueInfo) },
  });
  return onnx.ModelProto.encode(model).finish();
}
