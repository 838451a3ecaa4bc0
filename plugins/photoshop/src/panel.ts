/// <reference lib="dom" />
// The panel's DOM wiring: reads the form, runs one flow at a time with progress, preview and cancel,
// and keeps the bridge settings in the plugin's localStorage. The only place that touches
// require('photoshop') / require('uxp') is the two lines handing them to the adapter and the file picker.
import { KirieClient } from '@kirie/core/client/client';
import { decodeImage } from '@kirie/core/image/decode';
import type { RasterImage } from '@kirie/core/image/png';
import { STYLE_PRESETS } from '@kirie/core/styles/presets';
import { GenerationCancelled } from '../../shared/src/job.js';
import { $, field, setRunning, showProgress, status } from '../../shared/src/panel.js';
import { checkBridgeSettings, DEFAULT_BRIDGE_URL, optionsFromForm } from '../../shared/src/settings.js';
import { fillSelection, img2imgLayer, poseFill, posePhotoFill } from './flows.js';
import { createPhotoshopHost } from './host.js';
import type { PhotoshopModule } from './photoshop-api.js';

interface UxpFile {
  name: string;
  read(options?: { format: symbol }): Promise<string | ArrayBuffer>;
}

interface UxpStorage {
  localFileSystem: { getFileForOpening(options: { types?: string[] }): Promise<UxpFile | null> };
  formats: { binary: symbol };
}

const host = createPhotoshopHost(require('photoshop') as PhotoshopModule);
const storage = (require('uxp') as { storage: UxpStorage }).storage;

let pose: { name: string; json: unknown } | null = null;
let photo: { name: string; image: RasterImage } | null = null;
let running: AbortController | null = null;

function loadSettings(): void {
  $<HTMLInputElement>('bridge-url').value = localStorage.getItem('kirie.url') ?? DEFAULT_BRIDGE_URL;
  $<HTMLInputElement>('bridge-token').value = localStorage.getItem('kirie.token') ?? '';
}

function saveSettings(): void {
  const settings = checkBridgeSettings({ url: field('bridge-url'), token: field('bridge-token') });
  localStorage.setItem('kirie.url', settings.url);
  localStorage.setItem('kirie.token', settings.token);
  status(`saved; bridge at ${settings.url}`);
}

async function pickPose(): Promise<void> {
  const file = await storage.localFileSystem.getFileForOpening({ types: ['json'] });
  if (!file) return;
  try {
    pose = { name: file.name, json: JSON.parse((await file.read()) as string) as unknown };
    $('pose-name').textContent = file.name;
  } catch (err) {
    pose = null;
    status(`${file.name} is not JSON: ${(err as Error).message}`, true);
  }
}

async function pickPhoto(): Promise<void> {
  const file = await storage.localFileSystem.getFileForOpening({ types: ['png', 'jpg', 'jpeg'] });
  if (!file) return;
  try {
    photo = { name: file.name, image: decodeImage(new Uint8Array((await file.read({ format: storage.formats.binary })) as ArrayBuffer)) };
    $('photo-name').textContent = file.name;
  } catch (err) {
    photo = null;
    $('photo-name').textContent = 'none';
    status(`${file.name} could not be read as a PNG or JPEG: ${(err as Error).message}`, true);
  }
}

async function generate(): Promise<void> {
  if (running) return;
  running = new AbortController();
  setRunning(true);
  try {
    const settings = checkBridgeSettings({ url: field('bridge-url'), token: field('bridge-token') });
    const client = new KirieClient(settings);
    const options = optionsFromForm({
      prompt: field('prompt'),
      negativePrompt: field('negative'),
      style: field('style'),
      strength: field('strength'),
      steps: field('steps'),
      seed: field('seed'),
      colorMatch: $<HTMLInputElement>('color-match').checked,
    });
    const hooks = { signal: running.signal, onProgress: showProgress };
    const mode = field('mode');
    const result =
      mode === 'img2img'
        ? await img2imgLayer(host, client, options, hooks)
        : mode === 'pose'
          ? await poseFill(host, client, options, pose?.json ?? failNoPose(), hooks)
          : mode === 'pose-photo'
            ? await posePhotoFill(host, client, options, photo?.image ?? failNoPhoto(), hooks)
            : await fillSelection(host, client, options, hooks);
    status(`added "${result.layerName}" (seed ${result.seed})`);
  } catch (err) {
    status(err instanceof GenerationCancelled ? 'cancelled: the document is unchanged' : (err as Error).message, !(err instanceof GenerationCancelled));
  } finally {
    running = null;
    setRunning(false);
  }
}

function failNoPose(): never {
  throw new Error('pick a pose JSON file first (OpenPose format, e.g. from a pose editor)');
}

function failNoPhoto(): never {
  throw new Error('pick a reference photo first (a PNG with the people whose poses the fill should take)');
}

function init(): void {
  // createElement + appendChild and style.display: UXP's DOM has no Option constructor or `hidden`.
  const select = $<HTMLSelectElement>('style');
  for (const s of STYLE_PRESETS) {
    const option = document.createElement('option');
    option.value = s.id;
    option.textContent = s.name;
    select.appendChild(option);
  }
  const togglePose = () => {
    $('pose-row').style.display = field('mode') === 'pose' ? 'flex' : 'none';
    $('photo-row').style.display = field('mode') === 'pose-photo' ? 'flex' : 'none';
  };
  $('mode').addEventListener('change', togglePose);
  togglePose();
  loadSettings();
  $('save-settings').addEventListener('click', () => {
    try {
      saveSettings();
    } catch (err) {
      status((err as Error).message, true);
    }
  });
  $('pick-pose').addEventListener('click', () => void pickPose());
  $('pick-photo').addEventListener('click', () => void pickPhoto());
  $('generate').addEventListener('click', () => void generate());
  $('cancel').addEventListener('click', () => running?.abort());
}

init();
