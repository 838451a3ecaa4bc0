import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng } from '@kirie/core/image/png';
import { parsePoseJson } from '@kirie/core/control/openpose';
import { registerControlCommand } from '../../src/commands/control.js';

const golden = join(import.meta.dirname, '../../../tests/golden/controlnet');
const fixtures = join(import.meta.dirname, 'fixtures');
const out = mkdtempSync(join(tmpdir(), 'kirie-control-cli-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function kirie(...args: string[]): Promise<void> {
  const program = new Command('kirie').exitOverride();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerControlCommand(program);
  await program.parseAsync(['control', ...args], { from: 'user' });
}

const png = (path: string) => decodePng(readFileSync(path));

describe('kirie control', () => {
  it('canny writes cv2.Canny edges (default thresholds 100/200)', async () => {
    await kirie('canny', join(golden, 'images/dog.png'), '--out', join(out, 'dog.png'));
    expect(png(join(out, 'dog.png')).data).toEqual(png(join(golden, 'canny/dog_100_200.png')).data);
  });

  it('canny honours --low/--high and --invert', async () => {
    await kirie('canny', join(golden, 'images/bird.png'), '--low', '50', '--high', '150', '--invert', '--out', join(out, 'bird.png'));
    const expected = png(join(golden, 'canny/bird_50_150.png')).data.map((v) => 255 - v);
    expect(png(join(out, 'bird.png')).data).toEqual(expected);
  });

  it('render draws a pose JSON exactly like the annotator', async () => {
    await kirie('render', join(golden, 'openpose/pose_two_people.json'), '--out', join(out, 'two.png'));
    expect(png(join(out, 'two.png')).data).toEqual(png(join(golden, 'openpose/pose_two_people.png')).data);
  });

  it('render takes the canvas size from options when the JSON has none', async () => {
    const json = JSON.parse(readFileSync(join(golden, 'openpose/pose_single.json'), 'utf8')) as Record<string, unknown>;
    delete json.canvas_width;
    delete json.canvas_height;
    writeFileSync(join(out, 'nosize.json'), JSON.stringify(json));
    await kirie('render', join(out, 'nosize.json'), '--width', '512', '--height', '512', '--out', join(out, 'nosize.png'));
    expect(png(join(out, 'nosize.png')).data).toEqual(png(join(golden, 'openpose/pose_single.png')).data);
  });

  it('pose detects the person in a photo and writes the control image and JSON', async () => {
    await kirie('pose', join(fixtures, 'astronaut.png'), '--json', join(out, 'astro.json'), '--out', join(out, 'astro.png'));
    const doc = parsePoseJson(JSON.parse(readFileSync(join(out, 'astro.json'), 'utf8')));
    expect([doc.width, doc.height, doc.people.length]).toEqual([512, 512, 1]);
    const image = png(join(out, 'astro.png'));
    expect([image.width, image.height, image.channels]).toEqual([512, 512, 3]);
    expect(image.data.some((v) => v > 0)).toBe(true);
  });

  it.each([
    [['canny', 'missing.png', '--out', 'x.png'], /image missing\.png: no such file/],
    [['canny', join(golden, 'images/dog.png'), '--low', 'ten', '--out', 'x.png'], /--low must be an integer/],
    [['render', join(golden, 'cases.json'), '--out', 'x.png'], /cases\.json: pose JSON: people/],
    [['render', join(golden, 'openpose/pose_single.json'), '--coordinates', 'inches', '--out', 'x.png'], /--coordinates must be "pixel" or "normalized"/],
  ])('fails clearly: %j', async (args, message) => {
    await expect(kirie(...args)).rejects.toThrow(message);
  });
});
