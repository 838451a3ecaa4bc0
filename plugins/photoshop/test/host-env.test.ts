// The built Photoshop panel (plugins/photoshop/dist) in a bare realm with only UXP's documented globals
// (uxp-realm.ts), UXP-shaped `photoshop` and `uxp` modules (fake-photoshop.ts, fake-uxp.ts), the panel's
// own index.html as its DOM (uxp-dom.ts), and a real bridge in this process: every flow to its end.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bounds } from '@kirie/core/image/bounds';
import { encodePng } from '@kirie/core/image/png';
import { ROOT } from '../../../tests/e2e/bridge-harness.js';
import { GENERATED_RGB, type PluginBridge, startPluginBridge } from '../../shared/test/bridge.js';
import { type FakeDocument, FakePhotoshop } from './fake-photoshop.js';
import { fakeUxp } from './fake-uxp.js';
import { ellipseSelection } from './scenes.js';
import { parsePanel, type UxpElement } from './uxp-dom.js';
import { createUxpRealm, NOT_IN_UXP, UXP_DOCUMENTED } from './uxp-realm.js';

let env: PluginBridge;
let out: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'kirie-uxp-'));
  execFileSync(process.execPath, ['-e', `import('./plugins/build.mjs').then((m) => m.buildPlugins(${JSON.stringify(out)}))`], { cwd: ROOT, stdio: 'inherit' });
  env = await startPluginBridge({ openpose: true, portInRange: true });
});
afterAll(async () => {
  await env?.dispose();
  rmSync(out, { recursive: true, force: true });
});
beforeEach(() => {
  env.runner.fail = null;
  env.runner.onStep = null;
  env.runner.stepMs = 1;
});

const POSE = { canvas_width: 100, canvas_height: 200, people: [{ pose_keypoints_2d: [50, 20, 1, 50, 40, 1, ...new Array(48).fill(0)] }] };
const PHOTO = encodePng({ width: 30, height: 60, channels: 3, data: new Uint8Array(30 * 60 * 3).fill(255) });

/** Photoshop with one open document, the UXP modules, the panel loaded in its realm. */
function openPanel(setupDoc: (ps: FakePhotoshop) => FakeDocument = defaultDocument) {
  const ps = new FakePhotoshop();
  const doc = setupDoc(ps);
  const uxp = fakeUxp([
    { name: 'dancer.json', text: JSON.stringify(POSE) },
    { name: 'dancer.png', bytes: PHOTO },
  ]);
  const dom = parsePanel(readFileSync(join(out, 'photoshop/dist/index.html'), 'utf8'));
  const realm = createUxpRealm({ document: dom, modules: { photoshop: ps.module(), uxp: uxp.module } });
  for (const src of dom.scripts) realm.run(readFileSync(join(out, 'photoshop/dist', src), 'utf8'), src);
  const el = (id: string): UxpElement => dom.getElementById(id) ?? failNoElement(id);
  return { ps, doc, uxp, dom, realm, el };
}

function defaultDocument(ps: FakePhotoshop): FakeDocument {
  const doc = ps.openDocument('poster.psd', 241, 187);
  doc.addLayer('Background', bounds(0, 0, 241, 187), () => [90, 120, 150, 255], 'background');
  ellipseSelection(doc, 130, 95, 30, 25);
  return doc;
}

function failNoElement(id: string): never {
  throw new Error(`index.html has no #${id}`);
}

async function until(what: string, done: () => boolean, ms = 15000): Promise<void> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Clicks `button` and waits for the run to end; returns the status line. */
async function press(panel: ReturnType<typeof openPanel>, button: string, ms?: number): Promise<string> {
  const status = panel.el('status');
  status.textContent = '';
  panel.el(button).click();
  await until(`${button} to finish`, () => !panel.el('generate').disabled && status.textContent !== '', ms);
  return status.textContent;
}

async function connect(panel: ReturnType<typeof openPanel>, token = env.bridge.token): Promise<void> {
  await until('saved settings to load', () => panel.el('token-state').textContent !== '');
  panel.el('bridge-url').type(env.bridge.url);
  panel.el('bridge-token').type(token);
  panel.el('save-settings').click();
  await until('settings to save', () => /^saved/.test(panel.el('status').textContent));
}

describe('the realm is UXP, not Node or a browser', () => {
  it('has only documented globals; none of the usual extras', () => {
    const realm = createUxpRealm({ document: parsePanel('<body></body>'), modules: {} });
    const extras = realm.hostGlobals().filter((n) => !(n in UXP_DOCUMENTED));
    expect(extras).toEqual([]);
    for (const name of NOT_IN_UXP) expect(realm.hostGlobals()).not.toContain(name);
  });

  it('the bundle without the injected text codec dies at load for want of TextDecoder (the bug this guards)', async () => {
    const bare = await build({ entryPoints: [join(ROOT, 'plugins/photoshop/src/panel.ts')], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2020', external: ['photoshop', 'uxp'], logLevel: 'error' });
    const dom = parsePanel(readFileSync(join(out, 'photoshop/dist/index.html'), 'utf8'));
    const realm = createUxpRealm({ document: dom, modules: { photoshop: new FakePhotoshop().module(), uxp: fakeUxp().module } });
    expect(() => realm.run(bare.outputFiles[0]!.text, 'panel.js')).toThrow(/Text(De|En)coder is not defined/);
  });

  it('the panel uses no password field (UXP cannot read them on macOS) and keeps the token in secureStorage', async () => {
    const panel = openPanel();
    expect(panel.dom.body.descendants().filter((e) => e.getAttribute('type') === 'password')).toEqual([]);
    await connect(panel);
    expect(new TextDecoder().decode(await panel.uxp.secureStorage.getItem('kirie.token'))).toBe(env.bridge.token);
    expect(panel.el('bridge-token').value).toBe('');
    expect(panel.el('token-state').textContent).toContain(`…${env.bridge.token.slice(-4)}`);
    const ls = panel.realm.context as { localStorage: { getItem(k: string): string | null } };
    expect(ls.localStorage.getItem('kirie.token')).toBeNull();
    expect(ls.localStorage.getItem('kirie.url')).toBe(env.bridge.url);
  });
});

describe('every flow, from the panel to a new layer', () => {
  it('fill selection with a style', async () => {
    const panel = openPanel();
    await connect(panel);
    panel.el('prompt').type('a fish');
    panel.el('style').choose(1 + 2); // the third preset
    panel.el('steps').type('3');
    const status = await press(panel, 'generate');
    expect(status).toMatch(/^added "Kirie · .* · seed \d+"$/);
    expect(panel.doc.layersState).toHaveLength(2);
    expect(panel.doc.history).toHaveLength(2);
    expect(panel.el('preview').src).toMatch(/^data:image\/png;base64,/);
    expect(panel.ps.live.size).toBe(0);
  });

  it('restyle a layer inside a group, with strength from the slider', async () => {
    const panel = openPanel((ps) => {
      const doc = defaultDocument(ps);
      doc.selection = null;
      const group = doc.addGroup('Art');
      doc.addLayer('Logo', bounds(40, 30, 90, 70), () => [10, 10, 10, 255], 'pixel', group);
      return doc;
    });
    await connect(panel);
    panel.el('mode').choose(1);
    panel.el('prompt').type('gold foil');
    panel.el('strength-auto').toggle(false);
    panel.el('strength').value = '45';
    expect(await press(panel, 'generate')).toMatch(/^added "Kirie · gold foil · seed \d+"$/);
    expect(env.runner.jobs.at(-1)!.input.request.strength).toBe(0.45);
    const placed = panel.doc.layersState.at(-1)!;
    expect(placed.parentId).toBe(panel.doc.layersState.find((l) => l.name === 'Art')!.id);
  });

  it('pose fill from a pose JSON picked through UXP storage', async () => {
    const panel = openPanel();
    await connect(panel);
    panel.el('mode').choose(2);
    expect(panel.el('pose-row').style.display).toBe('flex');
    panel.el('prompt').type('a dancer');
    expect(await press(panel, 'generate')).toMatch(/pick a pose JSON file first/);
    panel.el('pick-pose').click();
    await until('the pose to load', () => panel.el('pose-name').textContent === 'dancer.json');
    expect(await press(panel, 'generate')).toMatch(/^added "Kirie · a dancer/);
    expect(env.runner.jobs.at(-1)!.input.request.control[0]).toMatchObject({ model: 'control_v11p_sd15_openpose.safetensors' });
  });

  it('pose fill from a reference photo decoded in the realm (fast-png, no TextDecoder global)', async () => {
    const panel = openPanel();
    await connect(panel);
    panel.el('mode').choose(3);
    panel.el('pick-photo').click();
    await until('the photo to load', () => panel.el('photo-name').textContent === 'dancer.png');
    panel.el('prompt').type('a skater');
    expect(await press(panel, 'generate')).toMatch(/^added "Kirie · a skater/);
    expect(env.runner.jobs.at(-1)!.input.request.control[0]).toMatchObject({ preprocessor: { type: 'openpose', full: false } });
  });

  it('Remake and Variations on the selected result layer', async () => {
    const panel = openPanel();
    await connect(panel);
    panel.el('prompt').type('a kite');
    panel.el('seed').type('77');
    await press(panel, 'generate');
    const first = panel.doc.layersState.at(-1)!;
    panel.doc.selection = null;
    panel.doc.activeId = first.id;
    expect(await press(panel, 'remake')).toBe(`added "Kirie · a kite · seed 77"`);
    panel.doc.activeId = first.id;
    expect(await press(panel, 'variation')).toMatch(/^added "Kirie · a kite · seed \d+"$/);
    expect(env.runner.jobs.at(-1)!.input.request.seed).not.toBe(77);
  });

  it('cancel: the job stops on the bridge and the document is unchanged', async () => {
    const panel = openPanel();
    await connect(panel);
    panel.el('prompt').type('x');
    env.runner.stepMs = 80;
    env.runner.onStep = () => panel.el('cancel').click();
    expect(await press(panel, 'generate')).toBe('cancelled: the document is unchanged');
    expect(panel.doc.history).toEqual(['Open']);
  });

  it('Photoshop busy when the result arrives: "Place result" places it later', async () => {
    const panel = openPanel();
    await connect(panel);
    panel.el('prompt').type('x');
    env.runner.onStep = () => {
      panel.ps.otherPluginModal = true;
    };
    // The panel keeps trying for about 15 s (flows.ts PLACE_RETRY_MS) before handing the result over.
    expect(await press(panel, 'generate', 30000)).toMatch(/Photoshop is busy .*Place result/);
    expect(panel.el('place').style.display).not.toBe('none');
    panel.ps.otherPluginModal = false;
    expect(await press(panel, 'place')).toMatch(/^added "Kirie · x · seed \d+"$/);
    expect(panel.el('place').style.display).toBe('none');
    expect(panel.doc.history).toHaveLength(2);
  }, 45000);
});

describe('connection help', () => {
  it('no bridge at the URL: says to start it', async () => {
    // A port of the manifest's range that nothing listens on any more.
    const gone = await startPluginBridge({ portInRange: true });
    const url = gone.bridge.url;
    await gone.dispose();
    const panel = openPanel();
    await until('settings', () => panel.el('token-state').textContent !== '');
    panel.el('bridge-url').type(url);
    panel.el('bridge-token').type('whatever');
    panel.el('prompt').type('x');
    const status = await press(panel, 'generate');
    expect(status).toContain(`not running at ${url}`);
    expect(status).toContain('`npm start` (or `npx kirie serve`)');
  });

  it('a wrong token: says to paste `npx kirie token`', async () => {
    const panel = openPanel();
    await connect(panel, 'not-the-token');
    panel.el('prompt').type('x');
    const status = await press(panel, 'generate');
    expect(status).toContain('refused the token');
    expect(status).toContain('`npx kirie token`');
    panel.el('test-connection').click();
    await until('the test to answer', () => /refused the token/.test(panel.el('status').textContent));
  });

  it('Test connection with the right token names the bridge', async () => {
    const panel = openPanel();
    await connect(panel);
    panel.el('test-connection').click();
    await until('the test to answer', () => /^connected to Kirie/.test(panel.el('status').textContent));
  });

  it('a Photoshop without the release Imaging API: says which version is needed', async () => {
    const panel = openPanel((ps) => {
      ps.imagingApi = 'beta';
      return defaultDocument(ps);
    });
    await connect(panel);
    panel.el('prompt').type('x');
    expect(await press(panel, 'generate')).toMatch(/too old for Kirie.*Photoshop 25\.0 or later/);
  });
});

/** The realm's pixels are the fake's; a sanity check that the flows drew what the bridge made. */
it('the placed pixels are the bridge\'s', async () => {
  const panel = openPanel();
  await connect(panel);
  panel.el('prompt').type('x');
  panel.el('color-match').toggle(false);
  await press(panel, 'generate');
  const c = panel.doc.composite();
  const i = (95 * 241 + 130) * 4;
  expect([...c.subarray(i, i + 3)]).toEqual(GENERATED_RGB);
});

