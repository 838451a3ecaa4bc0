// Mannequin fill on a Figma frame: the 3-D scene's camera sees the frame's exported image, its figures'
// keypoints guide the OpenPose ControlNet, and the result's recipe keeps the scene, so Remake fills with it
// again (and the UI reopens it to re-pose).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MANNEQUIN_CAMERA, MANNEQUIN_PRESETS, type MannequinScene, projectScene } from '@kirie/core/control/mannequin';
import { type PoseJson, toPoseJson } from '@kirie/core/control/openpose';
import { type PluginBridge, startPluginBridge } from '../../shared/test/bridge.js';
import { mannequinFill, remake } from '../src/flow.js';
import { parseRecipe } from '../src/recipe.js';
import { FakeFigma, solid } from './fake-figma.js';
import { pluginRpc as plugin } from './plugin-rpc.js';

let env: PluginBridge;
beforeAll(async () => {
  env = await startPluginBridge({ openpose: true });
});
afterAll(() => env.dispose());


const SCENE: MannequinScene = { figures: [MANNEQUIN_PRESETS.walking!, { ...MANNEQUIN_PRESETS.reaching!, position: [0.8, 0.95, -0.5] }], camera: DEFAULT_MANNEQUIN_CAMERA };

/** The request's pose back on the frame's pixels (the bridge gets it at the generation size). */
function onFrame(pose: PoseJson, frame: { width: number; height: number }): number[][] {
  return pose.people.map((p) => p.pose_keypoints_2d.map((v, i) => (i % 3 === 2 ? v : i % 3 === 0 ? (v * frame.width) / pose.canvas_width : (v * frame.height) / pose.canvas_height)));
}

describe('Mannequin fill', () => {
  it('guides the ControlNet with the scene\'s keypoints seen on the whole frame; the recipe keeps the scene; Remake fills with it again', async () => {
    const figma = new FakeFigma();
    figma.selection = [figma.frame('Stage', 40, 20, 320, 480, solid(200, 200, 190))];
    const rpc = plugin(figma);
    const first = await mannequinFill(rpc, env.client, { prompt: 'two dancers', colorMatch: false }, SCENE);
    const request = env.runner.jobs.at(-1)!.input.request;
    const pose = request.control![0]!.pose as PoseJson;
    expect(request.control![0]!.model).toBe('control_v11p_sd15_openpose.safetensors');
    const expected = toPoseJson(projectScene(SCENE, 320, 480));
    const sent = onFrame(pose, { width: 320, height: 480 });
    expect(sent).toHaveLength(2);
    sent.forEach((person, i) => person.forEach((v, k) => expect(v).toBeCloseTo(expected.people[i]!.pose_keypoints_2d[k]!, 6)));
    // The layer's recipe (as stored, then read back) holds the scene.
    const stored = parseRecipe(JSON.stringify(first.recipe));
    expect(stored.mannequin).toEqual(SCENE);
    expect(stored.pose).toBeUndefined();
    const again = await remake(rpc, env.client, stored, 'remake');
    expect(again.seed).toBe(first.seed);
    expect(env.runner.jobs.at(-1)!.input.request.control![0]!.pose).toEqual(pose);
  });

  it('a stored scene that is not a scene is refused with what is wrong', () => {
    const bad = { kirie: 1, frameId: '1:2', mode: 'style', mannequin: { figures: [], camera: DEFAULT_MANNEQUIN_CAMERA }, options: { prompt: 'x', seed: 1 } };
    expect(() => parseRecipe(JSON.stringify(bad))).toThrow('mannequin.figures: a mannequin scene has at least one figure');
  });
});
