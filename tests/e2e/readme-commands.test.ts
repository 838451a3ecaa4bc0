// Every command in README.md's ```sh blocks, run as written, in the README's order, the way a user runs
// them in a fresh clone: a README command that does not work fails CI.
// - `npx kirie …` runs in a scratch folder laid out like the clone's root: node_modules and tests/ linked
//   from this checkout (npx finds the `kirie` bin there, `tests/golden` resolves), plus the files the
//   commands name that a user brings: m.safetensors (+ m.yaml) is the tiny SD1.5 checkpoint of
//   tests/golden, photo.png a photo of a person from the bridge's test fixtures.
// - `npm …` runs in the checkout: npm runs scripts at the package root wherever it is called.
// - HOME is a new temp folder, so ~/.kirie (token, models, graph cache) starts empty as on a new machine.
// - `npm ci` and `npm test` are not run: CI ran `npm ci` to get here (.ci/run), and this test is part of
//   `npm test`.
// - Servers (`npm start`, `npx kirie serve`) are started, probed (/v1/health, the playground page, the
//   token in the URL they print) and stopped. They listen on 7860 as the README says, so that port must be free.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng } from '@kirie/core/image/png';
import { ROOT } from './bridge-harness.js';

const NOT_RUN: Record<string, string> = {
  'npm ci': 'CI installed this checkout with it before running the tests',
  'npm test': 'this test is part of it',
};
const SERVER = /^(npm start|npx kirie serve)\b/;
const BRIDGE = 'http://127.0.0.1:7860';

/** Each line of each ```sh block, without its trailing comment. */
export function readmeCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  return blocks.flatMap((block) => block.split('\n').map((line) => line.replace(/\s+#\s.*$/, '').trim()).filter(Boolean));
}

const commands = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'kirie-readme-'));
const home = join(work, '.home');
mkdirSync(home);
symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
symlinkSync(join(ROOT, 'tests'), join(work, 'tests'));
copyFileSync(join(ROOT, 'tests/golden/tiny-sd15/tiny-sd15.safetensors'), join(work, 'm.safetensors'));
copyFileSync(join(ROOT, 'tests/golden/tiny-sd15/tiny-sd15.yaml'), join(work, 'm.yaml'));
copyFileSync(join(ROOT, 'bridge/test/control/fixtures/astronaut.png'), join(work, 'photo.png'));

const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'KIRIE_HOME' && k !== 'NODE_ENV'));
Object.assign(env, { HOME: home, npm_config_update_notifier: 'false' });
const cwdOf = (command: string) => (command.startsWith('npm ') ? ROOT : work);

/** The token the first server printed in its playground URL: `npx kirie token` must print the same. */
let token: string | undefined;

async function answers(): Promise<boolean> {
  return fetch(`${BRIDGE}/v1/health`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.ok,
    () => false,
  );
}

async function serveAndProbe(command: string): Promise<void> {
  if (await answers()) throw new Error(`something already answers at ${BRIDGE}: "${command}" needs that port, stop it first`);
  // Its own process group: npm → sh → node, all stopped together.
  const child: ChildProcess = spawn('bash', ['-c', command], { cwd: cwdOf(command), env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    const deadline = Date.now() + 120_000;
    while (!/playground\s+(http\S+)/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`"${command}" did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const playground = /playground\s+(http\S+)/.exec(out)![1]!;
    expect(playground.startsWith(`${BRIDGE}/#token=`)).toBe(true);
    const printed = playground.slice(`${BRIDGE}/#token=`.length);
    token ??= printed;
    expect(printed).toBe(token);
    const health = await fetch(`${BRIDGE}/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true });
    expect(await (await fetch(`${BRIDGE}/`)).text()).toContain('Kirie playground');
    expect((await fetch(`${BRIDGE}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  } finally {
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    const deadline = Date.now() + 30_000;
    while (await answers()) {
      if (Date.now() > deadline) throw new Error(`"${command}" still answers after Ctrl+C`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function pixels(file: string): Uint8Array {
  return decodePng(readFileSync(join(work, file))).data;
}

/** What a command's output must show beyond a zero exit status and the files it names existing. */
const CHECKS: [RegExp, (stdout: string) => void][] = [
  [/^npx kirie token$/, (stdout) => expect(stdout.trim()).toBe(token)],
  [/--recipe fox\.png --out again\.png/, () => expect(pixels('again.png')).toEqual(pixels('fox.png'))],
  [/ --json pose\.json/, () => expect((JSON.parse(readFileSync(join(work, 'pose.json'), 'utf8')) as { people: unknown[] }).people.length).toBeGreaterThan(0)],
  [/^(npm run verify|npx kirie verify)\b/, (stdout) => expect(stdout).toMatch(/^[1-9]\d* passed, 0 failed/m)],
];

function runToEnd(command: string): void {
  // `npm run verify` checks all of tests/golden: minutes on a busy 2-core machine.
  const r = spawnSync('bash', ['-c', command], { cwd: cwdOf(command), env, encoding: 'utf8', timeout: 900_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`"${command}" exited with ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  for (const [, flag, file] of command.matchAll(/--(out|json) (\S+)/g)) {
    expect(existsSync(join(work, file!)), `${command}: ${file} written`).toBe(true);
    if (flag === 'out') expect(decodePng(readFileSync(join(work, file!))).width).toBeGreaterThan(0);
  }
  for (const [pattern, check] of CHECKS) if (pattern.test(command)) check(r.stdout);
}

describe('README.md commands, as written', () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('finds the commands of every section', () => {
    expect(commands).toEqual(expect.arrayContaining(['npm ci', 'npm start', 'npx kirie serve', 'npx kirie token', 'npm run verify']));
    expect(commands.filter((c) => c.startsWith('npx kirie generate'))).toHaveLength(2);
  });

  for (const command of commands) {
    if (NOT_RUN[command]) {
      it.skip(`${command} (not run: ${NOT_RUN[command]})`, () => {});
      continue;
    }
    it(command, async () => {
      if (SERVER.test(command)) await serveAndProbe(command);
      else runToEnd(command);
    }, 900_000);
  }
});
