/// <reference lib="dom" />
// The playground: Kirie without a host application, on the same shared client the plugins use. The
// token comes from the URL fragment `kirie serve` prints (#token=…, never sent to a server) or the form.
import { KirieClient } from '@kirie/core/client/client';
import { KirieApiError, type AdapterInfo, type GenerateRequestInput, type JobEvent, type ModelInfo, type Recipe, type StyleInfo } from '@kirie/core/client/protocol';
import { withPromptWord } from '@kirie/core/adapters/prompt';
import { FAMILIES, resolutionFor } from '@kirie/core/models/family';
import { applyStyle, styleSettings } from '@kirie/core/styles/presets';
import type { MannequinScene } from '@kirie/core/control/mannequin';
import { MannequinEditor } from '../../../plugins/shared/src/mannequin-editor.js';
import { fileAsPng } from '../../../plugins/shared/src/image-file.js';
import { fastAcceleration, fastUnavailable } from '../../../plugins/shared/src/fast.js';
import { PaintStage } from './canvas.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const TOKEN_KEY = 'kirie.token';
const HISTORY_KEY = 'kirie.history';
const FAST_KEY = 'kirie.fast';
const HISTORY_SIZE = 24;

type ControlUnitInput = NonNullable<GenerateRequestInput['control']>[number];
type ControlSource = 'pose' | 'mannequin' | NonNullable<ControlUnitInput['preprocessor']>['type'];

const stage = new PaintStage($<HTMLCanvasElement>('image'), $<HTMLCanvasElement>('mask'));
let client: KirieClient | null = null;
let styles: StyleInfo[] = [];
let currentJob: string | null = null;
let generators: ModelInfo[] = [];
let mannequin: MannequinEditor | null = null;

/** The picked model, or the bridge's default (its first checkpoint). */
function pickedModel(): ModelInfo | undefined {
  return generators.find((m) => m.id === $<HTMLSelectElement>('model').value) ?? generators[0];
}

/** The picked model's native size (SD1.x 512, SDXL 1024) and side step (8, 64), from the family the bridge lists; a picked style's settings for that family. */
function fitSizeToModel(): void {
  const { minSide, multiple } = resolutionFor(pickedModel()?.family);
  for (const id of ['width', 'height']) Object.assign(input(id), { step: String(multiple), value: String(minSide) });
  stage.resize(minSide, minSide);
  applyStyleSettings();
}

function say(text: string): void {
  $('message').textContent = text;
}

function describe(err: unknown): string {
  if (err instanceof KirieApiError) return err.field ? `${err.message} (field: ${err.field})` : err.message;
  return err instanceof Error ? err.message : String(err);
}

async function connect(token: string): Promise<void> {
  const candidate = new KirieClient({ url: location.origin, token });
  try {
    const [health, models, styleList, adapters] = await Promise.all([candidate.health(), candidate.models(), candidate.styles(), candidate.adapters()]);
    client = candidate;
    styles = styleList;
    localStorage.setItem(TOKEN_KEY, token);
    $('token-form').hidden = true;
    $('status').textContent = `bridge ${health.version} on ${health.device}${health.deviceNote ? ` (${health.deviceNote})` : ''}`;
    generators = models.filter((m) => m.kind === 'checkpoint' || m.kind === 'onnx' || m.kind === 'inpaint');
    const label = (m: ModelInfo) => `${m.name}${m.family ? ` · ${FAMILIES[m.family].label}` : ''}${m.note ? ` — ${m.note}` : ''}`;
    fillSelect($<HTMLSelectElement>('model'), generators.map((m) => [m.id, label(m)]));
    fitSizeToModel();
    const controlNets = models.filter((m) => m.kind === 'controlnet');
    fillSelect($<HTMLSelectElement>('control-model'), [['', 'off'], ...controlNets.map((m): [string, string] => [m.id, m.name])]);
    $('control').hidden = controlNets.length === 0;
    showFastAvailability();
    fillSelect($<HTMLSelectElement>('style'), [['', 'none'], ...styles.map((s): [string, string] => [s.id, s.name])]);
    fillLoras(adapters.filter((a) => a.kind === 'lora' && !a.problem));
    fillEmbeddings(adapters.filter((a) => a.kind === 'embedding' && !a.problem));
    if (models.length === 0) say('No models yet: copy an SD1.5 .safetensors checkpoint into the models folder (or start with --demo).');
    await restoreHistory();
  } catch (err) {
    $('token-form').hidden = false;
    $('status').textContent = 'not connected';
    say(err instanceof KirieApiError && err.status === 401 ? 'The token is missing or wrong: paste the output of `kirie token`.' : describe(err));
  }
}

function fillSelect(select: HTMLSelectElement, options: [string, string][]): void {
  select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
}

/**
 * One weight slider per LoRA (0 = off). Names, trigger words and metadata come from the files' headers:
 * untrusted text, so only ever set as text content.
 */
function fillLoras(loras: AdapterInfo[]): void {
  $('loras').hidden = loras.length === 0;
  const weightSlider = (label: string): [HTMLInputElement, HTMLOutputElement] => {
    const slider = Object.assign(document.createElement('input'), { type: 'range', min: '-1', max: '2', step: '0.05', value: '0' });
    slider.setAttribute('aria-label', label);
    const value = document.createElement('output');
    value.textContent = '0';
    slider.addEventListener('input', () => (value.textContent = slider.value));
    return [slider, value];
  };
  $('lora-list').replaceChildren(
    ...loras.map((lora) => {
      const [slider, value] = weightSlider(`${lora.name} weight`);
      slider.dataset.lora = lora.name;
      // A1111's `<lora:name:te:unet>`: the text-encoder weight follows the weight until it is moved itself.
      const [text, textValue] = weightSlider(`${lora.name} text-encoder weight`);
      text.dataset.loraText = lora.name;
      let linked = true;
      text.addEventListener('input', () => (linked = text.value === slider.value));
      slider.addEventListener('input', () => {
        if (!linked) return;
        text.value = slider.value;
        textValue.textContent = text.value;
      });
      const name = document.createElement('span');
      name.textContent = lora.name;
      name.title = lora.triggerWords.length > 0 ? `trigger words: ${lora.triggerWords.join(', ')}` : lora.family;
      const row = document.createElement('div');
      row.className = 'row';
      row.append(name, slider, value, text, textValue);
      return row;
    }),
  );
}

/** LoRAs with a weight other than 0, as the request's `loras`. */
function chosenLoras(): NonNullable<GenerateRequestInput['loras']> {
  return Array.from($('lora-list').querySelectorAll<HTMLInputElement>('input[data-lora]')).flatMap((s) => {
    const name = s.dataset.lora!;
    const weight = Number(s.value);
    const text = Number($('lora-list').querySelector<HTMLInputElement>(`input[data-lora-text="${CSS.escape(name)}"]`)!.value);
    if (weight === 0 && text === 0) return [];
    return [{ name, weight, ...(text !== weight ? { textEncoderWeight: text } : {}) }];
  });
}

/** A button per embedding adds its name to the prompt, a second one to the negative prompt (names set as text). */
function fillEmbeddings(embeddings: AdapterInfo[]): void {
  $('embeddings').hidden = embeddings.length === 0;
  const add = (id: string, name: string) => {
    const field = $<HTMLTextAreaElement>(id);
    field.value = withPromptWord(field.value, name);
  };
  $('embedding-list').replaceChildren(
    ...embeddings.map((e) => {
      const toPrompt = Object.assign(document.createElement('button'), { type: 'button', textContent: e.name, title: `add ${e.name} to the prompt` });
      toPrompt.addEventListener('click', () => add('prompt', e.name));
      const toNegative = Object.assign(document.createElement('button'), { type: 'button', textContent: '−', title: `add ${e.name} to the negative prompt` });
      toNegative.addEventListener('click', () => add('negative', e.name));
      const row = document.createElement('span');
      row.append(toPrompt, toNegative);
      return row;
    }),
  );
}

/** The picked style's settings for the picked model's family; its size only while no picture sets the size. */
function applyStyleSettings(): void {
  const style = styles.find((s) => s.id === $<HTMLSelectElement>('style').value);
  if (!style) return;
  const settings = styleSettings(style, pickedModel()?.family);
  input('steps').value = String(settings.steps);
  input('guidance').value = String(settings.guidance);
  input('strength').value = String(settings.strength);
  $<HTMLTextAreaElement>('negative').value = style.negativePrompt;
  if (!stage.hasImage) {
    input('width').value = String(settings.width);
    input('height').value = String(settings.height);
    input('width').dispatchEvent(new Event('change'));
  }
}

async function buildRequest(): Promise<GenerateRequestInput> {
  const c = client!;
  const width = Number(input('width').value);
  const height = Number(input('height').value);
  const style = styles.find((s) => s.id === $<HTMLSelectElement>('style').value);
  const typed = $<HTMLTextAreaElement>('prompt').value;
  const request: GenerateRequestInput = {
    model: $<HTMLSelectElement>('model').value || 'default',
    prompt: style ? applyStyle(style, typed).prompt : typed,
    // Typed prompts read as A1111 does ((word:1.2), [word], BREAK, [a:b:when], long prompts).
    promptSyntax: 'a1111',
    negativePrompt: $<HTMLTextAreaElement>('negative').value,
    width,
    height,
    steps: Number(input('steps').value),
    guidance: Number(input('guidance').value),
    seed: Number(input('seed').value),
    ...(style ? { scheduler: styleSettings(style, pickedModel()?.family).scheduler } : {}),
  };
  // A LoRA style brings its LoRA; the sliders add theirs.
  const loras = [...(style?.loras ?? []), ...chosenLoras()];
  if (loras.length > 0) request.loras = loras;
  if (stage.hasImage) {
    request.initImage = (await c.uploadImage(await stage.imagePng())).id;
    request.strength = Number(input('strength').value);
    if (stage.hasMask) request.mask = (await c.uploadImage(await stage.maskPng())).id;
  }
  if (input('fast').checked && !input('fast').disabled) request.acceleration = fastAcceleration();
  const control = await controlUnit(c);
  if (control) request.control = [control];
  return request;
}

/** Fast is switched off, saying why, for the model or ControlNet the bridge would refuse DeepCache with. */
function showFastAvailability(): void {
  const why = fastUnavailable({ control: $<HTMLSelectElement>('control-model').value !== '', ...(pickedModel() ? { modelKind: pickedModel()!.kind } : {}) });
  input('fast').disabled = why !== undefined;
  input('fast').parentElement!.title = why ?? '';
}

/** The Control section as one unit, or none while its ControlNet is off. */
async function controlUnit(c: KirieClient): Promise<ControlUnitInput | undefined> {
  const model = $<HTMLSelectElement>('control-model').value;
  if (!model) return undefined;
  const source = $<HTMLSelectElement>('control-source').value as ControlSource;
  const scale = Number(input('control-scale').value);
  if (source === 'mannequin') {
    const editor = openMannequin();
    return { model, pose: editor.poseJson(), mannequin: editor.scene, scale };
  }
  const file = input('control-file').files?.[0];
  if (!file) throw new Error(`Choose ${source === 'pose' ? 'a pose JSON file' : 'an image'} for the ControlNet, or turn it off.`);
  if (source === 'pose') {
    try {
      return { model, pose: JSON.parse(await file.text()), scale };
    } catch {
      throw new Error(`${file.name} is not JSON: choose an OpenPose pose file.`);
    }
  }
  const png = await fileAsPng(file).catch(() => {
    throw new Error(`${file.name} is not an image the browser can read.`);
  });
  return { model, image: (await c.uploadImage(png)).id, preprocessor: { type: source }, scale };
}

function showProgress(event: Extract<JobEvent, { type: 'progress' }>): void {
  const bar = $<HTMLProgressElement>('progress');
  if (event.phase !== 'decoding') bar.value = event.total > 0 ? event.step / event.total : 0;
  $('progress-text').textContent = event.phase === 'loading' ? `loading model ${event.step}%` : event.phase === 'decoding' ? 'decoding' : `step ${event.step} / ${event.total}`;
  if (event.preview) {
    const img = $<HTMLImageElement>('preview');
    img.src = `data:image/png;base64,${event.preview}`;
    img.hidden = false;
  }
}

async function addResult(imageId: string, recipe: Recipe): Promise<void> {
  const bytes = await client!.image(imageId);
  const url = URL.createObjectURL(new Blob([bytes.slice()], { type: 'image/png' }));
  const item = document.createElement('li');
  item.className = 'result';
  const img = document.createElement('img');
  img.src = url;
  img.alt = recipe.request.prompt;
  img.dataset.imageId = imageId;
  const use = document.createElement('button');
  use.type = 'button';
  use.textContent = 'Use as image';
  use.addEventListener('click', () => stage.setImage(img));
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  const controls = recipe.request.control.map((u) => ` · ControlNet ${u.model}`).join('');
  summary.textContent = `seed ${recipe.request.seed} · ${recipe.request.steps} steps${controls} · ${recipe.durationMs} ms`;
  const pre = document.createElement('pre');
  pre.className = 'recipe';
  pre.textContent = JSON.stringify(recipe, null, 2);
  details.append(summary, pre);
  item.append(img, use);
  const posed = recipe.request.control.find((u) => u.mannequin);
  if (posed?.mannequin) {
    const repose = document.createElement('button');
    repose.type = 'button';
    repose.textContent = 'Re-pose';
    repose.title = 'Opens the 3-D mannequin as it was for this result, with its prompt, size and seed';
    repose.addEventListener('click', () => repose3d(recipe, posed.model, posed.mannequin!));
    item.append(repose);
  }
  item.append(details);
  $('history').prepend(item);
}

function remember(jobId: string): void {
  const ids = [jobId, ...savedJobs().filter((id) => id !== jobId)].slice(0, HISTORY_SIZE);
  localStorage.setItem(HISTORY_KEY, JSON.stringify(ids));
}

function savedJobs(): string[] {
  try {
    const ids: unknown = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]');
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

/** Results live on the bridge: a reloaded page shows them again from the job ids it remembers. */
async function restoreHistory(): Promise<void> {
  for (const jobId of savedJobs().reverse()) {
    const job = await client!.job(jobId).catch(() => null);
    if (job?.status === 'done' && job.recipe) for (const id of job.images ?? []) await addResult(id, job.recipe);
  }
}

async function generate(): Promise<void> {
  if (!client) return;
  say('');
  $<HTMLButtonElement>('generate').disabled = true;
  try {
    stage.resize(Number(input('width').value), Number(input('height').value));
    const request = await buildRequest();
    for await (const event of client.generate(request)) {
      if (event.type === 'queued') {
        currentJob = event.jobId;
        $<HTMLButtonElement>('cancel').disabled = false;
        $('progress-text').textContent = event.position > 0 ? `queued behind ${event.position}` : 'starting';
      } else if (event.type === 'progress') showProgress(event);
      else if (event.type === 'done') {
        for (const id of event.images) await addResult(id, event.recipe);
        remember(event.jobId);
        $('progress-text').textContent = 'done';
      } else if (event.type === 'error') say(event.message);
      else if (event.type === 'cancelled') $('progress-text').textContent = 'cancelled';
    }
  } catch (err) {
    say(describe(err));
  } finally {
    currentJob = null;
    $<HTMLButtonElement>('generate').disabled = false;
    $<HTMLButtonElement>('cancel').disabled = true;
  }
}

/** The mannequin editor, made on first use, sized to the form's width and height. */
function openMannequin(): MannequinEditor {
  const [width, height] = [Number(input('width').value), Number(input('height').value)];
  mannequin ??= new MannequinEditor($('mannequin'), { width, height, viewWidth: 420 });
  mannequin.setSize(width, height);
  $('mannequin').hidden = false;
  return mannequin;
}

/** The mannequin's pose as an OpenPose JSON file (the Photoshop panel cannot show the 3-D editor: it takes this file). */
function saveMannequinPose(): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(openMannequin().poseJson())], { type: 'application/json' }));
  Object.assign(document.createElement('a'), { href: url, download: 'kirie-pose.json' }).click();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** Which inputs the Control section shows for its source. */
function showControlSource(): void {
  const source = $<HTMLSelectElement>('control-source').value as ControlSource;
  $('control-file-label').hidden = source === 'mannequin';
  if (source === 'mannequin') openMannequin();
  else $('mannequin').hidden = true;
}

/** A result made with the mannequin, back in the form: its scene in the editor, its settings in the fields. */
function repose3d(recipe: Recipe, controlModel: string, scene: MannequinScene): void {
  const r = recipe.request;
  $<HTMLTextAreaElement>('prompt').value = r.prompt;
  $<HTMLTextAreaElement>('negative').value = r.negativePrompt;
  for (const [id, value] of [['width', r.width], ['height', r.height], ['steps', r.steps], ['guidance', r.guidance], ['seed', r.seed]] as const) input(id).value = String(value);
  $<HTMLSelectElement>('style').value = '';
  $<HTMLSelectElement>('control-model').value = controlModel;
  $<HTMLSelectElement>('control-source').value = 'mannequin';
  stage.resize(r.width, r.height);
  showControlSource();
  showFastAvailability();
  openMannequin().setScene(scene);
  $('mannequin').scrollIntoView();
}

async function loadPicture(blob: Blob): Promise<void> {
  try {
    const bitmap = await createImageBitmap(blob);
    stage.resize(Number(input('width').value), Number(input('height').value));
    stage.setImage(bitmap);
  } catch {
    say('That file is not an image the browser can read.');
  }
}

$('generate-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void generate();
});
$('cancel').addEventListener('click', () => {
  if (currentJob) client?.cancel(currentJob).catch((err: unknown) => say(describe(err)));
});
$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void connect(input('token').value.trim());
});
$('style').addEventListener('change', applyStyleSettings);
input('open').addEventListener('change', () => {
  const file = input('open').files?.[0];
  if (file) void loadPicture(file);
});
$('control-source').addEventListener('change', () => {
  // A pose file is not an image and vice versa: the pick starts over.
  input('control-file').value = '';
  input('control-file').accept = $<HTMLSelectElement>('control-source').value === 'pose' ? '.json,application/json' : 'image/*';
  showControlSource();
});
input('control-scale').addEventListener('input', () => ($('control-scale-value').textContent = input('control-scale').value));
$('mannequin-save').addEventListener('click', saveMannequinPose);
$('clear-image').addEventListener('click', () => stage.clearImage());
$('clear-mask').addEventListener('click', () => stage.clearMask());
input('brush').addEventListener('input', () => (stage.brush = Number(input('brush').value)));
input('erase').addEventListener('change', () => (stage.erase = input('erase').checked));
for (const id of ['width', 'height']) {
  input(id).addEventListener('change', () => {
    stage.resize(Number(input('width').value), Number(input('height').value));
    mannequin?.setSize(Number(input('width').value), Number(input('height').value));
  });
}
$('model').addEventListener('change', fitSizeToModel);
for (const id of ['model', 'control-model']) $(id).addEventListener('change', showFastAvailability);
input('fast').checked = localStorage.getItem(FAST_KEY) === 'true';
input('fast').addEventListener('change', () => localStorage.setItem(FAST_KEY, String(input('fast').checked)));
document.addEventListener('paste', (e) => {
  const item = Array.from(e.clipboardData?.items ?? []).find((i) => i.type.startsWith('image/'));
  const file = item?.getAsFile();
  if (file) void loadPicture(file);
});

const fromUrl = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromUrl) history.replaceState(null, '', location.pathname);
const token = fromUrl ?? localStorage.getItem(TOKEN_KEY);
if (token) void connect(token);
else {
  $('token-form').hidden = false;
  $('status').textContent = 'not connected';
}
