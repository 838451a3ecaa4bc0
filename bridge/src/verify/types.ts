// A verify "kind" is one small module that recognises a suite of reference cases by its case file and
// runs them. Adding a kind = writing one module and listing it in kinds/index.ts.

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
  run(file: CaseFile): AsyncIterable<CaseResult>;
}
