// Messages between the bridge and its generation process (Node IPC with structured-clone serialisation,
// so PNG bytes cross as Uint8Arrays, not JSON).
import type { RunInput, RunOutput, RunProgress } from '../jobs/runner.js';

export interface WorkerConfig {
  modelsDir: string;
  /** Where checkpoints built into ONNX graphs are cached. */
  cacheDir: string;
  device: string;
  /** Bytes of model sessions kept loaded before the least recently used are released. */
  memoryBudget: number;
  /** Bridge version, written into each image's recipe. */
  version: string;
  /** How often the process writes a byte to HEARTBEAT_FD to show it is alive. */
  heartbeatMs: number;
}

/** The extra pipe (after stdin, stdout, stderr and IPC) the generation process beats its heartbeat on. */
export const HEARTBEAT_FD = 4;

export type ToWorker = { type: 'run'; input: RunInput } | { type: 'cancel'; jobId: string } | { type: 'shutdown' };

export type FromWorker =
  | { type: 'ready'; device: string; deviceNote?: string }
  | { type: 'progress'; jobId: string; progress: RunProgress }
  | { type: 'loaded'; model: string | null }
  | { type: 'log'; message: string; device?: string }
  | { type: 'result'; jobId: string; output: RunOutput }
  | { type: 'failed'; jobId: string; message: string; cancelled: boolean };
