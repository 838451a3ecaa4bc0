// Loads @techstark/opencv-js (OpenCV compiled to WebAssembly) as an independent reference for tests.
// Its drawing and Canny code is the same C++ the golden files came from.
import { createRequire } from 'node:module';

// opencv.js has no usable typings for this use; tests only call a handful of its functions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Cv = any;

let loading: Promise<{ cv: Cv }> | undefined;

/**
 * Loaded with Node's require (vitest's module runner hangs on the UMD bundle). The module object is a
 * thenable that resolves to itself, so it is handed out wrapped: awaiting it directly never settles.
 */
export async function loadOpenCv(): Promise<{ cv: Cv }> {
  loading ??= (async () => {
    const cv = createRequire(import.meta.url)('@techstark/opencv-js') as Cv;
    if (!cv.Mat) await new Promise<void>((resolve) => (cv.onRuntimeInitialized = resolve));
    return { cv };
  })();
  return loading;
}

/** A deterministic generator so a failing case can be replayed. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
