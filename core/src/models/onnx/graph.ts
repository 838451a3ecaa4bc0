// A small ONNX graph builder over onnx-proto's generated ModelProto. Weights are pulled from a
// TensorSource one at a time, checked against the shape the architecture expects, converted to the
// model precision and either embedded or streamed into a WeightSink (ONNX external data), so no more
// than one tensor is held twice.
import onnxProto from 'onnx-proto';
import type { TensorSource, WeightSink } from '../types.js';
import { float32ToHalf } from '../safetensors.js';
import { isAdaptable } from '../../adapters/targets.js';

export const { onnx } = onnxProto;
export const OPSET = 17;
const DT = onnx.TensorProto.DataType;
export const FLOAT = DT.FLOAT;
export const FLOAT16 = DT.FLOAT16;
export const INT32 = DT.INT32;
export const INT64 = DT.INT64;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('ONNX raw tensor data is little-endian; this platform is big-endian');
}

/** Attribute values; names listed in FLOAT_ATTRS are floats, other numbers are ints. */
export type AttrValue = number | number[] | string;
const FLOAT_ATTRS = new Set(['epsilon', 'alpha', 'beta', 'scale']);

export type Dim = number | string;

/** A ModelProto must stay under 2 GiB (protobuf's limit); leave room for the graph itself. */
const MAX_EMBEDDED_BYTES = 2 ** 31 - 64 * 2 ** 20;

export interface WeightOptions {
  /** Store [out, in] Linear weights as [in, out] so they feed MatMul directly. */
  transpose?: boolean;
  /** Dims to record (same element count), e.g. [C, 1, 1] for a per-channel scale. */
  dims?: number[];
}

function shapeEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export class Graph {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly consumed = new Set<string>();
  private readonly constCache = new Map<string, string>();
  private counter = 0;
  private embeddedBytes = 0;
  /** Non-standard op domains used (com.microsoft contrib ops), all at version 1. */
  private readonly domains = new Set<string>();
  /** Element type of activations and weights (float16 or float32). */
  readonly dtype: number;

  constructor(
    private readonly source: TensorSource,
    private readonly options: { fp16: boolean; sink?: WeightSink; adapterSlots?: boolean; webgpu?: boolean },
  ) {
    this.dtype = options.fp16 ? FLOAT16 : FLOAT;
  }

  /** Built for ONNX Runtime's WebGPU provider: layers route around its bugs (./webgpu.ts). */
  get forWebGpu(): boolean {
    return this.options.webgpu ?? false;
  }

  /** Checkpoint keys the graph has read so far. */
  get consumedKeys(): ReadonlySet<string> {
    return this.consumed;
  }

  private keySet?: Set<string>;

  has(key: string): boolean {
    this.keySet ??= new Set(this.source.keys());
    return this.keySet.has(key);
  }

  /**
   * The low-rank adapter inputs of an adaptable module (see core/src/adapters/slots.ts), declared on first
   * use; undefined when the graph is built without slots or the module takes no adapter.
   */
  adapterSlot(module: string, downDims: (rank: string) => Dim[], upDims: (rank: string) => Dim[]): { down: string; up: string } | undefined {
    if (!this.options.adapterSlots || !isAdaptable(module)) return undefined;
    const rank = `lora_rank.${module}`;
    return { down: this.input(`lora_down.${module}`, this.dtype, downDims(rank)), up: this.input(`lora_up.${module}`, this.dtype, upDims(rank)) };
  }

  /** Marks every key under `prefix` as accounted for without reading it (e.g. layers a clip skip drops). */
  skipPrefix(prefix: string): void {
    for (const k of this.source.keys()) if (k.startsWith(prefix)) this.consumed.add(k);
  }

  private name(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  /** Adds one node; returns its output names (`outputs` of them). */
  opN(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1, domain = ''): string[] {
    if (domain) this.domains.add(domain);
    const outs = Array.from({ length: outputs }, () => this.name(type));
    const attribute = Object.entries(attrs).map(([name, v]) => {
      const A = onnx.AttributeProto.AttributeType;
      if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
      if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
      if (FLOAT_ATTRS.has(name)) return { name, type: A.FLOAT, f: v };
      return { name, type: A.INT, i: v };
    });
    this.nodes.push(onnx.NodeProto.create({ opType: type, input: inputs, output: outs, name: outs[0], attribute, domain }));
    return outs;
  }

  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.opN(type, inputs, attrs, 1)[0];
  }

  private valueInfo(name: string, elemType: number, dims: Dim[]) {
    return onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType,
          shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
        },
      },
    });
  }

  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(this.valueInfo(name, elemType, dims));
    return name;
  }

  /** Declares `value` as a float32 graph output, casting from the compute type when needed. */
  output(name: string, value: string, dims: Dim[]): void {
    const src = this.dtype === FLOAT ? value : this.op('Cast', [value], { to: FLOAT });
    this.nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [src], output: [name], name }));
    this.outputs.push(this.valueInfo(name, FLOAT, dims));
  }

  /** A float32 graph input, cast to the compute type. */
  floatInput(name: string, dims: Dim[]): string {
    this.input(name, FLOAT, dims);
    return this.dtype === FLOAT ? name : this.op('Cast', [name], { to: this.dtype });
  }

  /** Reads a checkpoint tensor (checking its shape) into an initializer named after the key. */
  async weight(key: string, shape: number[], opts: WeightOptions = {}): Promise<string> {
    if (!this.has(key)) throw new Error(`checkpoint has no tensor ${key} (expected shape [${shape}])`);
    const actual = this.source.shape(key);
    if (!shapeEqual(actual, shape)) {
      throw new Error(`${key}: shape [${actual}] does not match the architecture, expected [${shape}]`);
    }
    if (this.consumed.has(key)) throw new Error(`${key} is read twice`);
    this.consumed.add(key);
    let data = await this.source.read(key);
    let dims = opts.dims ?? shape;
    if (opts.transpose) {
      const [rows, cols] = shape;
      const t = new Float32Array(data.length);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = data[r * cols + c];
      data = t;
      dims = [cols, rows];
    }
    await this.addInitializer(key, data, dims);
    return key;
  }

  private async addInitializer(name: string, data: Float32Array, dims: number[]): Promise<void> {
    const typed = this.options.fp16 ? float32ToHalf(data) : data;
    const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    const tensor = onnx.TensorProto.create({ name, dims, dataType: this.dtype });
    const sink = this.options.sink;
    if (sink && bytes.byteLength >= 1024) {
      const { offset, length } = await sink.write(bytes);
      tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      tensor.externalData = [
        { key: 'location', value: sink.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ];
    } else {
      this.embeddedBytes += bytes.byteLength;
      if (this.embeddedBytes > MAX_EMBEDDED_BYTES) {
        throw new Error(`weights exceed ONNX's 2 GB protobuf limit at ${name}: build with an externalData sink`);
      }
      // Copy: the source's buffer may be reused by the reader once this returns.
      tensor.rawData = bytes.slice();
    }
    this.initializers.push(tensor);
  }

  /** A constant in the compute type (embedded, cached by value). */
  constant(values: ArrayLike<number>, dims: number[]): string {
    const f = Float32Array.from(values);
    const typed = this.options.fp16 ? float32ToHalf(f) : f;
    return this.rawConstant(new Uint8Array(typed.buffer), this.dtype, dims, 'const');
  }

  scalar(value: number): string {
    return this.constant([value], []);
  }

  /** A float32 constant regardless of precision (for math kept in float32, e.g. the timestep embedding). */
  constantF32(values: ArrayLike<number>, dims: number[]): string {
    return this.rawConstant(new Uint8Array(Float32Array.from(values).buffer), FLOAT, dims, 'constf32');
  }

  constantInt32(values: number[]): string {
    return this.rawConstant(new Uint8Array(Int32Array.from(values).buffer), INT32, [values.length], 'int32');
  }

  ints(values: number[]): string {
    return this.rawConstant(new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer), INT64, [values.length], 'ints');
  }

  private rawConstant(bytes: Uint8Array, dataType: number, dims: number[], hint: string): string {
    const cacheKey = `${dataType}:${dims}:${Array.from(bytes).join(',')}`;
    const cached = bytes.length <= 64 ? this.constCache.get(cacheKey) : undefined;
    if (cached) return cached;
    const name = this.name(hint);
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType, rawData: bytes }));
    if (bytes.length <= 64) this.constCache.set(cacheKey, name);
    return name;
  }

  /** Serialises the ModelProto (weights embedded or referencing the sink's file). */
  toBytes(graphName: string, docString: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'kirie',
      opsetImport: [{ domain: '', version: OPSET }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      docString,
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
