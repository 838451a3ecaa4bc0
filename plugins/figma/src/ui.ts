/// <reference lib="dom" />
// The plugin's UI iframe: the form, progress and settings. Network calls happen here (the main thread
// has no WebSocket); anything that touches the document goes through the main thread.
import { KirieClient } from '@kirie/core/client/client';
import { toPoseJson } from '@kirie/core/control/openpose';
import { POSE_PRESET_NAMES, type PosePresetName, posePreset } from '@kirie/core/control/pose-presets';
import type { StyleInfo } from '@kirie/core/client/protocol';
import { STYLE_PRESETS } from '@kirie/core/styles/presets';
import { type BridgeChoices, fetchBridgeChoices } from '../../shared/src/adapters.js';
import { GenerationCancelled } from '../../shared/src/job.js';
import { $, type ChosenLora, field, fillEmbeddingButtons, fillLoraRows, type LoraWidgets, setRunning, showProgress, status } from '../../shared/src/panel.js';
import { type BridgeSettings, checkBridgeSettings, DEFAULT_BRIDGE_URL, optionsFromForm } from '../../shared/src/settings.js';
import { pairPanel } from '../../shared/src/pairing.js';
import { pasteRecipe, type RecipeSettings } from '../../shared/src/recipe-paste.js';
import { connectionHelp, localNetworkPermission } from './connection.js';
import { decodePng } from '@kirie/core/image/png';
import { MannequinEditor } from '../../shared/src/mannequin-editor.js';
import { fileAsPng } from '../../shared/src/image-file.js';
import { type FrameResult, mannequinFill, poseFill, remake, restyleFrame } from './flow.js';
import type { MainToUi, SelectionInfo, UiToMain } from './messages.js';
import { type FigmaRecipe, parseRecipe } from './recipe.js';
import { createMainRpc } from './rpc.js';

const rpc = createMainRpc((message: UiToMain) => parent.postMessage({ pluginMessage: message }, '*'));
let running: AbortController | null = null;
let selection: SelectionInfo = { frame: null, hasMask: false, problem: 'Select a frame.', recipe: null };

let chosenLoras: () => ChosenLora[] = () => [];
let mannequin: MannequinEditor | null = null;

const HTML_LORA_WIDGETS: LoraWidgets = {
  checkbox(name) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    label.append(input, name);
    return { element: label, input };
  },
  slider() {
    const input = document.createElement('input');
    input.type = 'range';
    return input;
  },
  showsValue: false,
  button(label) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = label;
    return button;
  },
};

function showStyles(list: readonly StyleInfo[]): void {
  const select = $<HTMLSelectElement>('style');
  const chosen = select.value;
  select.replaceChildren(new Option('None (prompt as typed)', ''), ...list.map((s) => new Option(s.name, s.id)));
  if (list.some((s) => s.id === chosen)) select.value = chosen;
}

function showBridgeChoices(choices: BridgeChoices): void {
  showStyles(choices.styles);
  chosenLoras = fillLoraRows($('lora-list'), choices.loras, HTML_LORA_WIDGETS, chosenLoras());
  $('loras').hidden = choices.loras.length === 0;
  // The panel has no negative-prompt field (a pasted recipe's negative prompt is used as pasted).
  fillEmbeddingButtons($('embeddings'), choices.embeddings, HTML_LORA_WIDGETS, [{ id: 'prompt', label: 'prompt' }]);
}

const bridgeSettings = (): BridgeSettings => checkBridgeSettings({ url: field('bridge-url'), token: field('bridge-token') });

/** The error as the user should read it: for connection trouble, what to do about it. */
async function explain(err: unknown): Promise<string> {
  const help = connectionHelp(err, field('bridge-url').trim() || DEFAULT_BRIDGE_URL, await localNetworkPermission());
  if (help) $<HTMLDetailsElement>('bridge').open = true;
  return help ?? (err as Error).message;
}

function updateButtons(): void {
  const idle = running === null;
  $<HTMLButtonElement>('generate').disabled = !idle || selection.frame === null;
  $<HTMLButtonElement>('remake').disabled = !idle || selection.recipe === null;
  $<HTMLButtonElement>('variations').disabled = !idle || selection.recipe === null;
  $<HTMLButtonElement>('add-pose').disabled = !idle || selection.frame === null;
  $<HTMLButtonElement>('pose-fill').disabled = !idle || selection.frame === null;
  $<HTMLButtonElement>('mannequin-place').disabled = !idle || selection.frame === null || mannequin === null;
  $<HTMLButtonElement>('mannequin-fill').disabled = !idle || selection.frame === null || mannequin === null;
  $<HTMLButtonElement>('cancel').disabled = idle;
}

async function run(work: (client: KirieClient, signal: AbortSignal) => Promise<FrameResult>): Promise<void> {
  if (running) return;
  running = new AbortController();
  setRunning(true);
  updateButtons();
  try {
    const result = await work(new KirieClient(bridgeSettings()), running.signal);
    status(`added "${result.name}" above the frame`);
  } catch (err) {
    const cancelled = err instanceof GenerationCancelled;
    const text = cancelled ? 'cancelled: nothing was changed' : await explain(err);
    status(text, !cancelled);
    if (!cancelled) rpc.notify(`Kirie: ${text}`, true);
  } finally {
    running = null;
    setRunning(false);
    updateButtons();
  }
}

/** A used recipe's negative prompt and the settings the form has no field for: they go with every generation until another recipe is used. */
let pasted: { negativePrompt?: string; settings: RecipeSettings } | undefined;

const formOptions = () => {
  const options = optionsFromForm({ prompt: field('prompt'), ...(pasted?.negativePrompt ? { negativePrompt: pasted.negativePrompt } : {}), style: field('style'), strength: field('strength'), steps: field('steps'), seed: field('seed'), colorMatch: $<HTMLInputElement>('color-match').checked, fast: $<HTMLInputElement>('fast').checked, loras: chosenLoras() });
  return pasted ? { ...options, recipe: pasted.settings } : options;
};

/** "Use recipe": the pasted recipe fills the form; what the panel cannot carry is said in the status line. */
function useRecipe(): void {
  try {
    const recipe = pasteRecipe(field('recipe'));
    const set = (id: string, value: string | undefined) => {
      if (value !== undefined) $<HTMLInputElement>(id).value = value;
    };
    set('prompt', recipe.form.prompt);
    set('steps', recipe.form.steps);
    set('seed', recipe.form.seed);
    set('strength', recipe.form.strength);
    pasted = { ...(recipe.form.negativePrompt ? { negativePrompt: recipe.form.negativePrompt } : {}), settings: recipe.settings };
    // This panel generates with the bridge's model.
    const notCarried = [...recipe.notCarried, ...(recipe.form.model ? [`Model ${recipe.form.model}: the bridge's model is used`] : [])];
    status(notCarried.length > 0 ? `recipe used; not carried over: ${notCarried.join('; ')}` : 'recipe used: everything in it is carried over');
  } catch (err) {
    status((err as Error).message, true);
  }
}

function generate(): Promise<void> {
  return run((client, signal) => restyleFrame(rpc, client, formOptions(), { signal, onProgress: showProgress }));
}

function fillWithPose(): Promise<void> {
  return run((client, signal) => poseFill(rpc, client, formOptions(), { signal, onProgress: showProgress }));
}

function fillWithMannequin(): Promise<void> {
  return run((client, signal) => mannequinFill(rpc, client, formOptions(), openMannequin().scene, { signal, onProgress: showProgress }));
}

/** The mannequin editor, made when its section first opens (three.js and WebGL only then). */
function openMannequin(): MannequinEditor {
  $<HTMLDetailsElement>('mannequin-section').open = true;
  if (!mannequin) {
    mannequin = new MannequinEditor($('mannequin'), { width: 512, height: 512 });
    updateButtons();
  }
  return mannequin;
}

/** While the editor is open, its viewport takes the selected frame's aspect: what it shows is what the fill sees. */
async function fitMannequinToFrame(): Promise<void> {
  if (!mannequin || selection.frame === null || !$<HTMLDetailsElement>('mannequin-section').open) return;
  try {
    const { width, height } = decodePng((await rpc.readFrame()).png);
    mannequin.setSize(width, height);
  } catch (err) {
    status((err as Error).message, true);
  }
}

async function addPose(json: unknown): Promise<void> {
  try {
    const { people } = await rpc.addPose(json);
    status(`added ${people === 1 ? 'a pose' : `${people} poses`}: move its joints, then Pose fill`);
  } catch (err) {
    status((err as Error).message, true);
  }
}

async function addPoseFile(file: File): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(await file.text());
  } catch {
    status(`${file.name} is not JSON: pick an OpenPose JSON file`, true);
    return;
  }
  await addPose(json);
}

/** "Detect pose from image": the bridge finds the people in the photo; they land on the frame as joints to correct. */
async function addDetectedPose(file: File): Promise<void> {
  try {
    const png = await fileAsPng(file).catch(() => {
      throw new Error(`${file.name} is not an image the browser can read`);
    });
    const client = new KirieClient(bridgeSettings());
    status('finding the people in the photo…');
    const pose = await client.detectPose((await client.uploadImage(png)).id);
    if (pose.people.length === 0) throw new Error(`nobody found in ${file.name}: use a photo where a whole body (or at least head and shoulders) is clearly visible`);
    await addPose(pose);
  } catch (err) {
    status(await explain(err), true);
  }
}

function fromRecipe(kind: 'remake' | 'variation'): Promise<void> {
  return run((client, signal) => {
    const recipe: FigmaRecipe = parseRecipe(selection.recipe ?? '');
    // A mannequin result opens its scene, to re-pose and fill again.
    if (recipe.mannequin) openMannequin().setScene(recipe.mannequin);
    return remake(rpc, client, recipe, kind, { signal, onProgress: showProgress });
  });
}

async function checkBridge(): Promise<void> {
  try {
    const client = new KirieClient(bridgeSettings());
    const models = await client.models();
    showBridgeChoices(await fetchBridgeChoices(client));
    status(`connected: the bridge has ${models.length} model${models.length === 1 ? '' : 's'}`);
  } catch (err) {
    status(await explain(err), true);
  }
}

function describe(info: SelectionInfo): string {
  if (info.recipe) return 'A Kirie result: Remake or Variations regenerate it from its recipe';
  if (!info.frame) return info.problem ?? '';
  return `${info.frame}${info.hasMask ? ' — repaints the "mask" shape' : ' — restyles the whole frame'}`;
}

function onMain(message: MainToUi): void {
  if (rpc.receive(message)) return;
  if (message.type === 'selection') {
    const { type: _type, ...info } = message;
    selection = info;
    $('frame').textContent = describe(info);
    updateButtons();
    void fitMannequinToFrame();
  } else if (message.type === 'prefs') {
    $<HTMLInputElement>('fast').checked = message.prefs.fast;
  } else if (message.type === 'settings' && message.settings) {
    $<HTMLInputElement>('bridge-url').value = message.settings.url;
    $<HTMLInputElement>('bridge-token').value = message.settings.token;
    // The bridge's styles and LoRAs; without it reachable the built-in styles stay until Check.
    Promise.resolve()
      .then(() => fetchBridgeChoices(new KirieClient(bridgeSettings())))
      .then(showBridgeChoices, () => status('the bridge is not reachable yet: built-in styles only; Check lists its styles and LoRAs'));
  }
}

function init(): void {
  showStyles(STYLE_PRESETS);
  const presets = $<HTMLSelectElement>('pose-preset');
  for (const name of POSE_PRESET_NAMES) presets.add(new Option(name, name));
  $<HTMLInputElement>('bridge-url').value = DEFAULT_BRIDGE_URL;
  window.onmessage = (event: MessageEvent<{ pluginMessage?: MainToUi }>) => {
    if (event.data?.pluginMessage) onMain(event.data.pluginMessage);
  };
  $('save-settings').addEventListener('click', () => {
    try {
      rpc.saveSettings(bridgeSettings()).then(() => status('saved'), (err: Error) => status(err.message, true));
    } catch (err) {
      status((err as Error).message, true);
    }
  });
  $('check-bridge').addEventListener('click', () => void checkBridge());
  $('fast').addEventListener('change', () => {
    rpc.savePrefs({ fast: $<HTMLInputElement>('fast').checked }).catch((err: Error) => status(`the Fast choice could not be kept: ${err.message}`, true));
  });
  // The bridge gives the token once the user typed the code shown here where it runs; main keeps it.
  $('pair-bridge').addEventListener('click', () => {
    pairPanel({ url: field('bridge-url'), client: 'Figma', show: (text) => status(text) })
      .then((token) => {
        $<HTMLInputElement>('bridge-token').value = token;
        return rpc.saveSettings(bridgeSettings());
      })
      .then(
        () => status('paired: the bridge token is saved'),
        async (err: unknown) => status(await explain(err), true),
      );
  });
  $('generate').addEventListener('click', () => void generate());
  $('use-recipe').addEventListener('click', useRecipe);
  $('remake').addEventListener('click', () => void fromRecipe('remake'));
  $('variations').addEventListener('click', () => void fromRecipe('variation'));
  $('cancel').addEventListener('click', () => running?.abort());
  $('add-pose').addEventListener('click', () => void addPose(toPoseJson(posePreset(field('pose-preset') as PosePresetName))));
  $('pose-file').addEventListener('change', () => {
    const input = $<HTMLInputElement>('pose-file');
    const file = input.files?.[0];
    input.value = '';
    if (file) void addPoseFile(file);
  });
  $('pose-photo').addEventListener('change', () => {
    const input = $<HTMLInputElement>('pose-photo');
    const file = input.files?.[0];
    input.value = '';
    if (file) void addDetectedPose(file);
  });
  $('pose-fill').addEventListener('click', () => void fillWithPose());
  $('mannequin-section').addEventListener('toggle', () => {
    if (!$<HTMLDetailsElement>('mannequin-section').open) return;
    openMannequin();
    void fitMannequinToFrame();
  });
  $('mannequin-place').addEventListener('click', () => void addPose(openMannequin().poseJson()));
  $('mannequin-fill').addEventListener('click', () => void fillWithMannequin());
}

init();
