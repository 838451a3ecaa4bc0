// File access for verify kinds: reference arrays and images by path.
import { readFileSync } from 'node:fs';
import { parsePythonJson } from '@kirie/core/io/json';
import { parseNpy, type NpyArray } from '@kirie/core/io/npy';
import { decodePng, type RasterImage } from '@kirie/core/image/png';

export function readNpy(path: string): NpyArray {
  return parseNpy(readFileSync(path));
}

export function readPng(path: string): RasterImage {
  return decodePng(readFileSync(path));
}

export function readJson<T = unknown>(path: string): T {
  return parsePythonJson<T>(readFileSync(path, 'utf8'));
}
