// `kirie serve --demo` as a user starts it: the bundled CLI in its own process writes the demo model and
// the token (0600, shown by `kirie token`), prints the playground URL, serves, and stops cleanly on SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { bundlePlayground, bundleWorker, externalNpm, ROOT } from './bridge-harness.js';

it('starts with the demo model, prints where things are, and stops on SIGTERM', async () => {
  await mkdir(join(ROOT, 'bridge/dist'), { recursive: true });
  const dist = await mkdtemp(join(ROOT, 'bridge/dist/e2e-cli-'));
  const home = await mkdtemp(join(tmpdir(), 'kirie-cli-'));
  try {
    await build({ entryPoints: [join(ROOT, 'bridge/src/cli.ts')], outfile: join(dist, 'kirie.mjs'), bundle: true, platform: 'node', format: 'esm', target: 'node20', plugins: [externalNpm], logLevel: 'error' });
    await bundleWorker(dist);
    await bundlePlayground(join(dist, 'playground'));
    const child = spawn(process.execPath, [join(dist, 'kirie.mjs'), 'serve', '--demo', '--port', '0', '--home', home, '--device', 'cpu'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!/playground\s+(http\S+)/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`kirie serve did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const playground = /playground\s+(http\S+)/.exec(out)![1]!;
    const token = /#token=([0-9a-f]{64})/.exec(playground)![1]!;
    expect(out).toContain('writing the demo model');
    expect(out).toMatch(/add a real model: copy an SD1\.5 \.safetensors checkpoint/);
    expect((await stat(join(home, 'token'))).mode & 0o777).toBe(0o600);
    const shown = spawnSync(process.execPath, [join(dist, 'kirie.mjs'), 'token', '--home', home], { encoding: 'utf8' });
    expect(shown.stdout.trim()).toBe(token);
    const none = spawnSync(process.execPath, [join(dist, 'kirie.mjs'), 'token', '--home', join(home, 'nowhere')], { encoding: 'utf8' });
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/no token at .* yet: run `kirie serve` once/);
    const base = playground.split('/#')[0]!;
    expect(((await (await fetch(`${base}/v1/health`, { headers: { authorization: `Bearer ${token}` } })).json()) as { device: string }).device).toBe('cpu');
    const models = (await (await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).json()) as { models: { id: string; note?: string }[] };
    expect(models.models).toEqual([expect.objectContaining({ id: 'kirie-demo-tiny-random.safetensors', note: expect.stringMatching(/not art/) })]);
    expect(await (await fetch(`${base}/`)).text()).toContain('Kirie playground');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    await rm(dist, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  }
});
