// tests/golden must stay a verbatim copy of ../shared/golden (the read-only reference) so that a fresh
// clone anywhere can test itself. Where the shared folder exists (CI), compare byte for byte.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const repoRoot = join(import.meta.dirname, '..');
const local = join(repoRoot, 'tests/golden');
const shared = join(repoRoot, '../shared/golden');

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('tests/golden', () => {
  it('exists and holds the reference README', () => {
    expect(existsSync(join(local, 'README.md'))).toBe(true);
  });

  it.runIf(existsSync(shared))('is a verbatim copy of ../shared/golden', () => {
    const localFiles = listFiles(local).map((p) => relative(local, p)).sort();
    const sharedFiles = listFiles(shared).map((p) => relative(shared, p)).sort();
    expect(localFiles).toEqual(sharedFiles);
    for (const file of sharedFiles) {
      expect(digest(join(local, file)), file).toBe(digest(join(shared, file)));
    }
  });
});
