// A graph's inputs and outputs as ONNX Runtime describes them (InferenceSession.inputMetadata/outputMetadata),
// read from the model file alone. Lets a host describe a session it has not created yet: creating one is the
// expensive part of opening a model (graph optimisation, weight packing), and a job may never need it.
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { onnx } from './onnx/graph.js';
import type { SessionMetadata } from './sessions.js';

const DT = onnx.TensorProto.DataType;

/** TensorProto element types ONNX Runtime's JavaScript API names (onnxruntime-common Tensor.Type). */
const TENSOR_TYPES = new Map<number, Tensor.Type>([
  [DT.FLOAT, 'float32'],
  [DT.UINT8, 'uint8'],
  [DT.INT8, 'int8'],
  [DT.UINT16, 'uint16'],
  [DT.INT16, 'int16'],
  [DT.INT32, 'int32'],
  [DT.INT64, 'int64'],
  [DT.STRING, 'string'],
  [DT.BOOL, 'bool'],
  [DT.FLOAT16, 'float16'],
  [DT.DOUBLE, 'float64'],
  [DT.UINT32, 'uint32'],
  [DT.UINT64, 'uint64'],
]);

type ValueInfo = InstanceType<typeof onnx.GraphProto>['input'][number];

function metadataOf(value: ValueInfo): InferenceSession.ValueMetadata {
  const name = value.name ?? '';
  const tensor = value.type?.tensorType;
  if (!tensor) return { name, isTensor: false };
  const type = TENSOR_TYPES.get(tensor.elemType ?? 0);
  if (!type) throw new Error(`${name}: element type ${tensor.elemType} has no ONNX Runtime JavaScript name`);
  // ONNX Runtime reports a dimension with neither a value nor a name as -1.
  const shape = (tensor.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? Number(d.dimValue) : -1));
  return { name, isTensor: true, type, shape };
}

/**
 * The graph's declared inputs (initializers excluded, as ONNX Runtime excludes them) and outputs. Meant for
 * graphs whose weights are external data: decoding embeds nothing big then.
 */
export function graphIoMetadata(modelBytes: Uint8Array): SessionMetadata & { inputNames: string[]; outputNames: string[] } {
  const graph = onnx.ModelProto.decode(modelBytes).graph;
  if (!graph) throw new Error('the model has no graph');
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const inputMetadata = (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(metadataOf);
  const outputMetadata = (graph.output ?? []).map(metadataOf);
  return { inputMetadata, outputMetadata, inputNames: inputMetadata.map((m) => m.name), outputNames: outputMetadata.map((m) => m.name) };
}
