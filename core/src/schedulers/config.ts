// Reads a diffusers scheduler config with class defaults, rejecting values of the wrong kind by name.
import type { SchedulerConfig } from './types.js';

/** A config value a scheduler refuses; `key` names it, so a request can point at schedulerConfig.<key>. */
export class SchedulerConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'SchedulerConfigError';
  }
}

export class ConfigReader {
  /** Every value read, defaulted or given: becomes the scheduler's `config`. */
  readonly effective: Record<string, unknown> = {};

  constructor(
    private readonly className: string,
    private readonly given: SchedulerConfig,
  ) {
    if (given === null || typeof given !== 'object' || Array.isArray(given)) {
      throw new Error(`${className}: the scheduler config must be an object`);
    }
  }

  private raw(key: string): unknown {
    return this.given[key];
  }

  private fail(key: string, want: string, value: unknown): never {
    throw new SchedulerConfigError(key, `${this.className}: config "${key}" must be ${want}, got ${JSON.stringify(value)}`);
  }

  number(key: string, fallback: number): number {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'number' || Number.isNaN(value)) this.fail(key, 'a number', value);
    return (this.effective[key] = value) as number;
  }

  positiveInt(key: string, fallback: number): number {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) this.fail(key, 'a positive integer', value);
    return (this.effective[key] = value) as number;
  }

  nonNegativeInt(key: string, fallback: number): number {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) this.fail(key, 'an integer ≥ 0', value);
    return (this.effective[key] = value) as number;
  }

  optionalNumber(key: string): number | null {
    const value = this.raw(key) ?? null;
    if (value !== null && (typeof value !== 'number' || Number.isNaN(value))) this.fail(key, 'a number or null', value);
    return (this.effective[key] = value) as number | null;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'boolean') this.fail(key, 'true or false', value);
    return (this.effective[key] = value) as boolean;
  }

  choice<T extends string>(key: string, options: readonly T[], fallback: T): T {
    const value = this.raw(key) ?? fallback;
    if (!options.includes(value as T)) this.fail(key, `one of ${options.map((o) => `"${o}"`).join(', ')}`, value);
    return (this.effective[key] = value) as T;
  }

  /** A key whose value diffusers accepts but Kirie does not implement: only its default is allowed. */
  unsupported(key: string, fallback: unknown): void {
    const value = this.raw(key) ?? fallback;
    if (value !== fallback) {
      throw new SchedulerConfigError(key, `${this.className}: config "${key}" = ${JSON.stringify(value)} is not supported (only ${JSON.stringify(fallback)})`);
    }
    this.effective[key] = value;
  }

  numberArray(key: string): number[] | null {
    const value = this.raw(key) ?? null;
    if (value !== null && (!Array.isArray(value) || value.some((v) => typeof v !== 'number'))) {
      this.fail(key, 'null or an array of numbers', value);
    }
    return (this.effective[key] = value) as number[] | null;
  }
}
