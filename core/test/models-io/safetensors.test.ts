import { describe, expect, it } from 'vitest';
import {
  float32ToHalf,
  float32ToHalfBits,
  parseSafetensorsHeader,
  readHeaderLength,
  serializeSafetensorsHeader,
  tensorToFloat32,
} from '../../src/models/safetensors.js';

const enc = (s: string) => new TextEncoder().encode(s);

function lengthPrefix(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

describe('safetensors header', () => {
  it('round-trips a layout through serializeSafetensorsHeader and parseSafetensorsHeader', () => {
    const layout = [
      { name: 'b', dtype: 'F16' as const, shape: [3] },
      { name: 'a', dtype: 'F32' as const, shape: [2, 2] },
      { name: 'ids', dtype: 'I64' as const, shape: [1, 77] },
      { name: 'empty', dtype: 'F32' as const, shape: [0] },
    ];
    const { prefix, offsets, fileSize } = serializeSafetensorsHeader(layout, { format: 'pt' });
    expect(prefix.length % 8).toBe(0);
    expect(fileSize).toBe(prefix.length + 6 + 16 + 616);
    const len = readHeaderLength(prefix.subarray(0, 8), fileSize, 'x');
    expect(len).toBe(prefix.length - 8);
    const header = parseSafetensorsHeader(prefix.subarray(8), fileSize, 'x');
    expect(header.dataStart).toBe(prefix.length);
    expect(header.metadata).toEqual({ format: 'pt' });
    const byName = Object.fromEntries(header.tensors.map((t) => [t.name, t]));
    expect(byName.b).toMatchObject({ dtype: 'F16', shape: [3], offset: offsets[0], byteLength: 6 });
    expect(byName.a).toMatchObject({ dtype: 'F32', shape: [2, 2], offset: offsets[1], byteLength: 16 });
    expect(byName.ids).toMatchObject({ dtype: 'I64', offset: offsets[2], byteLength: 616 });
    expect(byName.empty.byteLength).toBe(0);
  });

  it('rejects duplicate names when writing', () => {
    expect(() => serializeSafetensorsHeader([{ name: 'a', dtype: 'F32', shape: [1] }, { name: 'a', dtype: 'F32', shape: [1] }])).toThrow(/duplicate tensor name a/);
  });

  const good = (extra: Record<string, unknown>) => enc(JSON.stringify({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, ...extra }));
  const cases: [string, () => unknown, RegExp][] = [
    ['file shorter than 8 bytes', () => readHeaderLength(new Uint8Array(3), 3, 'm.safetensors'), /m\.safetensors: not a safetensors file \(only 3 bytes/],
    ['huge header length (random bytes)', () => readHeaderLength(enc('PK\x03\x04abcd'), 5000, 'm.safetensors'), /header length \d+ is outside/],
    ['header length beyond file', () => readHeaderLength(lengthPrefix(100), 50, 'm.safetensors'), /truncated safetensors file \(header needs 108 bytes, file has 50\)/],
    ['header not JSON', () => parseSafetensorsHeader(enc('{"t": {'), 1000, 'm'), /m: corrupt safetensors header \(not valid JSON/],
    ['header is an array', () => parseSafetensorsHeader(enc('[1,2]'), 1000, 'm'), /expected a JSON object/],
    ['bad dtype', () => parseSafetensorsHeader(enc(JSON.stringify({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } })), 1000, 'm'), /m: tensor w: unsupported dtype "F8_E4M3"/],
    ['negative shape', () => parseSafetensorsHeader(enc(JSON.stringify({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } })), 1000, 'm'), /tensor w: bad shape \[-1\]/],
    ['offsets reversed', () => parseSafetensorsHeader(enc(JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } })), 1000, 'm'), /tensor w: bad data_offsets/],
    ['size mismatch', () => parseSafetensorsHeader(enc(JSON.stringify({ w: { dtype: 'F16', shape: [4], data_offsets: [0, 16] } })), 1000, 'm'), /span 16 bytes, but F16 \[4\] needs 8/],
    ['offsets beyond the file', () => parseSafetensorsHeader(good({}), 20, 'm'), /tensor t: data ends at byte \d+, beyond the end of the file \(20 bytes\)/],
    ['overlapping tensors', () => parseSafetensorsHeader(good({ u: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), 1000, 'm'), /tensors t and u overlap/],
    ['metadata not an object', () => parseSafetensorsHeader(good({ __metadata__: 3 }), 1000, 'm'), /__metadata__ is not an object/],
  ];
  it.each(cases)('clear error: %s', (_name, fn, message) => {
    expect(fn).toThrow(message);
  });
});

describe('dtype conversion', () => {
  it('returns aligned F32 as a view and copies unaligned F32', () => {
    const src = new Float32Array([1.5, -2, 3e-8]);
    const aligned = new Uint8Array(src.buffer);
    const view = tensorToFloat32(aligned, 'F32', 't');
    expect(view.buffer).toBe(src.buffer);
    expect([...view]).toEqual([...src]);
    const shifted = new Uint8Array(13);
    shifted.set(aligned, 1);
    expect([...tensorToFloat32(shifted.subarray(1), 'F32', 't')]).toEqual([...src]);
  });

  const halfCases: [number, number][] = [
    [0x0000, 0], [0x8000, -0], [0x3c00, 1], [0xbc00, -1], [0x3555, 0.333251953125], [0x7bff, 65504],
    [0x0400, 2 ** -14], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x7c00, Infinity], [0xfc00, -Infinity],
  ];
  it.each(halfCases)('F16 bits %i decode to %f and encode back', (bits, value) => {
    const bytes = new Uint8Array(new Uint16Array([bits]).buffer);
    expect(Object.is(tensorToFloat32(bytes, 'F16', 't')[0], value)).toBe(true);
    expect(float32ToHalfBits(value)).toBe(bits);
  });

  it('F16 NaN stays NaN both ways', () => {
    expect(tensorToFloat32(new Uint8Array(new Uint16Array([0x7e00]).buffer), 'F16', 't')[0]).toBeNaN();
    expect(float32ToHalfBits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToHalfBits(NaN) & 0x3ff).not.toBe(0);
  });

  const roundCases: [number, number][] = [
    [1 + 2 ** -11, 0x3c00], // tie: round to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // tie: round to even (up)
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // above the tie
    [65520, 0x7c00], // rounds past the largest half
    [1e6, 0x7c00],
    [2 ** -25, 0x0000], // tie at the smallest subnormal: even is 0
    [2 ** -25 + 2 ** -35, 0x0001],
    [2 ** -14 - 2 ** -26, 0x0400], // subnormal rounds up into the normal range
    [1e-10, 0x0000],
    [-1e-10, 0x8000],
  ];
  it.each(roundCases)('float32ToHalfBits(%f) = %i', (value, bits) => {
    expect(float32ToHalfBits(value)).toBe(bits);
  });

  it('every finite half survives half -> float32 -> half', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const floats = tensorToFloat32(new Uint8Array(all.buffer), 'F16', 't');
    const back = float32ToHalf(floats);
    for (let i = 0; i < 65536; i++) {
      const exp = (i >> 10) & 0x1f;
      if (exp === 31 && (i & 0x3ff) !== 0) continue; // NaN payloads are not preserved
      if (back[i] !== i) throw new Error(`half ${i} came back as ${back[i]}`);
    }
  });

  it('BF16 is the top half of a float32', () => {
    const f = new Float32Array([1, -2.5, 3.140625, Infinity, 1.0078125 + 2 ** -20]);
    const top = new Uint16Array(f.length);
    const u32 = new Uint32Array(f.buffer);
    for (let i = 0; i < f.length; i++) top[i] = u32[i] >>> 16;
    const out = tensorToFloat32(new Uint8Array(top.buffer), 'BF16', 't');
    // Dropping the low 16 bits truncates: 1.0078125 + 2^-20 keeps only 1.0078125 (7 mantissa bits).
    expect([...out]).toEqual([1, -2.5, 3.140625, Infinity, 1.0078125]);
  });

  it('F64 narrows to float32', () => {
    const out = tensorToFloat32(new Uint8Array(new Float64Array([0.1, -1e300]).buffer), 'F64', 't');
    expect(out[0]).toBe(Math.fround(0.1));
    expect(out[1]).toBe(-Infinity);
  });

  it('refuses integer tensors and ragged byte counts by name', () => {
    expect(() => tensorToFloat32(new Uint8Array(8), 'I64', 'cond.position_ids')).toThrow(/cond\.position_ids: dtype I64 is not a float type/);
    expect(() => tensorToFloat32(new Uint8Array(3), 'F16', 'w')).toThrow(/w: 3 bytes is not a whole number of F16 values/);
  });
});
