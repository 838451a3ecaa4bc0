import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyDirectory } from '../../src/verify/run.js';

const golden = join(import.meta.dirname, '../../../tests/golden');

describe('kirie verify --device', () => {
  // A provider that falls back to the CPU would check the CPU again under another name.
  it('refuses a provider that cannot start, before any case', async () => {
    const lines: unknown[] = [];
    await expect(verifyDirectory(join(golden, 'components'), { provider: 'dml', onResult: (l) => lines.push(l) })).rejects.toThrow(/^dml unavailable, falling back to the CPU: /);
    expect(lines).toEqual([]);
  });
});
