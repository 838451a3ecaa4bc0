/// <reference lib="dom" />
// The plugin's UI iframe: the form, progress and settings. Network calls happen here (the main thread
// has no fetch or WebSocket of its own); anything that touches the document goes through the main thread.
import { KirieClient } from '@kirie/core/client/client';
import { STYLE_PRESETS } from '@kirie/core/styles/presets';
import { GenerationCancelled } from '../../shared/src/job.js';
import { $, field, setRunning, showProgress, status } from '../../shared/src/panel.js';
import { checkBridgeSettings, DEFAULT_BRIDGE_URL, optionsFromForm } from '../../shared/src/settings.js';
import { restyleFrame } from './flow.js';
import type { MainToUi, UiToMain } from './messages.js';
import { createMainRpc } from './rpc.js';

const rpc = createMainRpc((message: UiToMain) => parent.postMessage({ pluginMessage: message }, '*'));
let running: AbortController | null = null;

async function generate(): Promise<void> {
  if (running) return;
  running = new AbortController();
  setRunning(true);
  try {
    const client = new KirieClient(checkBridgeSettings({ url: field('bridge-url'), token: field('bridge-token') }));
    const options = optionsFromForm({ prompt: field('prompt'), style: field('style'), strength: field('strength'), steps: field('steps'), seed: field('seed'), colorMatch: $<HTMLInputElement>('color-match').checked });
    const result = await restyleFrame(rpc, client, options, { signal: running.signal, onProgress: showProgress });
    status(`added "${result.name}" above the frame (seed ${result.seed})`);
  } catch (err) {
    const cancelled = err instanceof GenerationCancelled;
    const text = cancelled ? 'cancelled: nothing was changed' : (err as Error).message;
    status(text, !cancelled);
    if (!cancelled) rpc.notify(`Kirie: ${text}`, true);
  } finally {
    running = null;
    setRunning(false);
  }
}

function onMain(message: MainToUi): void {
  if (rpc.receive(message)) return;
  if (message.type === 'selection') {
    $('frame').textContent = message.frame ? `${message.frame}${message.hasMask ? ' — repaints the "mask" shape' : ' — restyles the whole frame'}` : (message.problem ?? '');
    $<HTMLButtonElement>('generate').disabled = running !== null || message.frame === null;
  } else if (message.type === 'settings' && message.settings) {
    $<HTMLInputElement>('bridge-url').value = message.settings.url;
    $<HTMLInputElement>('bridge-token').value = message.settings.token;
  }
}

function init(): void {
  const select = $<HTMLSelectElement>('style');
  for (const s of STYLE_PRESETS) select.add(new Option(s.name, s.id));
  $<HTMLInputElement>('bridge-url').value = DEFAULT_BRIDGE_URL;
  window.onmessage = (event: MessageEvent<{ pluginMessage?: MainToUi }>) => {
    if (event.data?.pluginMessage) onMain(event.data.pluginMessage);
  };
  $('save-settings').addEventListener('click', () => {
    try {
      const settings = checkBridgeSettings({ url: field('bridge-url'), token: field('bridge-token') });
      rpc.saveSettings(settings).then(() => status('saved'), (err: Error) => status(err.message, true));
    } catch (err) {
      status((err as Error).message, true);
    }
  });
  $('generate').addEventListener('click', () => void generate());
  $('cancel').addEventListener('click', () => running?.abort());
}

init();
