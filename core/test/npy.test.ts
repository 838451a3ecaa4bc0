import { describe, expect, it } from 'vitest';
import { parseNpy, serializeNpy } from '../src/io/npy.js';
import { parsePythonJson } from '../src/io/json.js';

describe('npy', () => {
  it.each([
    [new Float32Array([1.5, -2, 3.25]), [3]],
    [new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]],
    [new Int32Array([7, 8]), [1, 2]],
    [new BigInt64Array([1n, -2n]), [2]],
    [new Uint8Array([0, 255, 1, 2]), [2, 1, 2]],
    [new Float32Array([42]), []],
  ])('round-trips %o with shape %o', (data, shape) => {
    const back = parseNpy(serializeNpy(data, shape));
    expect(back.shape).toEqual(shape);
    expect(Array.from(back.data as ArrayLike<number | bigint>)).toEqual(Array.from(data as ArrayLike<number | bigint>));
  });

  it('rejects a file that is not npy', () => {
    expect(() => parseNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))).toThrow(/bad magic/);
  });

  it('rejects a truncated payload', () => {
    const bytes = serializeNpy(new Float32Array(16), [16]);
    expect(() => parseNpy(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated/);
  });
});

describe('parsePythonJson', () => {
  it.each([
    ['{"a": -Infinity}', { a: -Infinity }],
    ['[NaN, Infinity, 1]', [NaN, Infinity, 1]],
    ['{"s": "NaN -Infinity \\" Infinity"}', { s: 'NaN -Infinity " Infinity' }],
    ['{"x": [1e-5, -2]}', { x: [1e-5, -2] }],
  ])('parses %s', (text, expected) => {
    expect(parsePythonJson(text)).toEqual(expected);
  });
});

describe('npy from a view into a larger buffer (a Node Buffer from readFileSync is one)', () => {
  it('reads the payload, not the start of the underlying buffer', () => {
    const file = serializeNpy(new Float32Array([1, 2, 3]), [3]);
    const pool = new Uint8Array(file.length + 13);
    pool.set(file, 13);
    expect(Array.from(parseNpy(pool.subarray(13)).data as Float32Array)).toEqual([1, 2, 3]);
  });
});
