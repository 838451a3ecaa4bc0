// Both tools' prompt syntax against their own code's output on the golden prompts (tests/golden/prompts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseA1111Attention, parseComfyWeights, splitA1111And } from '../../src/prompt/attention.js';
import { stripExtraNetworks } from '../../src/prompt/extra-networks.js';
import { promptSchedule } from '../../src/prompt/schedules.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/prompts');

interface ParseCase {
  id: string;
  prompt: string;
  extra_networks: { prompt: string; networks: Record<string, string[][]> };
  attention: [string, number][] | { error: string };
  attention_unstripped?: [string, number][] | { error: string };
  multicond: { subprompts: { text: string; weight: number }[] };
  comfy_token_weights: [string, number][];
}
const parse = JSON.parse(readFileSync(join(GOLDEN, 'a1111_parse.json'), 'utf8')) as { cases: ParseCase[] };

function expectRuns(text: string, expected: ParseCase['attention']): void {
  if ('error' in expected) expect(() => parseA1111Attention(text)).toThrow(/could not convert string to float/);
  else expect(parseA1111Attention(text)).toEqual(expected);
}

describe('A1111 and ComfyUI parse of the 50 golden prompts', () => {
  it('has all 50', () => expect(parse.cases).toHaveLength(50));
  it.each(parse.cases)('$id $prompt', (c) => {
    const stripped = stripExtraNetworks(c.prompt);
    expect(stripped.prompt).toBe(c.extra_networks.prompt);
    const byType: Record<string, string[][]> = {};
    for (const n of stripped.networks) (byType[n.type] ??= []).push(n.args);
    expect(byType).toEqual(c.extra_networks.networks);
    expectRuns(stripped.prompt, c.attention);
    if (c.attention_unstripped) expectRuns(c.prompt, c.attention_unstripped);
    expect(splitA1111And(stripped.prompt)).toEqual(c.multicond.subprompts);
    expect(parseComfyWeights(c.prompt)).toEqual(c.comfy_token_weights);
  });
});

interface ScheduleCase {
  id: string;
  prompt: string;
  steps_10: [number, string][];
  steps_20: [number, string][];
  steps_20_use_old_scheduling: [number, string][];
  hires_base_20_hires_10: [number, string][];
}
const schedules = JSON.parse(readFileSync(join(GOLDEN, 'a1111_schedules.json'), 'utf8')) as { cases: ScheduleCase[] };

describe('A1111 prompt-editing and alternation schedules', () => {
  it.each(schedules.cases)('$id $prompt', (c) => {
    expect(promptSchedule(c.prompt, 10)).toEqual(c.steps_10);
    expect(promptSchedule(c.prompt, 20)).toEqual(c.steps_20);
    expect(promptSchedule(c.prompt, 20, { useOldScheduling: true })).toEqual(c.steps_20_use_old_scheduling);
    expect(promptSchedule(c.prompt, 20, { hiresSteps: 10 })).toEqual(c.hires_base_20_hires_10);
  });
});
