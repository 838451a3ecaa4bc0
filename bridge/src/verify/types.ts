// A verify "kind" is one small module that recognises a suite of reference cases by its case file and
// runs them. Adding a kind = writing one module and listing it in kinds/index.ts.
import type { Provider } from '../runtime/session.js';

export interface CaseResult {
  case: string;
  kind: string;
  maxAbsDiff: number;
  tolerance: number;
  pass: boolean;
  /** What was compared or why it failed, for a human reading the line. */
  detail?: string;
}

export interface CaseFile {
  /** Directory that holds the case file. */
  dir: string;
  /** Absolute path of case.json / cases.json. */
  path: string;
  json: Record<string, unknown>;
  /** Root of the golden tree: the nearest ancestor of `dir` holding `tiny-sd15/` (or null). */
  root: string | null;
}

export interface VerifyKind {
  kind: string;
  /** True when this kind understands the case file. */
  matches(file: CaseFile): boolean;
  /**
   * Why a case this kind recognises still cannot be checked by this version (it asks for a feature Kirie
   * lacks, e.g. a LoRA or an A1111 noise source), or undefined when it can. Such cases are skipped with
   * the reason, never run without the feature and failed, and never passed.
   */
  missingFeatures?(file: CaseFile, provider?: Provider): string | undefined;
  /**
   * The execution providers this kind runs its graphs on (absent: it runs no graphs, so any provider does).
   * `kirie verify --device P` reports the cases of a kind without P as not checked, never runs them on the CPU.
   */
  providers?: readonly Provider[];
  /** `provider` (default the CPU) is one of `providers`. */
  run(file: CaseFile, provider?: Provider): AsyncIterable<CaseResult>;
}
