// Least-recently-used cache under a byte budget: loaded model sessions are big, and keeping the two or
// three a designer alternates between is what makes switching cheap without running out of memory.

export interface LruEntry<V> {
  value: V;
  bytes: number;
}

export class LruCache<K, V> {
  private readonly entries = new Map<K, LruEntry<V>>();
  private used = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly dispose: (key: K, value: V) => void | Promise<void>,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Re-insert: Map iteration order is insertion order, so the first key is always the least recent.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /**
   * Adds a value, first evicting least-recently-used entries until it fits; the newest always stays, and
   * so do `pinned` keys (what the running job still uses), even if that means going over budget.
   */
  async set(key: K, value: V, bytes: number, pinned: ReadonlySet<K> = new Set()): Promise<void> {
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.used -= old.bytes;
      if (old.value !== value) await this.dispose(key, old.value);
    }
    for (const [k, e] of this.entries) {
      if (this.used + bytes <= this.budgetBytes) break;
      if (pinned.has(k)) continue;
      this.entries.delete(k);
      this.used -= e.bytes;
      await this.dispose(k, e.value);
    }
    this.entries.set(key, { value, bytes });
    this.used += bytes;
  }

  keys(): K[] {
    return [...this.entries.keys()];
  }

  get usedBytes(): number {
    return this.used;
  }

  async clear(): Promise<void> {
    for (const [k, e] of this.entries) await this.dispose(k, e.value);
    this.entries.clear();
    this.used = 0;
  }
}
