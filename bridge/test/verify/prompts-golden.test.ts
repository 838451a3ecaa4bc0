// tests/golden/prompts through kirie verify's 'prompts' kind: both tools' parse of 50 prompts, 29 A1111
// schedules, and the conditioning of 17 prompts (A1111 in 4 emphasis modes and 2 clip skips, ComfyUI's
// CLIPTextEncode, prompt/negative padding) on the tiny text encoder with the README's LayerNorm override.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyKinds } from '../../src/verify/kinds/index.js';
import { findCaseFiles } from '../../src/verify/run.js';
import type { CaseResult } from '../../src/verify/types.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/prompts/conditioning');

describe('prompts goldens', () => {
  it('every parse, schedule and conditioning case passes', async () => {
    const [file] = [...findCaseFiles(GOLDEN)];
    const kind = verifyKinds.find((k) => k.matches(file!));
    expect(kind?.kind).toBe('prompts');
    const results: CaseResult[] = [];
    for await (const r of kind!.run(file!)) results.push(r);
    const failed = results.filter((r) => !r.pass).map((r) => `${r.case}: ${r.detail} (max |diff| ${r.maxAbsDiff} > ${r.tolerance})`);
    expect(failed).toEqual([]);
    const count = (part: string) => results.filter((r) => r.case.includes(part)).length;
    // 4 checks per parse case, 4 step counts per schedule, each of the 63 A1111 cond files of cases.json
    // (every emphasis/clip-skip setting, AND part and schedule entry) and the 3 emphasis-None tokenizations.
    expect(count('/parse/')).toBe(200);
    expect(count('/schedules/')).toBe(116);
    expect(count('/a1111/emphasis=')).toBe(63 + 3);
    expect(count('/comfy/')).toBe(17 * 4);
    expect(count('/cfg_padding/')).toBe(5);
  });
});
