/// <reference lib="dom" />
// The form wiring both panels share, by element id: field reads, the status line, the progress bar with
// its preview, and the generate/cancel buttons. Only DOM that UXP documents, so the Photoshop panel and
// the Figma iframe run the same code.
import type { JobProgress } from './job.js';
import { LORA_PERCENT, type LoraChoice } from './adapters.js';

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

/** The host's own widgets for a LoRA row: UXP's sp-checkbox/sp-slider, or the Figma iframe's inputs. */
export interface LoraWidgets {
  /** A checkbox labelled with the LoRA's name (set as text); `input` reports `checked`. */
  checkbox(name: string): { element: HTMLElement; input: HTMLInputElement };
  slider(): HTMLInputElement;
  /** sp-slider shows its value itself; a plain range input needs a text beside it. */
  showsValue: boolean;
}

/**
 * Replaces `container`'s rows with one per LoRA: a checkbox to use it and a weight slider in percent
 * starting at its preferred weight. `chosen` (the last reader's answer) stays switched on at its weight, so a
 * refreshed list keeps what the user set. Returns the reader the form uses: the LoRAs switched on, as set.
 */
export function fillLoraRows(container: HTMLElement, loras: readonly LoraChoice[], widgets: LoraWidgets, chosen: readonly { name: string; percent: string }[] = []): () => { name: string; percent: string }[] {
  container.textContent = '';
  const rows = loras.map((lora) => {
    const row = document.createElement('div');
    row.className = 'row';
    const use = widgets.checkbox(lora.name);
    use.element.setAttribute('title', lora.hint);
    const slider = widgets.slider();
    slider.className = 'grow';
    slider.setAttribute('aria-label', `${lora.name} weight (%)`);
    for (const [key, value] of Object.entries(LORA_PERCENT)) slider.setAttribute(key, String(value));
    const kept = chosen.find((c) => c.name === lora.name);
    const percent = kept?.percent ?? String(Math.round(lora.weight * 100));
    slider.setAttribute('value', percent);
    slider.value = percent;
    if (kept) use.input.checked = true;
    row.appendChild(use.element);
    row.appendChild(slider);
    if (!widgets.showsValue) {
      const shown = document.createElement('span');
      shown.textContent = `${slider.value}%`;
      slider.addEventListener('input', () => (shown.textContent = `${slider.value}%`));
      row.appendChild(shown);
    }
    container.appendChild(row);
    return { name: lora.name, use: use.input, slider };
  });
  return () => rows.filter((r) => r.use.checked).map((r) => ({ name: r.name, percent: r.slider.value }));
}
