/// <reference lib="dom" />
// The panel's DOM wiring, in UXP's built-in Spectrum widgets: reads the form, runs one flow at a time with
// progress, preview and cancel, offers a result Photoshop was too busy to take, and keeps the bridge
// settings (URL in localStorage, token in secureStorage). The only place that touches require('photoshop')
// / require('uxp') is the few lines handing them to the adapter, the file picker and the token store.
import { KirieClient } from '@kirie/core/client/client';
import { toPoseJson } from '@kirie/core/control/openpose';
import { POSE_PRESET_NAMES, posePreset } from '@kirie/core/control/pose-presets';
import { decodeImage } from '@kirie/core/image/decode';
import type { RasterImage } from '@kirie/core/image/png';
import type { StyleInfo } from '@kirie/core/client/protocol';
import { STYLE_PRESETS } from '@kirie/core/styles/presets';
import { type BridgeChoices, fetchBridgeChoices } from '../../shared/src/adapters.js';
import { GenerationCancelled } from '../../shared/src/job.js';
import { $, type ChosenLora, field, fillEmbeddingButtons, fillLoraRows, type LoraWidgets, setRunning, showProgress, status } from '../../shared/src/panel.js';
import { type BridgeSettings, checkBridgeSettings, DEFAULT_BRIDGE_URL, optionsFromForm } from '../../shared/src/settings.js';
import { fastUnavailable } from '../../shared/src/fast.js';
import { pairPanel } from '../../shared/src/pairing.js';
import { pasteRecipe, type RecipeSettings } from '../../shared/src/recipe-paste.js';
import { connectionHelp } from './connection.js';
import { addPosePaths, type FlowHooks, type FlowResult, fillSelection, img2imgLayer, poseFill, posePathsFill, posePhotoFill, regenerate, ResultNotPlaced } from './flows.js';
import { createPhotoshopHost } from './host.js';
import type { PhotoshopModule, UxpXmp } from './photoshop-api.js';

interface UxpFile {
  name: string;
  read(options?: { format: symbol }): Promise<string | ArrayBuffer>;
}

/** require('uxp').storage: the file picker and secureStorage (promises; getItem gives a Uint8Array). */
interface UxpStorage {
  localFileSystem: { getFileForOpening(options: { types?: string[] }): Promise<UxpFile | null> };
  formats: { binary: symbol };
  secureStorage: { getItem(key: string): Promise<Uint8Array | null>; setItem(key: string, value: string): Promise<void> };
}

const uxp = require('uxp') as { storage: UxpStorage; xmp: UxpXmp };
const host = createPhotoshopHost(require('photoshop') as PhotoshopModule, uxp.xmp);
const storage = uxp.storage;

const MODES = ['fill', 'img2img', 'pose', 'pose-photo', 'pose-paths'] as const;
const TOKEN_KEY = 'kirie.token';
const URL_KEY = 'kirie.url';
const FAST_KEY = 'kirie.fast';
/** Modes that guide the fill with a ControlNet unit, which DeepCache cannot run with. */
const CONTROL_MODES: readonly string[] = ['pose', 'pose-photo', 'pose-paths'];

let pose: { name: string; json: unknown } | null = null;
let photo: { name: string; image: RasterImage } | null = null;
let running: { aborted: boolean } | null = null;
let savedToken = '';
let pending: (() => Promise<FlowResult>) | null = null;
/** A used recipe's settings the form has no field for: they go with every generation until another recipe is used. */
let recipeSettings: RecipeSettings | undefined;
/** The style picker's entries after "None": the built-in presets until the bridge lists its own (LoRA styles included). */
let styles: readonly StyleInfo[] = STYLE_PRESETS;
let chosenLoras: () => ChosenLora[] = () => [];

const SPECTRUM_LORA_WIDGETS: LoraWidgets = {
  checkbox(name) {
    const box = document.createElement('sp-checkbox') as unknown as HTMLInputElement;
    box.textContent = name;
    return { element: box, input: box };
  },
  slider: () => document.createElement('sp-slider') as unknown as HTMLInputElement,
  showsValue: true,
  button(label) {
    const button = document.createElement('sp-action-button');
    button.setAttribute('size', 's');
    button.textContent = label;
    return button;
  },
};

/** The index of a sp-picker's chosen sp-menu-item (UXP's picker reports `selectedIndex`). */
function pickerIndex(id: string): number {
  return ($(id) as unknown as { selectedIndex: number }).selectedIndex;
}

function mode(): (typeof MODES)[number] {
  return MODES[pickerIndex('mode')] ?? 'fill';
}

/** '' = the style's or the flow's own strength. */
function strengthField(): string {
  if ($<HTMLInputElement>('strength-auto').checked) return '';
  return String(Number(field('strength')) / 100);
}

/** The token as typed, or the one in secureStorage; never read back into a field. */
function bridgeSettings(): BridgeSettings {
  return checkBridgeSettings({ url: field('bridge-url'), token: field('bridge-token').trim() || savedToken });
}

function showTokenState(): void {
  $('token-state').textContent = savedToken ? `a token is saved (…${savedToken.slice(-4)}); paste a new one to replace it` : 'no token saved yet';
}

/** Fast is switched off (and says why in its tooltip) for the modes the bridge would refuse it in. */
function showFastAvailability(): void {
  const fast = $<HTMLInputElement>('fast');
  const why = fastUnavailable({ control: CONTROL_MODES.includes(mode()) });
  fast.disabled = why !== undefined;
  if (why) fast.setAttribute('title', why);
  else fast.removeAttribute('title');
}

async function loadSettings(): Promise<void> {
  $<HTMLInputElement>('bridge-url').value = localStorage.getItem(URL_KEY) ?? DEFAULT_BRIDGE_URL;
  $<HTMLInputElement>('fast').checked = localStorage.getItem(FAST_KEY) === 'true';
  // Earlier versions kept the token in localStorage: move it to secureStorage once.
  const legacy = localStorage.getItem(TOKEN_KEY);
  if (legacy) {
    await storage.secureStorage.setItem(TOKEN_KEY, legacy);
    localStorage.removeItem(TOKEN_KEY);
  }
  // A key never set may reject or answer empty: either way, no token yet.
  const bytes = await storage.secureStorage.getItem(TOKEN_KEY).catch(() => null);
  savedToken = bytes && bytes.length > 0 ? new TextDecoder('utf-8').decode(bytes) : '';
  showTokenState();
}

async function saveSettings(): Promise<void> {
  const settings = bridgeSettings();
  localStorage.setItem(URL_KEY, settings.url);
  if (settings.token !== savedToken) await storage.secureStorage.setItem(TOKEN_KEY, settings.token);
  savedToken = settings.token;
  $<HTMLInputElement>('bridge-token').value = '';
  showTokenState();
  // Saved either way; the status line follows the bridge's lists, so the form is complete when it says so.
  await loadBridgeChoices().then(
    () => status(`saved; bridge at ${settings.url}`),
    (err: unknown) => status(`saved; the bridge's styles and LoRAs could not be listed: ${connectionHelp(err, settings.url) ?? (err as Error).message}`, true),
  );
}

async function testConnection(): Promise<void> {
  const settings = bridgeSettings();
  const health = await new KirieClient(settings).health();
  await loadBridgeChoices();
  status(`connected to Kirie ${health.version} at ${settings.url} (${health.device})`);
}

/** createElement + appendChild: UXP's DOM has no Option constructor or innerHTML parsing to lean on. */
function showStyles(list: readonly StyleInfo[]): void {
  const chosen = pickerIndex('style') > 0 ? styles[pickerIndex('style') - 1]?.id : undefined;
  const keep = Math.max(0, list.findIndex((s) => s.id === chosen) + 1);
  styles = list;
  const menu = $('style-menu');
  menu.textContent = '';
  ['None (prompt as typed)', ...list.map((s) => s.name)].forEach((name, i) => {
    const item = document.createElement('sp-menu-item');
    item.textContent = name;
    if (i === keep) item.setAttribute('selected', '');
    menu.appendChild(item);
  });
}

function showBridgeChoices(choices: BridgeChoices): void {
  showStyles(choices.styles);
  chosenLoras = fillLoraRows($('lora-list'), choices.loras, SPECTRUM_LORA_WIDGETS, chosenLoras());
  $('loras-field').style.display = choices.loras.length > 0 ? 'flex' : 'none';
  fillEmbeddingButtons($('embeddings'), choices.embeddings, SPECTRUM_LORA_WIDGETS, [{ id: 'prompt', label: 'prompt' }, { id: 'negative', label: 'negative prompt' }]);
}

/** The bridge's styles and LoRAs, once it can be reached with the saved settings. */
async function loadBridgeChoices(): Promise<void> {
  showBridgeChoices(await fetchBridgeChoices(new KirieClient(bridgeSettings())));
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

/** Places a pose as "Kirie pose N" paths: the chosen preset, or `json` (a picked file). */
async function addPose(json?: unknown): Promise<void> {
  const names = await addPosePaths(host, json ?? toPoseJson(posePreset(POSE_PRESET_NAMES[pickerIndex('pose-preset')] ?? 'standing')));
  status(`added ${names.join(', ')} (Paths panel): move a joint's marker with the Path Selection tool, drag it off the canvas to hide it`);
}

async function addPoseFromFile(): Promise<void> {
  const file = await storage.localFileSystem.getFileForOpening({ types: ['json'] });
  if (!file) return;
  let json: unknown;
  try {
    json = JSON.parse((await file.read()) as string);
  } catch (err) {
    status(`${file.name} is not JSON: ${(err as Error).message}`, true);
    return;
  }
  await addPose(json);
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

function setBusy(busy: boolean): void {
  setRunning(busy);
  for (const id of ['remake', 'variation', 'place']) $<HTMLButtonElement>(id).disabled = busy;
}

function offerPlacement(place: (() => Promise<FlowResult>) | null): void {
  pending = place;
  $('place').style.display = place ? 'inline-block' : 'none';
}

/** Runs one action with the shared running state; every failure ends as one readable status line. */
async function run(action: (client: KirieClient, hooks: FlowHooks) => Promise<FlowResult>): Promise<void> {
  if (running) return;
  running = { aborted: false };
  setBusy(true);
  let url = field('bridge-url');
  try {
    const settings = bridgeSettings();
    url = settings.url;
    const result = await action(new KirieClient(settings), { signal: running, onProgress: showProgress });
    offerPlacement(null);
    status(`added "${result.layerName}"`);
  } catch (err) {
    if (err instanceof ResultNotPlaced) offerPlacement(err.place);
    if (err instanceof GenerationCancelled) status('cancelled: the document is unchanged');
    else status(connectionHelp(err, url) ?? (err as Error).message, true);
  } finally {
    running = null;
    setBusy(false);
  }
}

function formOptions() {
  const options = optionsFromForm({
    prompt: field('prompt'),
    negativePrompt: field('negative'),
    style: pickerIndex('style') > 0 ? styles[pickerIndex('style') - 1]?.id : undefined,
    strength: strengthField(),
    steps: field('steps'),
    seed: field('seed'),
    colorMatch: $<HTMLInputElement>('color-match').checked,
    fast: $<HTMLInputElement>('fast').checked && !$<HTMLInputElement>('fast').disabled,
    loras: chosenLoras(),
  });
  return recipeSettings ? { ...options, recipe: recipeSettings } : options;
}

/** "Use recipe": the pasted recipe fills the form; what the panel cannot carry is said in the status line. */
async function useRecipe(): Promise<void> {
  const pasted = pasteRecipe(field('recipe'));
  const set = (id: string, value: string | undefined) => {
    if (value !== undefined) $<HTMLInputElement>(id).value = value;
  };
  set('prompt', pasted.form.prompt);
  set('negative', pasted.form.negativePrompt ?? '');
  set('steps', pasted.form.steps);
  set('seed', pasted.form.seed);
  if (pasted.form.strength !== undefined) {
    $<HTMLInputElement>('strength-auto').checked = false;
    $<HTMLInputElement>('strength').disabled = false;
    $<HTMLInputElement>('strength').value = String(Math.round(Number(pasted.form.strength) * 100));
  }
  // This panel generates with the bridge's model.
  const notCarried = [...pasted.notCarried, ...(pasted.form.model ? [`Model ${pasted.form.model}: the bridge's model is used`] : [])];
  recipeSettings = pasted.settings;
  status(notCarried.length > 0 ? `recipe used; not carried over: ${notCarried.join('; ')}` : 'recipe used: everything in it is carried over');
}

function generate(client: KirieClient, hooks: FlowHooks): Promise<FlowResult> {
  const options = formOptions();
  switch (mode()) {
    case 'img2img':
      return img2imgLayer(host, client, options, hooks);
    case 'pose':
      if (!pose) throw new Error('pick a pose JSON file first (OpenPose format, e.g. from a pose editor)');
      return poseFill(host, client, options, pose.json, hooks);
    case 'pose-photo':
      if (!photo) throw new Error('pick a reference photo first (a PNG or JPEG with the people whose poses the fill should take)');
      return posePhotoFill(host, client, options, photo, hooks);
    case 'pose-paths':
      return posePathsFill(host, client, options, hooks);
    default:
      return fillSelection(host, client, options, hooks);
  }
}

/** Places a kept result; a failure other than a still-busy Photoshop (say, its document closed) drops it. */
async function placePending(): Promise<void> {
  const place = pending;
  if (!place || running) return;
  running = { aborted: false };
  setBusy(true);
  try {
    const result = await place();
    offerPlacement(null);
    status(`added "${result.layerName}"`);
  } catch (err) {
    offerPlacement(err instanceof ResultNotPlaced ? err.place : null);
    status((err as Error).message, true);
  } finally {
    running = null;
    setBusy(false);
  }
}

/** "Pair with bridge": the bridge gives the token once the user typed the code shown here where it runs. */
async function pair(): Promise<void> {
  const token = await pairPanel({ url: field('bridge-url'), client: 'Photoshop', show: (text) => status(text) });
  $<HTMLInputElement>('bridge-token').value = token;
  await saveSettings();
  status('paired: the bridge token is saved');
}

/** Reports a failure of a non-generating action (save, test) in the status line. */
const reporting = (action: () => Promise<void>) => () =>
  void action().catch((err: unknown) => status(connectionHelp(err, field('bridge-url')) ?? (err as Error).message, true));

function init(): void {
  // style.display: UXP's DOM has no `hidden`.
  showStyles(STYLE_PRESETS);
  const toggleRows = () => {
    $('pose-row').style.display = mode() === 'pose' ? 'flex' : 'none';
    $('photo-row').style.display = mode() === 'pose-photo' ? 'flex' : 'none';
    $('pose-paths-row').style.display = mode() === 'pose-paths' ? 'flex' : 'none';
    showFastAvailability();
  };
  const presets = $('pose-preset-menu');
  for (const name of POSE_PRESET_NAMES) {
    const item = document.createElement('sp-menu-item');
    item.textContent = name;
    if (name === POSE_PRESET_NAMES[0]) item.setAttribute('selected', '');
    presets.appendChild(item);
  }
  $('mode').addEventListener('change', toggleRows);
  toggleRows();
  $('fast').addEventListener('change', () => localStorage.setItem(FAST_KEY, String($<HTMLInputElement>('fast').checked)));
  $('strength-auto').addEventListener('change', () => {
    $<HTMLInputElement>('strength').disabled = $<HTMLInputElement>('strength-auto').checked;
  });
  $('pair-bridge').addEventListener('click', reporting(pair));
  $('save-settings').addEventListener('click', reporting(saveSettings));
  $('test-connection').addEventListener('click', reporting(testConnection));
  $('pick-pose').addEventListener('click', reporting(pickPose));
  $('pick-photo').addEventListener('click', reporting(pickPhoto));
  $('add-pose').addEventListener('click', reporting(() => addPose()));
  $('add-pose-json').addEventListener('click', reporting(addPoseFromFile));
  $('use-recipe').addEventListener('click', reporting(useRecipe));
  $('generate').addEventListener('click', () => void run(generate));
  $('remake').addEventListener('click', () => void run((client, hooks) => regenerate(host, client, 'remake', photo, hooks)));
  $('variation').addEventListener('click', () => void run((client, hooks) => regenerate(host, client, 'variation', photo, hooks)));
  $('place').addEventListener('click', () => void placePending());
  $('cancel').addEventListener('click', () => {
    if (running) running.aborted = true;
  });
  void loadSettings().then(
    // Without a bridge yet the built-in styles stay; Save or Test connection lists the bridge's.
    () => (savedToken ? loadBridgeChoices().catch(() => status('the bridge is not reachable yet: built-in styles only; Test connection lists its styles and LoRAs')) : undefined),
    (err: unknown) => status(`could not read the saved settings: ${(err as Error).message}`, true),
  );
}

init();
