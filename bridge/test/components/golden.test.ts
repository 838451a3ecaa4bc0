// Every tests/golden/components case, through the `components` verify kind (graph build + ORT CPU run).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCaseFiles } from '../../src/verify/run.js';
import { componentsKind } from '../../src/verify/kinds/components.js';
import type { CaseResult } from '../../src/verify/types.js';

const dir = join(import.meta.dirname, '../../../tests/golden/components');

describe('components golden cases', () => {
  it('match diffusers/transformers within the README tolerances', async () => {
    const [file] = [...findCaseFiles(dir)];
    expect(componentsKind.matches(file)).toBe(true);
    const results: CaseResult[] = [];
    for await (const r of componentsKind.run(file)) results.push(r);
    const failed = results.filter((r) => !r.pass);
    expect(failed, JSON.stringify(failed, null, 1)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(10);
  });
});
