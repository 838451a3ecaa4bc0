// A bench suite measures figures a user would ask about (speed, memory, overhead). Each figure is
// printed with a baseline measured in the same process (or on the same machine in the same run), so
// numbers compare across machines as ratios, never as absolute timed assertions.

export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  /** What the value is compared against, measured in this same run. */
  baseline?: { name: string; value: number };
  /** A target from the issue, in words (e.g. "≤ 2 %"), shown next to the figure. */
  target?: string;
}

export interface BenchSuite {
  name: string;
  description: string;
  run(report: (figure: BenchFigure) => void): Promise<void>;
}
