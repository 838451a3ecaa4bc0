// What `kirie serve` does with an error nothing caught. A designer's jobs and the plugin's connection live
// in this process, so it ends only when continuing would be unsafe.

/**
 * - A rejection nobody handled is logged and the bridge keeps serving. The code that made it has already
 *   moved on; what it left is what it would have left had it caught and ignored the error. The queue
 *   changes a job's state synchronously, before any await, so a stray rejection cannot leave a job
 *   half-updated, and each job's own failures are caught and recorded in the queue itself.
 * - An exception thrown out of a callback (a timer, an event handler) is logged and the process exits
 *   with status 1. It may have stopped a synchronous state change halfway, and Node documents that
 *   resuming after 'uncaughtException' is unsafe (https://nodejs.org/api/process.html#warning-using-uncaughtexception-correctly).
 *   Nothing is lost for good: the generation process exits with its parent, and the next start records
 *   the jobs that were queued or running as `interrupted`.
 */
export function installCrashPolicy(log: (line: string) => void, exit: (code: number) => void = (code) => process.exit(code)): void {
  process.on('unhandledRejection', (reason) => {
    log(`an operation failed and nothing handled it (the bridge keeps serving): ${describe(reason)}`);
  });
  process.on('uncaughtException', (err) => {
    log(`internal error, stopping (queued and running jobs will be recorded as interrupted at the next start): ${describe(err)}`);
    exit(1);
  });
}

function describe(reason: unknown): string {
  return reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
}
