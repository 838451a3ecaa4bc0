// The .safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header
// `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}`, then the raw tensor bytes.
// Checkpoints are 2-7 GB, so this module only understands the header and converts one tensor's bytes at a
// time; reading those bytes from disk is the host's job (bridge/src/models/safetensors-file.ts).

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offset of the tensor's first byte in the file. */
  offset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  /** Bytes before the first tensor byte: 8 + the JSON header length. */
  dataStart: number;
  /** In file order (ascending offset). */
  tensors: SafetensorsEntry[];
  metadata: Record<string, string>;
}

/** The safetensors reference implementation refuses headers above 100 MB; a real SD header is ~100 KB. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Reads the JSON header length from the first 8 bytes; `label` names the file in errors. */
export function readHeaderLength(first8: Uint8Array, fileSize: number, label: string): number {
  if (fileSize < 8 || first8.length < 8) throw new Error(`${label}: not a safetensors file (only ${fileSize} bytes, the 8-byte header length is missing)`);
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const length = Number(view.getBigUint64(0, true));
  if (length < 2 || length > MAX_HEADER_BYTES) {
    throw new Error(`${label}: not a safetensors file or corrupt (header length ${length} is outside 2..${MAX_HEADER_BYTES})`);
  }
  if (8 + length > fileSize) throw new Error(`${label}: truncated safetensors file (header needs ${8 + length} bytes, file has ${fileSize})`);
  return length;
}

/** Parses and validates the JSON header (bytes after the 8-byte length) against the file size. */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileSize: number, label: string): SafetensorsHeader {
  const dataStart = 8 + headerBytes.length;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new Error(`${label}: corrupt safetensors header (not valid JSON: ${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isRecord(json)) throw new Error(`${label}: corrupt safetensors header (expected a JSON object)`);
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isRecord(value)) throw new Error(`${label}: corrupt safetensors header (__metadata__ is not an object)`);
      for (const [k, v] of Object.entries(value)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
      continue;
    }
    tensors.push(parseEntry(name, value, dataStart, fileSize, label));
  }
  tensors.sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < tensors.length; i++) {
    const prev = tensors[i - 1];
    if (prev.offset + prev.byteLength > tensors[i].offset) {
      throw new Error(`${label}: corrupt safetensors header (tensors ${prev.name} and ${tensors[i].name} overlap)`);
    }
  }
  return { dataStart, tensors, metadata };
}

function parseEntry(name: string, value: unknown, dataStart: number, fileSize: number, label: string): SafetensorsEntry {
  const where = `${label}: tensor ${name}`;
  if (!isRecord(value)) throw new Error(`${where}: header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    throw new Error(`${where}: unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${where}: bad shape ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
    throw new Error(`${where}: bad data_offsets ${JSON.stringify(offsets)}`);
  }
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const byteLength = count * DTYPE_BYTES[dtype as SafetensorsDtype];
  const [begin, end] = offsets as number[];
  if (end - begin !== byteLength) {
    throw new Error(`${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, but ${dtype} ${JSON.stringify(shape)} needs ${byteLength}`);
  }
  if (dataStart + end > fileSize) {
    throw new Error(`${where}: data ends at byte ${dataStart + end}, beyond the end of the file (${fileSize} bytes): truncated file?`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], offset: dataStart + begin, byteLength };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

let f16Table: Float32Array | undefined;

/** All 65536 half-precision values: a table lookup converts ~1e9 weights in about a second. */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac ? NaN : sign * Infinity;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  f16Table = table;
  return table;
}

/** A typed view when the bytes are aligned for it, else a copy (safetensors gives no alignment promise). */
function aligned<T>(bytes: Uint8Array, size: number, make: (buf: ArrayBufferLike, off: number, len: number) => T): T {
  const n = bytes.byteLength / size;
  if (bytes.byteOffset % size === 0) return make(bytes.buffer, bytes.byteOffset, n);
  return make(bytes.slice().buffer, 0, n);
}

/**
 * Converts one float tensor's raw little-endian bytes to float32. F32 input that is 4-byte aligned is returned
 * as a view on the same memory (no copy: the caller owns `bytes`). `label` names the tensor in errors.
 */
export function tensorToFloat32(bytes: Uint8Array, dtype: SafetensorsDtype, label: string): Float32Array {
  const size = DTYPE_BYTES[dtype];
  if (bytes.byteLength % size !== 0) throw new Error(`${label}: ${bytes.byteLength} bytes is not a whole number of ${dtype} values`);
  switch (dtype) {
    case 'F32':
      return aligned(bytes, 4, (b, o, n) => new Float32Array(b, o, n));
    case 'F64':
      return Float32Array.from(aligned(bytes, 8, (b, o, n) => new Float64Array(b, o, n)));
    case 'F16': {
      const half = aligned(bytes, 2, (b, o, n) => new Uint16Array(b, o, n));
      const table = halfTable();
      const out = new Float32Array(half.length);
      for (let i = 0; i < half.length; i++) out[i] = table[half[i]];
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const half = aligned(bytes, 2, (b, o, n) => new Uint16Array(b, o, n));
      const out = new Uint32Array(half.length);
      for (let i = 0; i < half.length; i++) out[i] = half[i] << 16;
      return new Float32Array(out.buffer);
    }
    default:
      throw new Error(`${label}: dtype ${dtype} is not a float type`);
  }
}

const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

/** One float32 to IEEE half bits, round-to-nearest-even, overflow to ±Inf, NaN kept. */
export function float32ToHalfBits(value: number): number {
  F32_SCRATCH[0] = value;
  const x = U32_SCRATCH[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to Inf).
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

export function float32ToHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToHalfBits(values[i]);
  return out;
}

export interface SafetensorsLayoutEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
}

/**
 * Builds the file prefix (8-byte length + JSON header, space-padded to 8 bytes like the reference writer) for
 * tensors stored back to back in the given order; returns each tensor's absolute offset so a writer can stream
 * the data after it.
 */
export function serializeSafetensorsHeader(
  entries: readonly SafetensorsLayoutEntry[],
  metadata: Record<string, string> = {},
): { prefix: Uint8Array; offsets: number[]; fileSize: number } {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const relative: number[] = [];
  let cursor = 0;
  for (const e of entries) {
    if (e.name in header) throw new Error(`duplicate tensor name ${e.name}`);
    const byteLength = e.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[e.dtype];
    header[e.name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [cursor, cursor + byteLength] };
    relative.push(cursor);
    cursor += byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const prefix = new Uint8Array(8 + padded).fill(0x20);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded), true);
  prefix.set(json, 8);
  const dataStart = prefix.length;
  return { prefix, offsets: relative.map((r) => dataStart + r), fileSize: dataStart + cursor };
}
