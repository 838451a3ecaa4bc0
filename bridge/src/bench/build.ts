// Bench suite `build`: turning a full-size SD1.5 checkpoint (random weights, real keys and shapes, 4.3 GB
// float32) into cached ONNX graphs. The cold build runs in a child process (`kirie models build`) so its
// peak RSS is its own; the warm figure is a cache hit in this process.
import { spawn } from 'node:child_process';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileSha256 } from '../generate/images.js';
import { buildCheckpoint, openModel, sd1Plans } from '../models/load.js';
import { writeRandomCheckpoint } from '../models/random.js';
import type { BenchSuite } from './types.js';

const MB = 1024 * 1024;
// Prints the child's own peak RSS when it exits.
const RSS_HOOK = `data:text/javascript,process.on("exit",()=>process.stderr.write("KIRIE_MAXRSS_KB="+process.resourceUsage().maxRSS+"\\n"))`;

function runChild(args: string[]): Promise<{ seconds: number; maxRssKb: number; output: string }> {
  const cli = fileURLToPath(new URL('./kirie.mjs', import.meta.url));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', RSS_HOOK, cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const rss = /KIRIE_MAXRSS_KB=(\d+)/.exec(output);
      if (code !== 0 || !rss) reject(new Error(`kirie ${args.join(' ')} failed (exit ${code}): ${output}`));
      else resolve({ seconds, maxRssKb: Number(rss[1]), output });
    });
  });
}

/** What a full-content cache key would cost: streaming SHA-256 of the whole file. */
async function fullHashSeconds(path: string): Promise<number> {
  const started = performance.now();
  await fileSha256(path);
  return (performance.now() - started) / 1000;
}

/** The disk's floor for writing the graphs: copying the checkpoint with a final fsync. */
async function copySeconds(from: string, to: string): Promise<number> {
  const started = performance.now();
  const src = await open(from, 'r');
  const dst = await open(to, 'w');
  try {
    const buf = new Uint8Array(4 * MB);
    for (let pos = 0; ; ) {
      const { bytesRead } = await src.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      await dst.write(buf, 0, bytesRead);
      pos += bytesRead;
    }
    await dst.sync();
  } finally {
    await src.close();
    await dst.close();
  }
  const seconds = (performance.now() - started) / 1000;
  await rm(to);
  return seconds;
}

export const buildSuite: BenchSuite = {
  name: 'build',
  description: 'building a full-size SD1.5 checkpoint (random weights, fp32) into cached ONNX graphs',
  async run(report) {
    const dir = await mkdtemp(join(tmpdir(), 'kirie-bench-build-'));
    try {
      const checkpoint = join(dir, 'sd15-random.safetensors');
      const cacheDir = join(dir, 'cache');
      await writeRandomCheckpoint({ arch: 'sd15', kind: 'sd15', seed: 1, out: checkpoint });
      const copy = await copySeconds(checkpoint, join(dir, 'copy.safetensors'));

      const cold = await runChild(['models', 'build', checkpoint, '--cache', cacheDir, '--device', 'cpu']);
      report({ name: 'cold build', value: cold.seconds, unit: 's', baseline: { name: 'copying the checkpoint with fsync (disk floor)', value: copy }, target: '≤ 30 s' });

      const started = performance.now();
      const warm = await buildCheckpoint(checkpoint, sd1Plans('fp32'), { cacheDir, onProgress: () => { throw new Error('warm open rebuilt'); } }, 'checkpoint');
      const warmSeconds = (performance.now() - started) / 1000;
      report({ name: 'warm open (cache hit)', value: warmSeconds, unit: 's', baseline: { name: 'full SHA-256 of the checkpoint', value: await fullHashSeconds(checkpoint) }, target: '≤ 1 s' });

      const opening = performance.now();
      const model = await openModel(checkpoint, { device: 'cpu', cacheDir });
      const openSeconds = (performance.now() - opening) / 1000;
      await model.release();
      report({ name: 'first open of the model (cache hit; 3 ORT CPU sessions optimised and stored, see the open suite)', value: openSeconds, unit: 's', baseline: { name: 'warm open (cache hit)', value: warmSeconds } });

      const largest = Math.max(...(await Promise.all(Object.keys(warm.models).map(async (c) => (await stat(join(warm.dir, `${c}.onnx.data`))).size))));
      report({ name: 'peak RSS of the cold build', value: (cold.maxRssKb * 1024) / MB, unit: 'MB', baseline: { name: 'largest component (UNet weights)', value: largest / MB }, target: '≤ 1.5x the largest component' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

/**
 * Bench suite `build-sdxl`: a full-size SDXL base checkpoint as CivitAI users have it (random weights, real
 * keys and shapes, 6.9 GB float16) built cold into float32 CPU graphs, in a child process for its own peak RSS.
 */
export const sdxlBuildSuite: BenchSuite = {
  name: 'build-sdxl',
  description: 'building a full-size SDXL checkpoint (random weights, 6.9 GB fp16) into cached float32 ONNX graphs',
  async run(report) {
    const dir = await mkdtemp(join(tmpdir(), 'kirie-bench-build-sdxl-'));
    try {
      const checkpoint = join(dir, 'sdxl-random.safetensors');
      const cacheDir = join(dir, 'cache');
      const written = await writeRandomCheckpoint({ arch: 'sdxl', kind: 'sdxl', seed: 1, out: checkpoint, fp16: true });
      const cold = await runChild(['models', 'build', checkpoint, '--cache', cacheDir, '--device', 'cpu']);
      report({ name: `cold build of the ${(written.bytes / MB / 1024).toFixed(1)} GiB fp16 file into fp32 graphs`, value: cold.seconds, unit: 's' });
      const [built] = (await readdir(cacheDir)).filter((d) => !d.startsWith('.'));
      const sizes = await Promise.all((await readdir(join(cacheDir, built!))).filter((f) => f.endsWith('.data')).map(async (f) => (await stat(join(cacheDir, built!, f))).size));
      report({ name: 'peak RSS of the cold build', value: (cold.maxRssKb * 1024) / MB, unit: 'MB', baseline: { name: 'largest component (UNet, fp32 graph weights)', value: Math.max(...sizes) / MB }, target: '≤ 1.5x the largest component' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
