/// <reference lib="dom" />
// The form wiring both panels share, by element id: field reads, the status line, the progress bar with
// its preview, and the generate/cancel buttons. Only DOM that UXP documents, so the Photoshop panel and
// the Figma iframe run the same code.
import type { JobProgress } from './job.js';
import { withPromptWord } from '@kirie/core/adapters/prompt';
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
  /** A small button labelled `label` (set as text). */
  button(label: string): HTMLElement;
}

/** A LoRA row as the form reads it: the UNet weight and A1111's separate text-encoder weight, in percent. */
export interface ChosenLora {
  name: string;
  percent: string;
  textPercent: string;
}

function percentSlider(widgets: LoraWidgets, label: string, percent: string, row: HTMLElement): HTMLInputElement {
  const slider = widgets.slider();
  slider.className = 'grow';
  slider.setAttribute('aria-label', label);
  for (const [key, value] of Object.entries(LORA_PERCENT)) slider.setAttribute(key, String(value));
  slider.setAttribute('value', percent);
  slider.value = percent;
  row.appendChild(slider);
  if (!widgets.showsValue) {
    const shown = document.createElement('span');
    shown.textContent = `${slider.value}%`;
    slider.addEventListener('input', () => (shown.textContent = `${slider.value}%`));
    row.appendChild(shown);
  }
  return slider;
}

/**
 * Replaces `container`'s rows with one per LoRA: a checkbox to use it, a weight slider in percent starting at
 * its preferred weight, and a text-encoder weight slider (A1111's `<lora:name:te:unet>`) that follows the
 * weight until it is moved itself. `chosen` (the last reader's answer) stays switched on at its weights, so a
 * refreshed list keeps what the user set. Returns the reader the form uses: the LoRAs switched on, as set.
 */
export function fillLoraRows(container: HTMLElement, loras: readonly LoraChoice[], widgets: LoraWidgets, chosen: readonly ChosenLora[] = []): () => ChosenLora[] {
  container.textContent = '';
  const rows = loras.map((lora) => {
    const row = document.createElement('div');
    row.className = 'row';
    const use = widgets.checkbox(lora.name);
    use.element.setAttribute('title', lora.hint);
    row.appendChild(use.element);
    const kept = chosen.find((c) => c.name === lora.name);
    if (kept) use.input.checked = true;
    const percent = kept?.percent ?? String(Math.round(lora.weight * 100));
    const slider = percentSlider(widgets, `${lora.name} weight (%)`, percent, row);
    const textRow = document.createElement('div');
    textRow.className = 'row';
    const textLabel = document.createElement('span');
    textLabel.textContent = 'text encoder';
    textRow.appendChild(textLabel);
    const textSlider = percentSlider(widgets, `${lora.name} text-encoder weight (%)`, kept?.textPercent ?? percent, textRow);
    let linked = !kept || kept.textPercent === kept.percent;
    textSlider.addEventListener('input', () => (linked = textSlider.value === slider.value));
    slider.addEventListener('input', () => {
      if (!linked) return;
      textSlider.setAttribute('value', slider.value);
      textSlider.value = slider.value;
      textSlider.dispatchEvent(new Event('input'));
    });
    container.appendChild(row);
    container.appendChild(textRow);
    return { name: lora.name, use: use.input, slider, textSlider };
  });
  return () => rows.filter((r) => r.use.checked).map((r) => ({ name: r.name, percent: r.slider.value, textPercent: r.textSlider.value }));
}

/**
 * One button per embedding and field: a click adds the embedding's name to that field (an embedding is used
 * by its name in a prompt). Names come from file names on the bridge and are set as text only.
 */
export function fillEmbeddingButtons(container: HTMLElement, names: readonly string[], widgets: Pick<LoraWidgets, 'button'>, fields: readonly { id: string; label: string }[]): void {
  container.textContent = '';
  if (names.length === 0) return;
  for (const target of fields) {
    const row = document.createElement('div');
    row.className = 'row';
    const label = document.createElement('span');
    label.textContent = `Embeddings → ${target.label}:`;
    row.appendChild(label);
    for (const name of names) {
      const button = widgets.button(name);
      button.setAttribute('title', `add ${name} to the ${target.label}`);
      button.addEventListener('click', () => {
        const input = $<HTMLInputElement>(target.id);
        input.value = withPromptWord(input.value, name);
        input.dispatchEvent(new Event('input'));
      });
      row.appendChild(button);
    }
    container.appendChild(row);
  }
}
