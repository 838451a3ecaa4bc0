// The tokenizer and rng verify kinds on golden-format trees other than tests/golden: they must find
// their inputs the way the README says, pass faithful cases and fail altered ones.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyDirectory } from '../../src/verify/run.js';
import type { CaseResult } from '../../src/verify/types.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden');
const tmp = mkdtempSync(join(tmpdir(), 'kirie-verify-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function verify(dir: string, kind: string): Promise<{ passed: number; failed: number; lines: CaseResult[] }> {
  const lines: CaseResult[] = [];
  const summary = await verifyDirectory(dir, { kinds: [kind], onResult: (line) => lines.push(line as CaseResult) });
  return { passed: summary.passed, failed: summary.failed, lines };
}

describe('tokenizer kind', () => {
  const golden = JSON.parse(readFileSync(join(GOLDEN, 'tokenizer/cases.json'), 'utf8')) as { cases: { id: string; ids_padded_77: number[] }[] };
  const [good, bad] = golden.cases.slice(0, 2).map((c) => structuredClone(c));
  bad!.ids_padded_77[1] = (bad!.ids_padded_77[1]! + 1) % 49408;

  it('resolves "tokenizer": "tokenizer" at the golden root and counts mismatching ids', async () => {
    const root = join(tmp, 'tree');
    mkdirSync(join(root, 'tiny-sd15'), { recursive: true });
    mkdirSync(join(root, 'tokenizer'), { recursive: true });
    for (const f of ['vocab.json', 'merges.txt']) copyFileSync(join(GOLDEN, 'tokenizer', f), join(root, 'tokenizer', f));
    mkdirSync(join(root, 'prompts'));
    writeFileSync(join(root, 'prompts/cases.json'), JSON.stringify({ tokenizer: 'tokenizer', cases: [good, bad] }));
    const r = await verify(join(root, 'prompts'), 'tokenizer');
    expect([r.passed, r.failed]).toEqual([1, 1]);
    expect(r.lines.find((l) => !l.pass)).toMatchObject({ case: `prompts/${bad!.id}`, maxAbsDiff: 1, tolerance: 0 });
  });
});

describe('rng kind', () => {
  it('passes a bit-identical tensor and fails one with a flipped low bit', async () => {
    const dir = join(tmp, 'noise');
    mkdirSync(dir);
    const cases = (JSON.parse(readFileSync(join(GOLDEN, 'rng/cases.json'), 'utf8')) as { cases: { name: string; file: string }[] }).cases;
    const c = cases.find((x) => x.name === 'randn_seed42_1x4x8x8')!;
    copyFileSync(join(GOLDEN, 'rng', c.file), join(dir, c.file));
    const altered = readFileSync(join(GOLDEN, 'rng', c.file));
    altered[altered.length - 4]! ^= 1; // lowest mantissa bit of the last float32 value
    writeFileSync(join(dir, 'altered.npy'), altered);
    writeFileSync(join(dir, 'cases.json'), JSON.stringify({ cases: [c, { ...c, name: 'altered', file: 'altered.npy', sha256_f32le: undefined }] }));
    const r = await verify(dir, 'rng');
    expect([r.passed, r.failed]).toEqual([1, 1]);
    expect(r.lines.find((l) => !l.pass)).toMatchObject({ case: 'noise/altered', detail: expect.stringMatching(/1 of 256 values differ/) });
  });
});
