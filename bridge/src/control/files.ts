// Image (PNG, JPEG) and pose-JSON files for the control commands and the controlnet verify kind, with errors that name
// the file and what was wrong with it.
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeImage } from '@kirie/core/image/decode';
import { encodePng, type RasterImage } from '@kirie/core/image/png';
import { parsePythonJson } from '@kirie/core/io/json';
import { parsePoseJson, type ParsePoseOptions, type PoseDocument } from '@kirie/core/control/openpose';

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${what} ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

export function readImage(path: string, what = 'image'): RasterImage {
  const bytes = read(path, what);
  try {
    return decodeImage(bytes);
  } catch (err) {
    throw new Error(`${what} ${path}: not a readable 8-bit PNG or JPEG (${(err as Error).message})`);
  }
}

export function writeImage(path: string, image: RasterImage): void {
  writeFileSync(path, encodePng(image));
}

export function readPose(path: string, options: ParsePoseOptions = {}): PoseDocument {
  const text = read(path, 'pose JSON').toString('utf8');
  try {
    return parsePoseJson(parsePythonJson(text), options);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}
