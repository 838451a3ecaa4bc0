// The full-size random SD1.5 checkpoint the full-size suites share: written and built once into a temp
// folder (or taken from KIRIE_BENCH_SD15_DIR, a folder a previous run kept), removed afterwards.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../models/random.js';

export interface FullSize {
  checkpoint: string;
  cacheDir: string;
}

/** Full-size suites run when named on the command line or with KIRIE_BENCH_FULL=1. */
export function fullSizeWanted(suite: string): boolean {
  return process.argv.slice(2).includes(suite) || process.env.KIRIE_BENCH_FULL === '1';
}

export async function withFullSize<T>(run: (f: FullSize) => Promise<T>): Promise<T> {
  const kept = process.env.KIRIE_BENCH_SD15_DIR;
  const dir = kept ?? mkdtempSync(join(tmpdir(), 'kirie-bench-sd15-'));
  const f = { checkpoint: join(dir, 'sd15-random.safetensors'), cacheDir: join(dir, 'cache') };
  try {
    if (!existsSync(f.checkpoint)) await writeRandomCheckpoint({ arch: 'sd15', kind: 'sd15', seed: 1, out: f.checkpoint });
    return await run(f);
  } finally {
    if (!kept) rmSync(dir, { recursive: true, force: true });
  }
}
