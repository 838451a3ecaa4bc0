// The Figma adapter: every use of the plugin API happens here. It reads a frame (and the shape named
// "mask" in it) as sRGB PNGs without writing to it, and places a result as a NEW rectangle with an image
// fill right above the frame, carrying its recipe as plugin data.
// Only the skeleton's geometry: the OpenPose parser and its zod stay in the UI (the sandbox's globals are few).
import { type Affine, centreInFrame, containTransform, lineBetween, type PlacedJoint, type Rgb, type Skeleton, transformSkeleton } from '@kirie/core/control/skeleton-geometry';
import type { BaseNode, ChildrenMixin, ExportSettingsImage, FigmaImage, FrameNode, Paint, PluginApi, RectangleNode, SceneNode, Transform } from './figma-api.js';
import type { FrameData, PanelPrefs, PlaceRequest, PoseRead, SelectionInfo } from './messages.js';
import type { BridgeSettings } from '../../shared/src/settings.js';

const FRAME_TYPES = new Set(['FRAME', 'COMPONENT', 'INSTANCE']);
const MASK_NAME = 'mask';
const SETTINGS_KEY = 'kirie.bridge';
const PREFS_KEY = 'kirie.prefs';
export const RECIPE_KEY = 'kirie.recipe';
/** Marks a group Kirie placed as one person's skeleton (its name is the user's to change). */
export const POSE_KEY = 'kirie.pose';
const POSE_PERSON = 'person';
/** Joint dots and limb strokes as the annotator draws them: 4 px radius circles, 4 px sticks (render.ts). */
const JOINT_SIZE = 8;
const LIMB_WEIGHT = 4;
/** Figma refuses images with a side over 4096 px (plugin-api.d.ts, PluginAPI.createImage). */
const MAX_IMAGE_SIDE = 4096;
/**
 * The model works in sRGB; without a profile Figma exports in the file's own ('DOCUMENT'), which in a
 * Display P3 file means P3 numbers the model would read as sRGB.
 */
const EXPORT: ExportSettingsImage = { format: 'PNG', constraint: { type: 'SCALE', value: 1 }, colorProfile: 'SRGB' };
/** Containers a result may go into: pages, plain frames, groups, sections. */
const ACCEPTS_RESULT = new Set(['PAGE', 'FRAME', 'GROUP', 'SECTION']);
/**
 * Inside these nothing may be added (instances, component sets: Figma refuses) or should be (a layer added
 * to a component appears in every instance of it).
 */
const SEALED = new Set(['INSTANCE', 'COMPONENT', 'COMPONENT_SET']);

export interface FigmaHost {
  describeSelection(): SelectionInfo;
  /** The selected frame, or the frame with `frameId` (a recipe's source), exported without changing it. */
  readFrame(frameId?: string): Promise<FrameData>;
  placeResult(place: PlaceRequest): Promise<{ nodeId: string }>;
  /** Places the skeleton (fitted into the frame, aspect kept) on the selected frame: a group per person. */
  addPose(skeleton: Skeleton): Promise<{ people: number }>;
  /** The joints of the skeletons on the selected frame (or `frameId`), in the frame's pixels. */
  readPose(frameId?: string): Promise<PoseRead>;
  notify(text: string, error?: boolean): void;
  loadSettings(): Promise<BridgeSettings | null>;
  saveSettings(settings: BridgeSettings): Promise<void>;
  loadPrefs(): Promise<PanelPrefs>;
  savePrefs(prefs: PanelPrefs): Promise<void>;
}

const isFrame = (node: BaseNode): node is FrameNode => FRAME_TYPES.has(node.type) && 'children' in node;
const maskOf = (frame: FrameNode) => frame.children.find((c) => c.name.trim().toLowerCase() === MASK_NAME);

function checkFrame(node: SceneNode): FrameNode {
  if (!isFrame(node)) throw new Error(`"${node.name}" is a ${node.type.toLowerCase()}: select a frame`);
  if (node.rotation !== 0) throw new Error(`"${node.name}" is rotated ${node.rotation}°: set its rotation to 0 first`);
  return node;
}

function ancestors(node: BaseNode): BaseNode[] {
  const out: BaseNode[] = [];
  for (let p = node.parent; p; p = p.parent) out.push(p);
  return out;
}

/** The nearest container that takes a new layer, and the node (the frame or its ancestor) to stack it above. */
function placementFor(frame: SceneNode): { parent: BaseNode & ChildrenMixin; above: SceneNode } {
  const chain: (BaseNode & ChildrenMixin)[] = [];
  for (let p = frame.parent; p; p = p.parent) chain.push(p);
  let above = frame;
  for (const [i, parent] of chain.entries()) {
    const sealed = chain.slice(i).some((a) => SEALED.has(a.type));
    if (ACCEPTS_RESULT.has(parent.type) && !sealed) return { parent, above };
    above = parent as unknown as SceneNode;
  }
  throw new Error(`"${frame.name}" is not on a page: nothing was placed`);
}

const paint = ([r, g, b]: Rgb): Paint => ({ type: 'SOLID', color: { r: r / 255, g: g / 255, b: b / 255 } });
const translate = (x: number, y: number): Affine => [[1, 0, x], [0, 1, y]];
const asTransform = (t: Affine): Transform => [[t[0][0], t[0][1], t[0][2]], [t[1][0], t[1][1], t[1][2]]];

const isPoseGroup = (node: SceneNode): boolean => node.type === 'GROUP' && node.getPluginData(POSE_KEY) === POSE_PERSON;

/** The frame's skeleton groups, anywhere inside it (the user may group them further), with their child-index paths. */
function poseGroupsIn(frame: FrameNode): { group: FrameNode; path: number[] }[] {
  const found: { group: FrameNode; path: number[] }[] = [];
  const walk = (node: SceneNode & Partial<ChildrenMixin>, path: number[]): void => {
    if (isPoseGroup(node)) found.push({ group: node as FrameNode, path });
    // An instance's sublayers come from its main component: no skeleton of ours is in there.
    else if (node.children && node.type !== 'INSTANCE') node.children.forEach((c, i) => walk(c, [...path, i]));
  };
  frame.children.forEach((c, i) => walk(c, [i]));
  return found;
}

/** The visible joint ellipses of a skeleton group, centres in the frame's pixels, whatever groups rotate or scale them. */
function jointsOf(group: FrameNode, frame: FrameNode): PlacedJoint[] {
  const joints: PlacedJoint[] = [];
  const walk = (node: SceneNode & Partial<ChildrenMixin>): void => {
    // A hidden joint is a keypoint the user hid: it stays out, as a confidence-0 point.
    if (!node.visible) return;
    if (node.type === 'ELLIPSE') {
      const c = centreInFrame(node.absoluteTransform, node.width, node.height, frame.absoluteTransform);
      joints.push({ name: node.name.trim(), x: c.x, y: c.y });
    } else node.children?.forEach(walk);
  };
  group.children.forEach(walk);
  return joints;
}

export function createFigmaHost(figma: PluginApi): FigmaHost {
  const selected = (): SceneNode => {
    const selection = figma.currentPage.selection;
    if (selection.length === 0) throw new Error('select a frame first');
    if (selection.length > 1) throw new Error(`select one frame (${selection.length} layers are selected)`);
    return selection[0]!;
  };

  const frameById = async (frameId: string): Promise<FrameNode> => {
    const node = await figma.getNodeByIdAsync(frameId);
    if (!node || node.removed || !isFrame(node)) throw new Error('the frame this was made from is gone (deleted, or on another page): select a frame and generate anew');
    return node;
  };

  /**
   * The frame without its mask shape and skeletons (`paths`: child indices from the frame): a clone with
   * those hidden is exported, then removed.
   */
  const exportWithout = async (frame: FrameNode, paths: number[][]): Promise<Uint8Array> => {
    const copy = frame.clone() as FrameNode;
    try {
      // The copy sits over the original while it exists, so the canvas does not flash it elsewhere.
      const box = frame.absoluteBoundingBox!;
      copy.x = box.x;
      copy.y = box.y;
      // Hidden, not removed: a clone of an instance is an instance, whose sublayers can only be overridden.
      for (const path of paths) path.reduce<SceneNode>((node, i) => (node as FrameNode).children[i]!, copy).visible = false;
      return await copy.exportAsync(EXPORT);
    } finally {
      copy.remove();
    }
  };

  return {
    describeSelection() {
      let node: SceneNode;
      try {
        node = selected();
      } catch (err) {
        return { frame: null, hasMask: false, problem: (err as Error).message, recipe: null };
      }
      const recipe = node.getPluginData(RECIPE_KEY) || null;
      try {
        const frame = checkFrame(node);
        return { frame: frame.name, hasMask: maskOf(frame) !== undefined, problem: null, recipe };
      } catch (err) {
        return { frame: null, hasMask: false, problem: recipe ? null : (err as Error).message, recipe };
      }
    },

    async readFrame(frameId) {
      const frame = frameId ? checkFrame(await frameById(frameId)) : checkFrame(selected());
      const box = frame.absoluteBoundingBox;
      const frameBounds = frame.absoluteRenderBounds;
      if (!frameBounds || !box) throw new Error(`"${frame.name}" renders nothing to restyle`);
      if (frameBounds.width > MAX_IMAGE_SIDE || frameBounds.height > MAX_IMAGE_SIDE) {
        throw new Error(`"${frame.name}" is ${Math.round(frameBounds.width)}×${Math.round(frameBounds.height)}: Figma images are at most ${MAX_IMAGE_SIDE} px a side`);
      }
      const origin = { x: frameBounds.x - box.x, y: frameBounds.y - box.y };
      const mask = maskOf(frame);
      const hidden = poseGroupsIn(frame).filter((p) => p.group.visible).map((p) => p.path);
      if (!mask) return { frameId: frame.id, name: frame.name, png: hidden.length ? await exportWithout(frame, hidden) : await frame.exportAsync(EXPORT), origin };
      const maskBounds = mask.absoluteRenderBounds;
      if (!mask.visible || !maskBounds) throw new Error(`the "${mask.name}" shape in "${frame.name}" is hidden or empty: show it, it marks what to repaint`);
      const maskPng = await mask.exportAsync(EXPORT);
      const png = await exportWithout(frame, [[frame.children.indexOf(mask)], ...hidden]);
      return { frameId: frame.id, name: frame.name, png, origin, mask: { png: maskPng, x: Math.round(maskBounds.x - frameBounds.x), y: Math.round(maskBounds.y - frameBounds.y) } };
    },

    async placeResult(place) {
      const found = await figma.getNodeByIdAsync(place.frameId);
      if (!found || found.removed || !isFrame(found)) throw new Error('the frame was deleted while Kirie was working: nothing was placed');
      const frame = found;
      const box = frame.absoluteBoundingBox;
      if (!frame.parent || !box) throw new Error(`"${frame.name}" is no longer on the canvas: nothing was placed`);
      const { parent, above } = placementFor(frame);
      let image: FigmaImage;
      try {
        image = figma.createImage(place.png);
      } catch (err) {
        throw new Error(`Figma did not accept the result image: ${(err as Error).message}`);
      }
      const rect: RectangleNode = figma.createRectangle();
      rect.name = place.name;
      rect.resize(place.bounds.width, place.bounds.height);
      // Paint arrays are read-only: a fill is changed by assigning a new array.
      rect.fills = [{ type: 'IMAGE', imageHash: image.hash, scaleMode: 'FILL' }];
      rect.setPluginData(RECIPE_KEY, place.recipe);
      parent.insertChild(parent.children.indexOf(above) + 1, rect);
      if (parent.layoutMode !== undefined && parent.layoutMode !== 'NONE') rect.layoutPositioning = 'ABSOLUTE';
      // x/y are relative to the containing parent (groups do not count): move by what is off absolutely.
      const at = rect.absoluteBoundingBox!;
      rect.x += box.x + place.origin.x + place.bounds.x - at.x;
      rect.y += box.y + place.origin.y + place.bounds.y - at.y;
      return { nodeId: rect.id };
    },

    async addPose(given) {
      const frame = checkFrame(selected());
      // Figma refuses new children in an instance (nodes-appendchild); in a main component every instance would show them.
      if ([frame, ...ancestors(frame)].some((n) => SEALED.has(n.type))) throw new Error(`"${frame.name}" is or sits in a component or instance: put the pose on a plain frame`);
      if (frame.layoutMode !== undefined && frame.layoutMode !== 'NONE') throw new Error(`"${frame.name}" uses auto layout, which would line the joints up: put the pose on a frame without it`);
      const width = Math.round(frame.width);
      const height = Math.round(frame.height);
      if (given.people.length === 0) throw new Error('the pose has no people in it');
      const skeleton = transformSkeleton(given, containTransform(given, { width, height }), width, height);
      for (const [n, person] of skeleton.people.entries()) {
        const at = new Map(person.joints.map((j) => [j.name, j]));
        const nodes: SceneNode[] = [];
        // Limbs under the joints, as the annotator draws them; each node is set in the frame's coordinates once inside it.
        for (const limb of person.limbs) {
          const { transform, length } = lineBetween(at.get(limb.from)!, at.get(limb.to)!);
          const line = figma.createLine();
          line.name = `${limb.from}–${limb.to}`;
          frame.insertChild(frame.children.length, line);
          line.resize(Math.max(length, 0.01), 0);
          line.strokes = [paint(limb.color)];
          line.strokeWeight = LIMB_WEIGHT;
          line.relativeTransform = asTransform(transform);
          nodes.push(line);
        }
        for (const joint of person.joints) {
          const dot = figma.createEllipse();
          dot.name = joint.name;
          frame.insertChild(frame.children.length, dot);
          dot.resize(JOINT_SIZE, JOINT_SIZE);
          dot.fills = [paint(joint.color)];
          dot.relativeTransform = asTransform(translate(joint.x - JOINT_SIZE / 2, joint.y - JOINT_SIZE / 2));
          nodes.push(dot);
        }
        const group = figma.group(nodes, frame);
        group.name = `Kirie pose ${n + 1}`;
        group.setPluginData(POSE_KEY, POSE_PERSON);
      }
      return { people: skeleton.people.length };
    },

    async readPose(frameId) {
      const frame = frameId ? checkFrame(await frameById(frameId)) : checkFrame(selected());
      const groups = poseGroupsIn(frame).filter((p) => p.group.visible);
      if (groups.length === 0) throw new Error(`"${frame.name}" has no Kirie pose: press "Add pose" first`);
      const width = Math.round(frame.width);
      const height = Math.round(frame.height);
      return { frameId: frame.id, width, height, people: groups.map((p) => jointsOf(p.group, frame)) };
    },

    notify(text, error = false) {
      figma.notify(text, error ? { error: true } : {});
    },

    async loadSettings() {
      const stored = await figma.clientStorage.getAsync(SETTINGS_KEY);
      if (!stored || typeof stored !== 'object') return null;
      const { url, token } = stored as Partial<BridgeSettings>;
      return typeof url === 'string' && typeof token === 'string' ? { url, token } : null;
    },

    async saveSettings(settings) {
      await figma.clientStorage.setAsync(SETTINGS_KEY, { url: settings.url, token: settings.token });
    },

    async loadPrefs() {
      const stored = await figma.clientStorage.getAsync(PREFS_KEY);
      return { fast: !!stored && typeof stored === 'object' && (stored as Partial<PanelPrefs>).fast === true };
    },

    async savePrefs(prefs) {
      await figma.clientStorage.setAsync(PREFS_KEY, { fast: prefs.fast });
    },
  };
}
