// Graceful shutdown: waiting jobs are cancelled, the running one is finished (its result on disk,
// complete) or cancelled, and no temporary or partial file is left in the output folder.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { decodePng } from '@kirie/core/image/png';
import { openEvents, ScriptedRunner, startTestBridge } from './harness.js';

async function submit(bridge: Awaited<ReturnType<typeof startTestBridge>>, steps: number): Promise<string> {
  const res = await fetch(`${bridge.url}/v1/jobs`, { method: 'POST', headers: { ...bridge.auth, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'x', width: 64, height: 64, steps }) });
  return ((await res.json()) as { jobId: string }).jobId;
}

it.each([
  ['finish', 'done'],
  ['cancel', 'cancelled'],
] as const)('close(%s) leaves the running job %s and cancels the waiting ones', async (mode, runningEnd) => {
  const bridge = await startTestBridge({ runner: new ScriptedRunner(20) });
  const events = await openEvents(bridge);
  const running = await submit(bridge, 10);
  const waiting = await submit(bridge, 10);
  await events.waitFor((e) => e.jobId === running && e.type === 'progress');
  await bridge.close(mode);
  expect(events.events.find((e) => e.jobId === running && ['done', 'cancelled', 'error'].includes(e.type as string))?.type).toBe(runningEnd);
  expect(events.events.find((e) => e.jobId === waiting && e.type !== 'queued')?.type).toBe('cancelled');
  const files = await readdir(join(bridge.home, 'outputs')).catch(() => [] as string[]);
  expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  // Every job leaves its final record, cancelled ones too (a restarted bridge must not answer 404).
  if (runningEnd === 'done') {
    expect(files.sort()).toEqual([`${running}-0.png`, `${running}.json`, `${waiting}.json`].sort());
    expect(decodePng(await readFile(join(bridge.home, 'outputs', `${running}-0.png`))).width).toBe(64);
  } else expect(files.sort()).toEqual([`${running}.json`, `${waiting}.json`].sort());
  const record = async (id: string) => JSON.parse(await readFile(join(bridge.home, 'outputs', `${id}.json`), 'utf8')) as { status: string };
  expect((await record(running)).status).toBe(runningEnd);
  expect((await record(waiting)).status).toBe('cancelled');
  // Nothing is left noted as unfinished: a clean stop is not an interruption.
  expect(await readdir(join(bridge.home, 'unfinished'))).toEqual([]);
  events.close();
  await bridge.dispose();
});
