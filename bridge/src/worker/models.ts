// The generation process's loaded models: checkpoints and ControlNets open on first use (a checkpoint is
// built into ONNX graphs and cached the first time, with progress), and the least recently used are
// released when the sessions would exceed the memory budget (the weights' size on disk stands in for
// the sessions' memory: float32 sessions hold about as much).
import type { ControlNetModel } from '@kirie/core/models/sessions';
import { openControlNet, openModel, type LoadedModel } from '../models/load.js';
import type { BuildProgress } from '../models/cache.js';
import { LruCache } from '../registry/lru.js';
import { diskSize } from '../registry/registry.js';
import type { Device } from '../runtime/session.js';

type Loaded = { kind: 'model'; model: LoadedModel } | { kind: 'controlnet'; model: ControlNetModel };

export class LoadedModels {
  private readonly cache: LruCache<string, Loaded>;
  /** What the running job has opened: never released under it. */
  private readonly inUse = new Set<string>();

  constructor(
    memoryBudget: number,
    private readonly options: { device: Device; cacheDir: string; log: (message: string) => void },
  ) {
    this.cache = new LruCache(memoryBudget, (_path, loaded) => loaded.model.release());
  }

  async model(path: string, onProgress: (p: BuildProgress) => void): Promise<LoadedModel> {
    this.inUse.add(path);
    const hit = this.cache.get(path);
    if (hit?.kind === 'model') return hit.model;
    const model = await openModel(path, { device: this.options.device, cacheDir: this.options.cacheDir, log: this.options.log, onProgress });
    await this.cache.set(path, { kind: 'model', model }, await diskSize(path), this.inUse);
    return model;
  }

  async controlNet(path: string, onProgress: (p: BuildProgress) => void): Promise<ControlNetModel> {
    this.inUse.add(path);
    const hit = this.cache.get(path);
    if (hit?.kind === 'controlnet') return hit.model;
    const model = await openControlNet(path, { device: this.options.device, cacheDir: this.options.cacheDir, log: this.options.log, onProgress });
    await this.cache.set(path, { kind: 'controlnet', model }, await diskSize(path), this.inUse);
    return model;
  }

  /** The job is over: what it used may be released again when memory is needed. */
  jobDone(): void {
    this.inUse.clear();
  }

  release(): Promise<void> {
    return this.cache.clear();
  }
}
