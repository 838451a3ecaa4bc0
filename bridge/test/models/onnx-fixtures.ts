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

const BYTES = { float32: 4, int32: 4, int64: 8, float16: 2, float64: 8 } as const;

/**
 * Every output is an Identity of a zero initializer whose shape is the declared one with symbolic dims as 1
 * (ORT would otherwise overwrite the declared output shape with an inferred one): the metadata is exactly
 * the inputs and the output names/types/ranks asked for.
 */
export function fixtureModel(inputs: IoSpec[], outputs: IoSpec[]): Uint8Array {
  const concrete = (o: IoSpec): IoSpec => ({ ...o, shape: o.shape.map((d) => (typeof d === 'number' ? d : 1)) });
  const initializer = outputs.map((o) => {
    const dims = concrete(o).shape as number[];
    const count = dims.reduce((a, b) => a * b, 1);
    return onnx.TensorProto.create({ name: `${o.name}_zeros`, dataType: ELEM[o.type], dims, rawData: new Uint8Array(count * BYTES[o.type]) });
  });
  const node = outputs.map((o) => onnx.NodeProto.create({ opType: 'Identity', input: [`${o.name}_zeros`], output: [o.name] }));
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'kirie-test',
    graph: { name: 'fixture', node, initializer, input: inputs.map(valueInfo), output: outputs.map(concrete).map(valueInfo) },
  });
  return onnx.ModelProto.encode(model).finish();
}
