// Proof of life for ProcessRunner's watchdog, beaten from a thread of its own: the main thread may sit in
// one synchronous ONNX Runtime call (creating a session, one full-size UNet step on a CPU) for longer than
// any sensible timeout, but a stopped, frozen or dead process beats no more.
import { Worker } from 'node:worker_threads';

// CommonJS, run by `eval`: the bundled worker has no file of its own for the thread to load.
const BEATER = `
const { writeSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
const beat = () => {
  try {
    writeSync(workerData.fd, '.');
  } catch (err) {
    // EAGAIN: the parent is not reading right now (it may be stopped itself); anything else: it is gone.
    if (err.code !== 'EAGAIN') clearInterval(timer);
  }
};
const timer = setInterval(beat, workerData.intervalMs);
beat();
`;

/**
 * Writes a byte to `fd` every `intervalMs` for as long as the process runs. Resolves once the beating
 * thread runs: from then on silence means trouble, so say `ready` only after it.
 */
export function startHeartbeat(fd: number, intervalMs: number): Promise<void> {
  const thread = new Worker(BEATER, { eval: true, workerData: { fd, intervalMs } });
  thread.unref();
  return new Promise((resolve, reject) => {
    thread.once('online', resolve);
    thread.once('error', reject);
  });
}
