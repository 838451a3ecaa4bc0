// Poses on a Figma frame: "Add pose" places native nodes (a group per person, an ellipse per keypoint,
// lines for limbs), the user edits them with Figma's tools (modelled by the fake: moves, group rotation
// and scaling, hiding, deleting), "Pose fill" reads them back and fills with the skeleton left out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_KEYPOINTS, type PoseJson, toPoseJson } from '@kirie/core/control/openpose';
import { posePreset } from '@kirie/core/control/pose-presets';
import { poseFromJoints } from '@kirie/core/control/skeleton';
import { COLORS } from '@kirie/core/control/render';
import { type PluginBridge, startPluginBridge } from '../../shared/test/bridge.js';
import { poseFill, remake } from '../src/flow.js';
import { POSE_KEY } from '../src/host.js';
import type { PoseRead } from '../src/messages.js';
import { type FakeContainer, FakeEllipse, FakeFigma, FakeGroup, FakeLine, type FakeNode, solid } from './fake-figma.js';
import { pluginRpc as plugin } from './plugin-rpc.js';

let env: PluginBridge;
beforeAll(async () => {
  env = await startPluginBridge({ openpose: true });
});
afterAll(() => env.dispose());


const BG = [230, 220, 200] as const;

/** A 512×768 frame (the presets' canvas) at (100, 50) on the page, selected. */
function poseFrame(figma: FakeFigma, parent?: FakeContainer): FakeContainer {
  const frame = figma.frame('Figure', 100, 50, 512, 768, solid(...BG), parent);
  figma.selection = [frame];
  return frame;
}

const groupsOf = (frame: FakeContainer) => frame.children.filter((c): c is FakeGroup => c instanceof FakeGroup);
const joint = (group: FakeGroup, name: string) => group.children.find((c) => c instanceof FakeEllipse && c.name === name)!;
const keypoint = (json: PoseJson, person: number, name: string) => json.people[person]!.pose_keypoints_2d.slice(3 * BODY_KEYPOINTS.indexOf(name as never), 3 * BODY_KEYPOINTS.indexOf(name as never) + 3);
const STANDING = toPoseJson(posePreset('standing'));
/** What Pose fill makes of the joints read back (before fitting them to the selection). */
const asJson = async (read: Promise<PoseRead>) => {
  const { people, width, height } = await read;
  return toPoseJson(poseFromJoints(people, width, height));
};

describe('Add pose', () => {
  it('a named group per person: an ellipse per keypoint named by it, lines in the annotator\'s limb colours; the frame keeps its own properties', async () => {
    const figma = new FakeFigma();
    const frame = poseFrame(figma);
    const since = figma.mutations.length;
    expect(await plugin(figma).addPose(STANDING)).toEqual({ people: 1 });
    const [group] = groupsOf(frame);
    expect(group!.name).toBe('Kirie pose 1');
    expect(group!.getPluginData(POSE_KEY)).toBe('person');
    const dots = group!.children.filter((c) => c instanceof FakeEllipse);
    const lines = group!.children.filter((c): c is FakeLine => c instanceof FakeLine);
    expect(dots.map((d) => d.name)).toEqual([...BODY_KEYPOINTS]);
    expect(lines).toHaveLength(17);
    // util.py: limb 0 is neck → right shoulder in red; a joint's dot is its keypoint's colour, centred on it.
    expect(lines[0]!.name).toBe('neck–right_shoulder');
    expect(lines[0]!.strokes).toEqual([solid(255, 0, 0)]);
    const neck = joint(group!, 'neck');
    expect(neck.fills).toEqual([solid(...COLORS[1])]);
    expect([neck.x + neck.width / 2, neck.y + neck.height / 2]).toEqual([256, 190]);
    // Lines run from joint to joint: the end of neck–right_shoulder is the right shoulder (206, 190).
    const end = lines[0]!.absoluteTransform;
    expect(end[0][0] * lines[0]!.width + end[0][2] - 100).toBeCloseTo(206, 9);
    expect(end[1][0] * lines[0]!.width + end[1][2] - 50).toBeCloseTo(190, 9);
    // The frame itself only gained children: no fill, name, position or visibility change.
    expect(figma.changesTo([frame], since).filter((m) => m.nodeId === frame.id).every((m) => m.change.startsWith('insertChild'))).toBe(true);
  });

  it('several people: one group each; hands become numbered joints', async () => {
    const figma = new FakeFigma();
    const frame = poseFrame(figma);
    const hand = Array.from({ length: 21 }, (_, i) => [300 + i, 400, 1]).flat();
    const json = { canvas_width: 512, canvas_height: 768, people: [STANDING.people[0]!, { ...STANDING.people[0]!, hand_left_keypoints_2d: hand }] };
    await plugin(figma).addPose(json);
    const groups = groupsOf(frame);
    expect(groups.map((g) => g.name)).toEqual(['Kirie pose 1', 'Kirie pose 2']);
    expect(groups[1]!.children.filter((c) => c instanceof FakeEllipse)).toHaveLength(18 + 21);
    expect(joint(groups[1]!, 'left_hand_20')).toBeDefined();
  });

  it.each([
    ['an instance', (f: FakeFigma) => (f.selection = [f.container('INSTANCE', 'Button', 0, 0, 512, 768, solid(1, 1, 1))]), /component or instance/],
    ['a main component', (f: FakeFigma) => (f.selection = [f.container('COMPONENT', 'Card', 0, 0, 512, 768, solid(1, 1, 1))]), /component or instance/],
    ['an auto-layout frame', (f: FakeFigma) => (poseFrame(f).layoutMode = 'VERTICAL'), /auto layout/],
    ['nothing selected', (f: FakeFigma) => (f.selection = []), /select a frame first/],
  ])('refuses %s, changing nothing', async (_, setUp, message) => {
    const figma = new FakeFigma();
    setUp(figma);
    const since = figma.mutations.length;
    await expect(plugin(figma).addPose(STANDING)).rejects.toThrow(message);
    expect(figma.mutations.slice(since)).toEqual([]);
  });

  it('refuses a pose with no people, and bad JSON before the document is touched', async () => {
    const figma = new FakeFigma();
    poseFrame(figma);
    const since = figma.mutations.length;
    await expect(plugin(figma).addPose({ canvas_width: 10, canvas_height: 10, people: [] })).rejects.toThrow('no people');
    await expect(plugin(figma).addPose({ canvas_width: 10, canvas_height: 10, people: [{ pose_keypoints_2d: [1, 2] }] })).rejects.toThrow('pose_keypoints_2d');
    expect(figma.mutations.slice(since)).toEqual([]);
  });

  it('fits a pose from another canvas into the frame, aspect kept and centred', async () => {
    const figma = new FakeFigma();
    const frame = figma.frame('Wide', 0, 0, 1024, 768, solid(...BG));
    figma.selection = [frame];
    await plugin(figma).addPose(STANDING);
    const neck = joint(groupsOf(frame)[0]!, 'neck');
    expect([neck.x + neck.width / 2, neck.y + neck.height / 2]).toEqual([512, 190]);
  });
});

describe('reading the pose back', () => {
  async function placed(parent?: (f: FakeFigma) => FakeContainer) {
    const figma = new FakeFigma();
    const frame = poseFrame(figma, parent?.(figma));
    const rpc = plugin(figma);
    await rpc.addPose(STANDING);
    return { figma, frame, rpc, group: groupsOf(frame)[0]! };
  }

  it('preset → nodes → JSON is the preset, also on a frame nested in another frame', async () => {
    expect(await asJson((await placed()).rpc.readPose())).toEqual(STANDING);
    const nested = await placed((f) => f.frame('Board', 300, 200, 2000, 2000, solid(255, 255, 255)));
    expect(await asJson(nested.rpc.readPose())).toEqual(STANDING);
  });

  it('a moved joint moves exactly its keypoint; a hidden or deleted joint is a hidden keypoint', async () => {
    const { figma, rpc, group } = await placed();
    figma.userMove(joint(group, 'left_wrist'), 30, -10);
    joint(group, 'nose').props.visible = false;
    figma.remove(joint(group, 'right_ear'));
    const json = await asJson(rpc.readPose());
    expect(keypoint(json, 0, 'left_wrist')).toEqual([360, 370, 1]);
    expect(keypoint(json, 0, 'nose')).toEqual([0, 0, 0]);
    expect(keypoint(json, 0, 'right_ear')).toEqual([0, 0, 0]);
    const changed = json.people[0]!.pose_keypoints_2d.flatMap((v, i) => (v !== STANDING.people[0]!.pose_keypoints_2d[i] ? [Math.floor(i / 3)] : []));
    expect([...new Set(changed)].map((k) => BODY_KEYPOINTS[k])).toEqual(['nose', 'left_wrist', 'right_ear']);
  });

  it('a rotated group: joints turn about the group\'s centre (Figma\'s counter-clockwise degrees)', async () => {
    const { figma, rpc, group } = await placed();
    const box = group.absoluteBoundingBox;
    const cx = box.x - 100 + box.width / 2;
    const cy = box.y - 50 + box.height / 2;
    figma.userRotate(group, 90);
    const json = await asJson(rpc.readPose());
    // 90° counter-clockwise on a y-down screen: (dx, dy) from the centre becomes (dy, -dx).
    for (const name of ['nose', 'left_ankle', 'right_wrist']) {
      const [x0, y0] = keypoint(STANDING, 0, name);
      const [x, y, c] = keypoint(json, 0, name);
      expect(x).toBeCloseTo(cx + (y0! - cy), 6);
      expect(y).toBeCloseTo(cy - (x0! - cx), 6);
      expect(c).toBe(1);
    }
  });

  it('a scaled group: joints spread from the group\'s corner', async () => {
    const { figma, rpc, group } = await placed();
    const ox = group.x;
    const oy = group.y;
    figma.userScale(group, 0.5);
    const json = await asJson(rpc.readPose());
    const [x0, y0] = keypoint(STANDING, 0, 'left_ankle');
    expect(keypoint(json, 0, 'left_ankle')[0]).toBeCloseTo(ox + (x0! - ox) * 0.5, 9);
    expect(keypoint(json, 0, 'left_ankle')[1]).toBeCloseTo(oy + (y0! - oy) * 0.5, 9);
  });

  it('a stray ellipse in a pose group is named in the refusal; a frame with no pose says what to do', async () => {
    const { figma, rpc, group } = await placed();
    figma.shape('ELLIPSE', 'Ellipse 7', group, 10, 10, 8, 8, solid(0, 0, 0));
    const jobs = env.runner.jobs.length;
    await expect(poseFill(rpc, env.client, { prompt: 'x' })).rejects.toThrow('person 1, joint "Ellipse 7": not a keypoint name');
    expect(env.runner.jobs.length).toBe(jobs);
    const other = new FakeFigma();
    poseFrame(other);
    await expect(plugin(other).readPose()).rejects.toThrow('has no Kirie pose: press "Add pose" first');
  });
});

describe('Pose fill', () => {
  it('guides the OpenPose ControlNet with the edited pose; the skeleton is not in the picture and the document is untouched', async () => {
    const figma = new FakeFigma();
    const frame = poseFrame(figma);
    const rpc = plugin(figma);
    await rpc.addPose(STANDING);
    const group = groupsOf(frame)[0]!;
    figma.userMove(joint(group, 'left_wrist'), 30, -10);
    const since = figma.mutations.length;
    const result = await poseFill(rpc, env.client, { prompt: 'a dancer', colorMatch: false });
    const job = env.runner.jobs.at(-1)!;
    const req = job.input.request;
    expect(req.control).toHaveLength(1);
    expect(req.control![0]!.model).toBe('control_v11p_sd15_openpose.safetensors');
    const pose = req.control![0]!.pose as PoseJson;
    const sx = req.width / 512;
    const sy = req.height / 768;
    const [wx, wy] = keypoint(pose, 0, 'left_wrist');
    expect(wx).toBeCloseTo(360 * sx, 6);
    expect(wy).toBeCloseTo(370 * sy, 6);
    // The skeleton is hidden from the model: the picture is the frame's background alone.
    const init = job.initImage!;
    const colours = new Set<string>();
    for (let i = 0; i < init.width * init.height; i++) colours.add(Array.from(init.data.subarray(i * init.channels, i * init.channels + 3)).join());
    expect([...colours]).toEqual([BG.join()]);
    // Nothing the user owns changed: the export went through a clone, removed again.
    const users: FakeNode[] = [frame];
    expect(figma.changesTo(users, since).filter((m) => !m.change.startsWith('insertChild') || !m.change.includes(result.nodeId))).toEqual([]);
    expect(group.visible).toBe(true);
    expect(figma.page.children.map((c) => c.name)).toEqual(['Figure', result.name]);
  });

  it('the result\'s recipe remembers the pose: Remake follows the skeleton as it is on the frame then, same seed', async () => {
    const figma = new FakeFigma();
    const frame = poseFrame(figma);
    const rpc = plugin(figma);
    await rpc.addPose(STANDING);
    const first = await poseFill(rpc, env.client, { prompt: 'a dancer', colorMatch: false });
    expect(first.recipe.pose).toBe(true);
    figma.userMove(joint(groupsOf(frame)[0]!, 'right_ankle'), -40, 0);
    const again = await remake(rpc, env.client, first.recipe, 'remake');
    expect(again.seed).toBe(first.seed);
    const req = env.runner.jobs.at(-1)!.input.request;
    const pose = req.control![0]!.pose as PoseJson;
    expect(keypoint(pose, 0, 'right_ankle')[0]).toBeCloseTo(((220 - 40) * req.width) / 512, 6);
  });
});
