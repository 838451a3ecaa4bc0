/// <reference lib="dom" />
// The form wiring both panels share, by element id: field reads, the status line, the progress bar with
// its preview, and the generate/cancel buttons. Only DOM that UXP documents, so the Photoshop panel and
// the Figma iframe run the same code.
import type { JobProgress } from './job.js';

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
export const field = (id: string) => $<HTMLInputElement>(id).value;

export function status(text: string, error = false): void {
  const el = $('status');
  el.textContent = text;
  el.className = error ? 'error' : '';
}

export function showProgress(p: JobProgress): void {
  const bar = $<HTMLProgressElement>('progress');
  if (p.phase === 'queued') status(`queued (position ${p.total})`);
  else if (p.phase === 'started' || p.phase === 'loading') status('loading the model…');
  else status(`${p.phase} ${p.step}/${p.total}`);
  bar.max = Math.max(1, p.total);
  bar.value = p.phase === 'denoising' ? p.step : 0;
  if (p.preview) $<HTMLImageElement>('preview').src = `data:image/png;base64,${p.preview}`;
}

/** While a job runs only cancel is enabled; after it, only generate. */
export function setRunning(running: boolean): void {
  $<HTMLButtonElement>('generate').disabled = running;
  $<HTMLButtonElement>('cancel').disabled = !running;
}
