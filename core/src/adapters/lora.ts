// Reads LoRA / LyCORIS files (kohya LoRA and LoCon with diffusers or LDM module names, LyCORIS LoHa and LoKr,
// diffusers 0.24 and PEFT files) into one form: per checkpoint module, ΔW = scale · up @ down with
// up [out, r] and down [r, in·kh·kw]. Formulas: tests/golden/lora/README.md (A1111 network_*.py, LyCORIS
// diff_weight). A file that names modules this model lacks, has shapes of another family, or uses a variant
// Kirie cannot apply is refused as a whole: never half-applied.
import type { ModuleTable } from './targets.js';
import { targetOf, type AdapterTarget } from './targets.js';

/** What an adapter file offers the reader; `read` converts any float dtype exactly to float32. */
export interface AdapterTensors {
  label: string;
  keys(): string[];
  shape(key: string): number[];
  read(key: string): Promise<Float32Array>;
}

export type LoraKind = 'lora' | 'loha' | 'lokr';

/** ΔW of one module at multiplier 1 = scale · up @ down (reshaped to the weight's shape). */
export interface ModuleFactors {
  module: string;
  target: AdapterTarget;
  kind: LoraKind;
  /** [out, rank] row-major. */
  up: Float32Array;
  /** [rank, in·kh·kw] row-major (PyTorch's flatten order of a conv weight). */
  down: Float32Array;
  rank: number;
  scale: number;
  /** The model weight's shape. */
  shape: readonly number[];
}

export interface LoraAdapter {
  label: string;
  kinds: LoraKind[];
  modules: ModuleFactors[];
}

const PART = /^(.+?)\.(lora_down\.weight|lora_up\.weight|lora\.down\.weight|lora\.up\.weight|lora_linear_layer\.down\.weight|lora_linear_layer\.up\.weight|lora_A\.weight|lora_B\.weight|alpha|hada_w[12]_[ab]|lokr_w[12](?:_[ab])?|hada_t[12]|lokr_t[12]|lora_mid\.weight|dora_scale)$/;
const DOWN = new Set(['lora_down.weight', 'lora.down.weight', 'lora_linear_layer.down.weight', 'lora_A.weight']);
const UP = new Set(['lora_up.weight', 'lora.up.weight', 'lora_linear_layer.up.weight', 'lora_B.weight']);
const UNSUPPORTED: Record<string, string> = {
  hada_t1: 'LoHa with Tucker decomposition (use_tucker)',
  hada_t2: 'LoHa with Tucker decomposition (use_tucker)',
  lokr_t1: 'LoKr with Tucker decomposition (use_tucker)',
  lokr_t2: 'LoKr with Tucker decomposition (use_tucker)',
  'lora_mid.weight': 'LoCon with Tucker decomposition (lora_mid)',
  dora_scale: 'DoRA (weight-decomposed LoRA, dora_scale)',
};

/** Names of another family's modules, for a message better than "no such module". */
function otherFamily(name: string, table: ModuleTable): string | undefined {
  if (table.family !== 'SDXL' && /^lora_te[12]_|^text_encoder_2\./.test(name)) return 'SDXL (two text encoders: lora_te1_/lora_te2_)';
  if (table.family === 'SDXL' && /^lora_te_/.test(name)) return 'SD1.x/SD2 (one text encoder: lora_te_)';
  if (/^lora_transformer_|^transformer\./.test(name)) return 'a transformer model (SD3/Flux)';
  return undefined;
}

/** diffusers' own 0.24 scripts write `unet.unet.<module>` (diffusers issue #5977): any number of `unet.` is one. */
function canonicalName(name: string): string {
  return name.startsWith('unet.') ? `unet.${name.replace(/^(unet\.)+/, '')}` : name;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function matmul(a: Float32Array, b: Float32Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < k; p++) {
      const v = a[i * k + p]!;
      if (v === 0) continue;
      const row = p * m;
      const o = i * m;
      for (let j = 0; j < m; j++) out[o + j] += v * b[row + j]!;
    }
  }
  return out;
}

/** ΔW [out, inFlat] as factors of rank min(out, inFlat): the identity on the smaller side. */
function fullFactors(delta: Float64Array, out: number, inFlat: number): { up: Float32Array; down: Float32Array; rank: number } {
  if (out <= inFlat) {
    const up = new Float32Array(out * out);
    for (let i = 0; i < out; i++) up[i * out + i] = 1;
    return { up, down: Float32Array.from(delta), rank: out };
  }
  const down = new Float32Array(inFlat * inFlat);
  for (let i = 0; i < inFlat; i++) down[i * inFlat + i] = 1;
  return { up: Float32Array.from(delta), down, rank: inFlat };
}

type Parts = Map<string, string>;

async function tensor(file: AdapterTensors, parts: Parts, part: string): Promise<{ data: Float32Array; shape: number[] }> {
  const key = parts.get(part)!;
  return { data: await file.read(key), shape: file.shape(key) };
}

async function alphaOf(file: AdapterTensors, parts: Parts, rank: number): Promise<number> {
  if (!parts.has('alpha')) return rank;
  const a = await file.read(parts.get('alpha')!);
  if (a.length !== 1) throw new Error(`${file.label}: ${parts.get('alpha')} holds ${a.length} values, expected one`);
  return a[0]!;
}

function need(file: AdapterTensors, module: string, parts: Parts, names: string[]): void {
  const missing = names.filter((n) => !parts.has(n));
  if (missing.length > 0) throw new Error(`${file.label}: ${module} lacks ${missing.join(', ')}`);
}

interface Raw {
  kind: LoraKind;
  up: Float32Array;
  down: Float32Array;
  rank: number;
  scale: number;
}

async function lowRank(file: AdapterTensors, name: string, parts: Parts, out: number, inFlat: number): Promise<Raw> {
  const downKey = [...parts.keys()].find((p) => DOWN.has(p));
  const upKey = [...parts.keys()].find((p) => UP.has(p));
  if (!downKey || !upKey) throw new Error(`${file.label}: ${name} needs both a down and an up weight`);
  const down = await tensor(file, parts, downKey);
  const up = await tensor(file, parts, upKey);
  const rank = down.shape[0]!;
  if (product(down.shape) !== rank * inFlat || up.shape[0] !== out || product(up.shape) !== out * rank) {
    throw shapeError(file, name, `down [${down.shape}] / up [${up.shape}]`, out, inFlat);
  }
  return { kind: 'lora', up: up.data, down: down.data, rank, scale: (await alphaOf(file, parts, rank)) / rank };
}

async function loha(file: AdapterTensors, name: string, parts: Parts, out: number, inFlat: number): Promise<Raw> {
  need(file, name, parts, ['hada_w1_a', 'hada_w1_b', 'hada_w2_a', 'hada_w2_b']);
  const [a1, b1, a2, b2] = await Promise.all(['hada_w1_a', 'hada_w1_b', 'hada_w2_a', 'hada_w2_b'].map((p) => tensor(file, parts, p)));
  const r1 = b1!.shape[0]!;
  const r2 = b2!.shape[0]!;
  for (const [a, b, r] of [[a1!, b1!, r1], [a2!, b2!, r2]] as const) {
    if (product(a.shape) !== out * r || product(b.shape) !== r * inFlat) throw shapeError(file, name, `hada factors [${a.shape}] @ [${b.shape}]`, out, inFlat);
  }
  const scale = (await alphaOf(file, parts, r1)) / r1;
  // (A1·B1) ⊙ (A2·B2) = (A1 ⊙row A2)(B1 ⊙col B2), rows/columns Kronecker-multiplied: exact rank r1·r2.
  const rank = r1 * r2;
  if (rank < Math.min(out, inFlat)) {
    const up = new Float32Array(out * rank);
    for (let i = 0; i < out; i++) for (let p = 0; p < r1; p++) for (let q = 0; q < r2; q++) up[i * rank + p * r2 + q] = Math.fround(a1!.data[i * r1 + p]! * a2!.data[i * r2 + q]!);
    const down = new Float32Array(rank * inFlat);
    for (let p = 0; p < r1; p++) for (let q = 0; q < r2; q++) for (let j = 0; j < inFlat; j++) down[(p * r2 + q) * inFlat + j] = Math.fround(b1!.data[p * inFlat + j]! * b2!.data[q * inFlat + j]!);
    return { kind: 'loha', up, down, rank, scale };
  }
  const w1 = matmul(a1!.data, b1!.data, out, r1, inFlat);
  const w2 = matmul(a2!.data, b2!.data, out, r2, inFlat);
  for (let i = 0; i < w1.length; i++) w1[i] *= w2[i]!;
  return { kind: 'loha', ...fullFactors(w1, out, inFlat), scale };
}

async function lokrFactor(file: AdapterTensors, parts: Parts, which: 'w1' | 'w2'): Promise<{ data: Float64Array; rows: number; cols: number; rank?: number }> {
  if (parts.has(`lokr_${which}`)) {
    const t = await tensor(file, parts, `lokr_${which}`);
    return { data: Float64Array.from(t.data), rows: t.shape[0]!, cols: product(t.shape.slice(1)) };
  }
  need(file, which, parts, [`lokr_${which}_a`, `lokr_${which}_b`]);
  const a = await tensor(file, parts, `lokr_${which}_a`);
  const b = await tensor(file, parts, `lokr_${which}_b`);
  const rank = b.shape[0]!;
  const cols = product(b.shape.slice(1));
  if (a.shape[1] !== rank) throw new Error(`${file.label}: lokr_${which}_a [${a.shape}] and lokr_${which}_b [${b.shape}] do not multiply`);
  return { data: matmul(a.data, b.data, a.shape[0]!, rank, cols), rows: a.shape[0]!, cols, rank };
}

async function lokr(file: AdapterTensors, name: string, parts: Parts, out: number, inFlat: number): Promise<Raw> {
  const w1 = await lokrFactor(file, parts, 'w1');
  const w2 = await lokrFactor(file, parts, 'w2');
  if (w1.rows * w2.rows !== out || w1.cols * w2.cols !== inFlat) throw shapeError(file, name, `kron([${w1.rows},${w1.cols}], [${w2.rows},${w2.cols}])`, out, inFlat);
  // LyCORIS: scale alpha/r when a factor is decomposed (r from w1_b, else w2_b); both full ⇒ 1, alpha ignored.
  const rank = w1.rank ?? w2.rank;
  const scale = rank === undefined ? 1 : (await alphaOf(file, parts, rank)) / rank;
  const delta = new Float64Array(out * inFlat);
  for (let i1 = 0; i1 < w1.rows; i1++) {
    for (let j1 = 0; j1 < w1.cols; j1++) {
      const v = w1.data[i1 * w1.cols + j1]!;
      for (let i2 = 0; i2 < w2.rows; i2++) {
        const row = (i1 * w2.rows + i2) * inFlat + j1 * w2.cols;
        for (let j2 = 0; j2 < w2.cols; j2++) delta[row + j2] = v * w2.data[i2 * w2.cols + j2]!;
      }
    }
  }
  return { kind: 'lokr', ...fullFactors(delta, out, inFlat), scale };
}

function shapeError(file: AdapterTensors, name: string, got: string, out: number, inFlat: number): Error {
  return new Error(
    `${file.label}: ${name} has ${got}, which does not fit this model's weight [${out}, ${inFlat}]: the adapter was made for another model family (e.g. SD2 or SDXL) or another model size`,
  );
}

/** up [count, rank] as the rows from `start` of an up factor [out, rank] that is zero elsewhere. */
function rowsOf(up: Float32Array, rank: number, start: number, out: number): Float32Array {
  const full = new Float32Array(out * rank);
  full.set(up, start * rank);
  return full;
}

/** Groups a file's keys by module; refuses variants Kirie cannot apply and keys that are no adapter part. */
function groupKeys(file: AdapterTensors): Map<string, Parts> {
  const modules = new Map<string, Parts>();
  const strays: string[] = [];
  for (const key of file.keys()) {
    const m = PART.exec(key);
    if (!m) {
      strays.push(key);
      continue;
    }
    const [, name, part] = m as unknown as [string, string, string];
    if (UNSUPPORTED[part]) throw new Error(`${file.label}: ${UNSUPPORTED[part]} is not supported (key ${key})`);
    const canonical = canonicalName(name);
    if (!modules.has(canonical)) modules.set(canonical, new Map());
    modules.get(canonical)!.set(part, key);
  }
  if (strays.length > 0) throw new Error(`${file.label}: ${strays.length} key(s) are not LoRA/LyCORIS parts, e.g. ${strays.slice(0, 3).join(', ')}`);
  if (modules.size === 0) throw new Error(`${file.label}: no LoRA/LyCORIS modules in the file`);
  return modules;
}

/** Reads every module of an adapter file and maps it onto `table`'s modules, by name and shape. */
export async function readLora(file: AdapterTensors, table: ModuleTable): Promise<LoraAdapter> {
  const groups = groupKeys(file);
  const unmatched = [...groups.keys()].filter((name) => !table.byName.has(name));
  if (unmatched.length > 0) {
    const family = unmatched.map((n) => otherFamily(n, table)).find((f) => f !== undefined);
    if (family) throw new Error(`${file.label} is a LoRA for ${family}; this model is ${table.family}`);
    throw new Error(`${file.label}: ${unmatched.length} of ${groups.size} module(s) match nothing this ${table.family} model lets adapters change, e.g. ${unmatched.slice(0, 3).join(', ')}`);
  }
  const modules: ModuleFactors[] = [];
  const seen = new Map<string, string>();
  for (const [name, parts] of groups) {
    const module = table.byName.get(name)!;
    const rows = table.rows.get(name);
    const part = rows ? `${module} rows ${rows.start}…` : module;
    if (seen.has(part)) throw new Error(`${file.label}: ${seen.get(part)} and ${name} both name ${part}`);
    seen.set(part, name);
    const shape = table.shapes.get(module)!;
    const out = rows?.count ?? shape[0]!;
    const inFlat = product(shape.slice(1));
    const kind: LoraKind = parts.has('hada_w1_a') ? 'loha' : [...parts.keys()].some((p) => p.startsWith('lokr_')) ? 'lokr' : 'lora';
    const raw = kind === 'loha' ? await loha(file, name, parts, out, inFlat) : kind === 'lokr' ? await lokr(file, name, parts, out, inFlat) : await lowRank(file, name, parts, out, inFlat);
    const up = rows ? rowsOf(raw.up, raw.rank, rows.start, shape[0]!) : raw.up;
    modules.push({ module, target: targetOf(module), shape, ...raw, up });
  }
  return { label: file.label, kinds: [...new Set(modules.map((m) => m.kind))], modules };
}

/** ΔW of a module at multiplier 1, in the weight's layout (float64 products rounded once, as the reference). */
export function moduleDelta(f: ModuleFactors): Float32Array {
  const out = f.shape[0]!;
  const inFlat = product(f.shape.slice(1));
  const d = matmul(f.up, f.down, out, f.rank, inFlat);
  return Float32Array.from(d, (v) => v * f.scale);
}
