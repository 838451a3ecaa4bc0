// Walks a directory for case files, hands each to the kind that understands it, and reports one JSON
// line per case. Case files no kind understands are reported as not supported, never as passed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parsePythonJson } from '@kirie/core/io/json';
import { verifyKinds } from './kinds/index.js';
import type { CaseFile, CaseResult } from './types.js';
import { resolveProvider, type Provider } from '../runtime/session.js';

/** Verifying on a provider that falls back to the CPU would check the CPU twice: refuse instead. */
async function requireProvider(provider: Provider): Promise<void> {
  const reasons: string[] = [];
  if ((await resolveProvider(provider, (m) => reasons.push(m))) !== provider) throw new Error(reasons.join('; ') || `${provider} is unavailable`);
}

const CASE_FILE_NAMES = ['case.json', 'cases.json'];

function findGoldenRoot(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'tiny-sd15')) && statSync(join(d, 'tiny-sd15')).isDirectory()) return d;
    if (dirname(d) === d) return null;
  }
}

export function* findCaseFiles(dir: string): Generator<CaseFile> {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  for (const name of CASE_FILE_NAMES) {
    if (entries.some((e) => e.isFile() && e.name === name)) {
      const path = join(dir, name);
      let json: Record<string, unknown>;
      try {
        json = parsePythonJson<Record<string, unknown>>(readFileSync(path, 'utf8'));
      } catch (err) {
        throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
      }
      yield { dir, path, json, root: findGoldenRoot(dir) };
    }
  }
  for (const e of entries) if (e.isDirectory()) yield* findCaseFiles(join(dir, e.name));
}

export interface VerifySummary {
  passed: number;
  failed: number;
  unsupported: number;
}

export interface VerifyOptions {
  /** Only run these kinds (all when empty). */
  kinds?: string[];
  /** Where graphs run (default the CPU); a provider that cannot start fails the run before any case. */
  provider?: Provider;
  onResult(line: CaseResult | { case: string; kind: string; supported: false; detail: string }): void;
}

export async function verifyDirectory(dir: string, options: VerifyOptions): Promise<VerifySummary> {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`${dir}: not a directory`);
  const provider = options.provider ?? 'cpu';
  if (provider !== 'cpu') await requireProvider(provider);
  const summary: VerifySummary = { passed: 0, failed: 0, unsupported: 0 };
  for (const file of findCaseFiles(root)) {
    const kind = verifyKinds.find((k) => k.matches(file));
    const name = file.path.slice(root.length + 1) || file.path;
    if (!kind) {
      summary.unsupported++;
      options.onResult({ case: name, kind: 'unknown', supported: false, detail: 'no verify kind understands this case file yet' });
      continue;
    }
    if (options.kinds?.length && !options.kinds.includes(kind.kind)) continue;
    const missing = kind.missingFeatures?.(file, provider);
    const elsewhere = kind.providers && !kind.providers.includes(provider) ? `runs its graphs on ${kind.providers.join(', ')} only, not checked on ${provider}` : undefined;
    if (missing || elsewhere) {
      summary.unsupported++;
      options.onResult({ case: name, kind: kind.kind, supported: false, detail: elsewhere ?? `needs what this version lacks: ${missing}` });
      continue;
    }
    try {
      for await (const result of kind.run(file, provider)) {
        if (result.pass) summary.passed++;
        else summary.failed++;
        options.onResult(result);
      }
    } catch (err) {
      summary.failed++;
      options.onResult({ case: name, kind: kind.kind, maxAbsDiff: Number.NaN, tolerance: 0, pass: false, detail: `crashed: ${(err as Error).message}` });
    }
  }
  return summary;
}
