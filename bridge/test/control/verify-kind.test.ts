import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng, encodePng } from '@kirie/core/image/png';
import { controlnetKind } from '../../src/verify/kinds/controlnet.js';
import { findCaseFiles } from '../../src/verify/run.js';
import type { CaseResult } from '../../src/verify/types.js';

const golden = join(import.meta.dirname, '../../../tests/golden/controlnet');
const scratch = mkdtempSync(join(tmpdir(), 'kirie-controlnet-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function runAll(dir: string): Promise<CaseResult[]> {
  const [file] = [...findCaseFiles(dir)];
  expect(controlnetKind.matches(file!)).toBe(true);
  const out: CaseResult[] = [];
  for await (const r of controlnetKind.run(file!)) out.push(r);
  return out;
}

describe('controlnet verify kind', () => {
  it('passes every golden case with tolerance 0', async () => {
    const results = await runAll(golden);
    expect(results).toHaveLength(10);
    for (const r of results) expect(r, r.case).toMatchObject({ kind: 'controlnet', tolerance: 0, maxAbsDiff: 0, pass: true });
  });

  it('fails a case whose expected image differs by one pixel, naming the count', async () => {
    const dir = join(scratch, 'one-pixel');
    mkdirSync(join(dir, 'openpose'), { recursive: true });
    const cases = JSON.parse(readFileSync(join(golden, 'cases.json'), 'utf8')) as { openpose: { items: unknown[] } };
    writeFileSync(join(dir, 'cases.json'), JSON.stringify({ openpose: { items: cases.openpose.items.slice(0, 1) } }));
    copyFileSync(join(golden, 'openpose/pose_single.json'), join(dir, 'openpose/pose_single.json'));
    const png = decodePng(readFileSync(join(golden, 'openpose/pose_single.png')));
    png.data[0] = 7;
    writeFileSync(join(dir, 'openpose/pose_single.png'), encodePng(png));
    const [r] = await runAll(dir);
    expect(r).toMatchObject({ pass: false, maxAbsDiff: 7, detail: '1 of 262144 pixels differ' });
  });

  it('reports a missing input as a failed case, not a crash', async () => {
    const dir = join(scratch, 'missing');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cases.json'), JSON.stringify({ canny: { items: [{ input: 'nope.png', expected: 'nope.png', low: 1, high: 2 }] } }));
    const [r] = await runAll(dir);
    expect(r!.pass).toBe(false);
    expect(r!.detail).toMatch(/nope\.png: no such file/);
  });

  it('does not claim other case files', () => {
    expect(controlnetKind.matches({ dir: '.', path: 'case.json', json: { cases: [] }, root: null })).toBe(false);
  });
});
