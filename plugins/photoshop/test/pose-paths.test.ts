// Poses as Photoshop paths: "Add pose" writes one path per person (18 square markers in COCO-18 order),
// the user edits it with the path tools (modelled by the fake in canvas pixels over anchors kept in
// points), Pose fill reads it back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounds } from '@kirie/core/image/bounds';
import { BODY_KEYPOINTS, type PoseJson, toPoseJson } from '@kirie/core/control/openpose';
import { posePreset } from '@kirie/core/control/pose-presets';
import { poseFromJoints } from '@kirie/core/control/skeleton';
import { type PluginBridge, startPluginBridge } from '../../shared/test/bridge.js';
import { addPosePaths, posePathsFill } from '../src/flows.js';
import type { PhotoshopHost } from '../src/host.js';
import { MARKER_SIZE } from '../src/pose-paths.js';
import { POINT_KIND } from './fake-photoshop.js';
import { ellipseSelection, setup } from './scenes.js';

let env: PluginBridge;
beforeAll(async () => {
  env = await startPluginBridge({ openpose: true });
});
afterAll(() => env.dispose());

const STANDING = toPoseJson(posePreset('standing'));
const index = (name: string) => BODY_KEYPOINTS.indexOf(name as never);
const keypoint = (json: PoseJson, person: number, name: string) => json.people[person]!.pose_keypoints_2d.slice(3 * index(name), 3 * index(name) + 3);

async function readJson(host: PhotoshopHost, documentId: number): Promise<PoseJson> {
  const read = await host.call('readPosePaths', { documentId });
  return toPoseJson(poseFromJoints(read.people, read.width, read.height));
}

/** A 512×768 document (the presets' canvas) at 300 ppi, where points and pixels differ. */
function poster() {
  const scene = setup(512, 768);
  scene.doc.resolution = 300;
  return scene;
}

describe('Add pose as paths', () => {
  it('one path per person: 18 closed square markers of corner points in COCO-18 order, anchors in points, one history step', async () => {
    const { doc, host } = poster();
    expect(await addPosePaths(host, STANDING)).toEqual(['Kirie pose 1']);
    const [path] = doc.pathsState;
    expect(path!.name).toBe('Kirie pose 1');
    expect(path!.subpaths).toHaveLength(18);
    expect(path!.subpaths.every((sp) => sp.closed && sp.points.length === 4 && sp.points.every((p) => p.kind === POINT_KIND.CORNERPOINT))).toBe(true);
    // The neck (256, 190) px: its marker's first corner, half a marker up-left, in points at 300 ppi.
    const k = 72 / 300;
    expect(path!.subpaths[1]!.points[0]!.anchor).toEqual([(256 - MARKER_SIZE / 2) * k, (190 - MARKER_SIZE / 2) * k]);
    expect(doc.history).toEqual(['Open', 'Kirie: add pose']);
  });

  it('several people get their own numbered paths, after any already there', async () => {
    const { doc, host } = poster();
    await addPosePaths(host, STANDING);
    const two = { ...STANDING, people: [STANDING.people[0]!, STANDING.people[0]!] };
    expect(await addPosePaths(host, two)).toEqual(['Kirie pose 2', 'Kirie pose 3']);
    expect(doc.pathsState.map((p) => p.name)).toEqual(['Kirie pose 1', 'Kirie pose 2', 'Kirie pose 3']);
  });

  it('fits a pose from another canvas into the document, aspect kept and centred', async () => {
    const { doc, host } = setup(1024, 768);
    await addPosePaths(host, STANDING);
    expect(keypoint(await readJson(host, doc.id), 0, 'neck')).toEqual([512, 190, 1]);
  });

  it('a failure part way leaves no path and no history step', async () => {
    const { ps, doc, host } = poster();
    ps.failNext = 'addPath';
    await expect(addPosePaths(host, STANDING)).rejects.toThrow('addPath failed');
    expect(doc.pathsState).toEqual([]);
    expect(doc.history).toEqual(['Open']);
  });

  it('refuses bad JSON before touching the document', async () => {
    const { doc, host } = poster();
    await expect(addPosePaths(host, { canvas_width: 10, canvas_height: 10, people: [{ pose_keypoints_2d: [1, 2] }] })).rejects.toThrow('pose_keypoints_2d');
    await expect(addPosePaths(host, { canvas_width: 10, canvas_height: 10, people: [] })).rejects.toThrow('no people');
    expect(doc.pathsState).toEqual([]);
  });
});

describe('reading the paths back', () => {
  it('preset → paths → JSON is the preset, at any resolution', async () => {
    for (const resolution of [72, 300]) {
      const { doc, host } = setup(512, 768);
      doc.resolution = resolution;
      await addPosePaths(host, STANDING);
      expect(await readJson(host, doc.id)).toEqual(STANDING);
    }
  });

  it('a hidden keypoint is parked off the canvas and stays hidden; a marker dragged off the canvas hides its keypoint', async () => {
    const { doc, host } = poster();
    const json = structuredClone(STANDING);
    json.people[0]!.pose_keypoints_2d.splice(3 * index('nose'), 3, 0, 0, 0);
    await addPosePaths(host, json);
    doc.userEditPath('Kirie pose 1', (p, i) => (i === index('left_ear') ? { x: p.x, y: p.y - 500 } : p));
    const back = await readJson(host, doc.id);
    expect(keypoint(back, 0, 'nose')).toEqual([0, 0, 0]);
    expect(keypoint(back, 0, 'left_ear')).toEqual([0, 0, 0]);
    expect(keypoint(back, 0, 'neck')).toEqual([256, 190, 1]);
  });

  it('a moved marker moves exactly its keypoint', async () => {
    const { doc, host } = poster();
    await addPosePaths(host, STANDING);
    doc.userEditPath('Kirie pose 1', (p, i) => (i === index('left_wrist') ? { x: p.x + 30, y: p.y - 10 } : p));
    const back = await readJson(host, doc.id);
    const changed = back.people[0]!.pose_keypoints_2d.flatMap((v, i) => (Math.abs(v - STANDING.people[0]!.pose_keypoints_2d[i]!) > 1e-9 ? [Math.floor(i / 3)] : []));
    expect([...new Set(changed)].map((k) => BODY_KEYPOINTS[k])).toEqual(['left_wrist']);
    expect(keypoint(back, 0, 'left_wrist')[0]).toBeCloseTo(360, 9);
    expect(keypoint(back, 0, 'left_wrist')[1]).toBeCloseTo(370, 9);
  });

  it('the whole path turned with Free Transform Path: keypoints turn with it (marker centres follow their corners)', async () => {
    const { doc, host } = poster();
    await addPosePaths(host, STANDING);
    const [cx, cy] = [256, 400];
    doc.userEditPath('Kirie pose 1', (p) => ({ x: cx - (p.y - cy), y: cy + (p.x - cx) }));
    const back = await readJson(host, doc.id);
    const [x0, y0] = keypoint(STANDING, 0, 'right_wrist');
    expect(keypoint(back, 0, 'right_wrist')[0]).toBeCloseTo(cx - (y0! - cy), 9);
    expect(keypoint(back, 0, 'right_wrist')[1]).toBeCloseTo(cy + (x0! - cx), 9);
  });

  it('a deleted marker is refused with what to do; no pose path says so', async () => {
    const { doc, host } = poster();
    await expect(host.call('readPosePaths', { documentId: doc.id })).rejects.toThrow('has no "Kirie pose" path');
    await addPosePaths(host, STANDING);
    doc.pathsState[0]!.subpaths.splice(3, 1);
    await expect(host.call('readPosePaths', { documentId: doc.id })).rejects.toThrow('path "Kirie pose 1" has 17 markers; a Kirie pose path holds 18');
  });
});

describe('Pose fill from the paths', () => {
  it('the edited pose, as it lies in the selection, guides the OpenPose ControlNet; one new layer', async () => {
    const { doc, host } = poster();
    await addPosePaths(host, STANDING);
    doc.userEditPath('Kirie pose 1', (p, i) => (i === index('left_wrist') ? { x: p.x + 30, y: p.y - 10 } : p));
    doc.selection = { bounds: bounds(0, 0, 512, 768), data: new Uint8Array(512 * 768).fill(255) };
    await posePathsFill(host, env.client, { prompt: 'a dancer' });
    const req = env.runner.jobs.at(-1)!.input.request;
    expect(req.control![0]!.model).toBe('control_v11p_sd15_openpose.safetensors');
    const pose = req.control![0]!.pose as PoseJson;
    const [wx, wy] = keypoint(pose, 0, 'left_wrist');
    expect(wx).toBeCloseTo((360 * req.width) / 512, 6);
    expect(wy).toBeCloseTo((370 * req.height) / 768, 6);
    expect(doc.layersState.map((l) => l.name)).toHaveLength(2);
  });

  it('a selection smaller than the canvas: keypoints keep their place on the canvas', async () => {
    const { doc, host } = poster();
    await addPosePaths(host, STANDING);
    ellipseSelection(doc, 256, 400, 200, 380);
    await posePathsFill(host, env.client, { prompt: 'a dancer' });
    const job = env.runner.jobs.at(-1)!;
    const pose = job.input.request.control![0]!.pose as PoseJson;
    // The neck, on the selection's vertical centre line, stays on the model frame's centre line.
    expect(Math.abs(keypoint(pose, 0, 'neck')[0]! - job.input.request.width / 2)).toBeLessThan(2);
  });
});
