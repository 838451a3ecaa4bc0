// The built main-thread bundle (plugins/figma/dist/code.js) in a bare JavaScript realm with exactly the
// globals Figma's sandbox documents, driven through its message interface by the real UI flow against a
// real bridge. Figma runs plugin code "in a sandbox ... a minimal JavaScript environment [that] does not
// expose browser APIs": the ECMAScript built-ins plus what @figma/plugin-typings (index.d.ts) declares —
// figma, __html__, __uiFiles__, console (log, error, assert, info, warn, clear), setTimeout, clearTimeout,
// setInterval, clearInterval and Figma's own fetch. No TextEncoder/TextDecoder, URL, structuredClone,
// queueMicrotask, atob/btoa, DOM. (developers.figma.com/docs/plugins/how-plugins-run)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../../tests/e2e/bridge-harness.js';
import { GENERATED_RGB, type PluginBridge, startPluginBridge } from '../../shared/test/bridge.js';
import { remake, restyleFrame } from '../src/flow.js';
import type { MainToUi, UiToMain } from '../src/messages.js';
import { parseRecipe } from '../src/recipe.js';
import { createMainRpc, type MainRpc } from '../src/rpc.js';
import { FakeFigma, FakeRectangle, solid } from './fake-figma.js';

const DOCUMENTED = ['figma', '__html__', '__uiFiles__', 'console', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'fetch'];

let out: string;
let code: string;
let html: string;
let env: PluginBridge;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'kirie-figma-env-'));
  execFileSync(process.execPath, ['-e', `import('./plugins/build.mjs').then((m) => m.buildPlugins(${JSON.stringify(out)}))`], { cwd: ROOT, stdio: 'inherit' });
  code = readFileSync(join(out, 'figma/dist/code.js'), 'utf8');
  html = readFileSync(join(out, 'figma/dist/ui.html'), 'utf8');
  env = await startPluginBridge();
}, 120_000);

afterAll(async () => {
  await env?.dispose();
  rmSync(out, { recursive: true, force: true });
});

interface Sandbox {
  realm: vm.Context;
  networkCalls: string[];
  logged: unknown[][];
  /** The UI side, talking to the bundle only through figma.ui messages. */
  rpc: MainRpc;
  selections: MainToUi[];
}

/** Runs code.js the way Figma does: one realm, the documented globals, messages in and out as copies. */
function sandbox(figma: FakeFigma): Sandbox {
  const networkCalls: string[] = [];
  const logged: unknown[][] = [];
  const log = (...args: unknown[]) => void logged.push(args);
  const realm = vm.createContext({
    figma: figma.api(),
    __html__: html,
    __uiFiles__: {},
    console: { log, error: log, assert: () => {}, info: log, warn: log, clear: () => {} },
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    fetch: async (url: string) => {
      networkCalls.push(url);
      throw new Error('the main thread is not meant to use the network');
    },
  });
  // Messages arrive in the sandbox as its own objects (Figma structured-clones them into it).
  const intoRealm = vm.runInContext(
    '(function copy(v) { if (ArrayBuffer.isView(v)) return new Uint8Array(v); if (Array.isArray(v)) return v.map(copy); if (v && typeof v === "object") { const o = {}; for (const k of Object.keys(v)) o[k] = copy(v[k]); return o; } return v; })',
    realm,
  ) as (v: unknown) => unknown;
  const selections: MainToUi[] = [];
  const rpc = createMainRpc((m: UiToMain) => setTimeout(() => figma.uiOnMessage!(intoRealm(m))));
  figma.toUi = (m) =>
    setTimeout(() => {
      const message = m as MainToUi;
      if (!rpc.receive(message) && message.type === 'selection') selections.push(message);
    });
  vm.runInContext(code, realm, { filename: 'code.js' });
  return { realm, networkCalls, logged, rpc, selections };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('Figma main thread bundle in a bare sandbox realm', () => {
  it('the realm has exactly the documented globals, and the bundle needs no others', () => {
    const figma = new FakeFigma();
    const { realm } = sandbox(figma);
    const own = vm.runInContext('Object.getOwnPropertyNames(globalThis)', realm) as string[];
    const fresh = vm.runInContext('Object.getOwnPropertyNames(globalThis)', vm.createContext({})) as string[];
    // V8 gives every context a console of its own; Figma's replaces it.
    expect(own.filter((n) => !fresh.includes(n)).sort()).toEqual(DOCUMENTED.filter((n) => !fresh.includes(n)).sort());
    expect(DOCUMENTED.every((n) => own.includes(n))).toBe(true);
    for (const missing of ['TextEncoder', 'TextDecoder', 'URL', 'structuredClone', 'queueMicrotask', 'atob', 'window', 'document', 'WebSocket']) {
      expect(vm.runInContext(`typeof ${missing}`, realm), missing).toBe('undefined');
    }
  });

  it('shows the UI with Figma\'s theme colours and reports the selection', async () => {
    const figma = new FakeFigma();
    figma.selection = [figma.frame('Card', 0, 0, 40, 40, solid(1, 2, 3))];
    const { selections } = sandbox(figma);
    await settle();
    expect(figma.shownUi).toEqual([{ html, options: { width: 320, height: 640, themeColors: true, title: 'Kirie' } }]);
    expect(selections.at(-1)).toEqual({ type: 'selection', frame: 'Card', hasMask: false, problem: null, recipe: null });
  });

  it('every flow to the end: style a frame, repaint under "mask", then Remake and Variations from the recipe on the result', async () => {
    const figma = new FakeFigma();
    const card = figma.frame('Card', 40, 60, 120, 90, solid(240, 200, 120));
    figma.shape('RECTANGLE', 'Sun', card, 10, 10, 30, 20, solid(250, 120, 30));
    figma.selection = [card];
    const box = sandbox(figma);

    const styled = await restyleFrame(box.rpc, env.client, { prompt: 'a fox', style: 'kirie' });
    const styledRect = figma.page.children.find((c) => c.id === styled.nodeId) as FakeRectangle;
    expect([styledRect.x, styledRect.y, styledRect.width, styledRect.height]).toEqual([40, 60, 120, 90]);

    const mask = figma.shape('ELLIPSE', 'mask', card, 60, 40, 30, 30, solid(255, 0, 255));
    const since = figma.mutations.length;
    const masked = await restyleFrame(box.rpc, env.client, { prompt: 'a moon' });
    expect(masked.mode).toBe('mask');
    expect(figma.changesTo([card], since)).toEqual([]);
    expect(mask.visible).toBe(true);

    // The user deletes the mask and selects the first result: the main thread offers its recipe to the UI.
    figma.remove(mask);
    figma.selection = [styledRect];
    for (const listener of figma.listeners.get('selectionchange') ?? []) listener();
    await settle();
    const offered = box.selections.at(-1) as Extract<MainToUi, { type: 'selection' }>;
    expect(offered.recipe).not.toBeNull();
    const recipe = parseRecipe(offered.recipe!);
    const again = await remake(box.rpc, env.client, recipe, 'remake');
    expect(again.seed).toBe(styled.seed);
    const variation = await remake(box.rpc, env.client, recipe, 'variation');
    expect(variation.seed).not.toBe(styled.seed);

    const names = figma.page.children.map((c) => c.name);
    expect(names).toEqual(['Card', variation.name, again.name, masked.name, styled.name]);
    const last = figma.page.children.find((c) => c.id === variation.nodeId)!;
    const png = figma.imageData((last.fills[0] as { imageHash: string }).imageHash);
    expect(Array.from(png.data.subarray(0, 4))).toEqual([...GENERATED_RGB, 255]);
    expect(box.networkCalls).toEqual([]);
    expect(figma.notifications.filter((n) => n.error)).toEqual([]);
  });

  it('an error in the main thread comes back to the UI as a message, the sandbox keeps running', async () => {
    const figma = new FakeFigma();
    const box = sandbox(figma);
    await expect(box.rpc.readFrame()).rejects.toThrow('select a frame first');
    await expect(box.rpc.readFrame('99:1')).rejects.toThrow(/the frame this was made from is gone/);
    figma.selection = [figma.frame('Card', 0, 0, 20, 20, solid(1, 2, 3))];
    expect((await box.rpc.readFrame()).name).toBe('Card');
  });
});
