// A fake `figma` global that keeps the plugin API's documented rules, so host.ts is tested against the
// host's behaviour, not our wishes. Every document change is logged in `FakeFigma.mutations`, so a test
// can prove the user's layers were never written. Host facts, each with where it is written down
// (T = @figma/plugin-typings 1.142 plugin-api.d.ts; D = developers.figma.com/docs/plugins):
// - paint and children arrays are read-only: a fill changes only by assigning a new array; children change
//   only through insertChild/appendChild/remove (T ChildrenMixin.children, MinimalFillsMixin.fills;
//   D /api/properties/nodes-children);
// - exportAsync renders what the node draws (absoluteRenderBounds: a drop shadow makes it larger than the
//   box), skips hidden children, takes format/constraint/colorProfile, and colorProfile is one of
//   'DOCUMENT' | 'SRGB' | 'DISPLAY_P3_V4', 'DOCUMENT' being the default (T ExportSettingsImage). In a Display P3
//   file, colours are P3 values and 'DOCUMENT' exports them as such (D help.figma.com 360039825114, colour
//   management); the fake models the P3→sRGB conversion an 'SRGB' export does;
// - createImage takes PNG/JPEG/GIF bytes and refuses sides over 4096 px (T PluginAPI.createImage);
// - coordinates: x/y are relative to the containing parent, which skips groups and boolean operations;
//   groups resize to fit their children (T LayoutMixin.relativeTransform); relativeTransform is
//   [[cos r, sin r, x], [-sin r, cos r, y]] with r the rotation (rotation = atan2(-m10, m00), D
//   /api/properties/ConnectorNode-rotation) and always has unit axes: size is width/height, never the
//   matrix (D /api/properties/nodes-relativetransform); the fake refuses a scaling or flipping matrix
//   (Figma would normalise it away: code relying on that is wrong); absoluteTransform is the containing
//   parents' transforms composed; absoluteBoundingBox is the axis-aligned box around the rotated node;
//   a group's box is the union of its children's (D /api/GroupNode: "always positioned and sized to fit
//   their content");
// - createEllipse / createLine put a new node under figma.currentPage (100 wide; a line has height 0 and
//   a 1 px black stroke, resize(length, 0): D /api/properties/figma-createline); figma.group refuses an
//   empty list ("Figma does not support empty groups") and nodes that cannot be reparented, such as
//   children of instances (D /api/properties/figma-group); a group with no children deletes itself
//   (D /api/GroupNode);
// - reparenting refuses: an instance or anything inside one as new parent, a node inside an instance as
//   child, an index past the end (D /api/properties/nodes-appendchild, nodes-insertchild, "Possible
//   error cases"); a component set holds only components, its variants (T ComponentSetNode,
//   PluginAPI.combineAsVariants: "must consist of only component nodes");
// - instance sublayers take overrides (visibility is one: a change to the document) but cannot be
//   removed or moved (D nodes-appendchild: "Node is inside of an instance"); clone() parents the copy
//   under figma.currentPage, a component's clone is a new component, an instance's clone an instance of
//   the same main component (T FrameNode/ComponentNode/InstanceNode.clone);
// - layoutPositioning = 'ABSOLUTE' throws unless the parent uses auto layout (T AutoLayoutChildrenMixin);
// - plugin data values are strings, at most 100 kB an entry (T PluginDataMixin.setPluginData);
// - nodes are found by id only asynchronously (documentAccess: dynamic-page, T PluginAPI.getNodeByIdAsync);
//   removed nodes stay removed and throw on use (T BaseNodeMixin.removed).
import { decodePng, encodePng } from '@kirie/core/image/png';
import { type Affine, applyAffine, multiplyAffine } from '@kirie/core/control/skeleton-geometry';
import type { ChildrenMixin, EllipseNode, ExportSettingsImage, FigmaImage, LineNode, Paint, PluginApi, Rect, RectangleNode, SceneNode, Transform } from '../src/figma-api.js';

type Rgba = [number, number, number, number];
export interface Mutation {
  nodeId: string;
  change: string;
}

const COLOR_PROFILES = new Set(['DOCUMENT', 'SRGB', 'DISPLAY_P3_V4']);
/** Figma's own structural node types that transform-wise are not containing parents (T relativeTransform). */
const NOT_CONTAINING = new Set(['GROUP', 'BOOLEAN_OPERATION']);

export class FakeNode implements SceneNode {
  readonly id: string;
  parent: FakeContainer | null = null;
  removed = false;
  rotation = 0;
  /** Pixels of drop shadow around the box (makes absoluteRenderBounds larger than the box). */
  shadow = 0;
  opacity = 1;
  /** Scene set-up writes these directly; the plugin goes through the setters, which log each change. */
  props: { name: string; visible: boolean; x: number; y: number; width: number; height: number };
  paints: readonly Paint[] = Object.freeze([]);
  private readonly pluginData = new Map<string, string>();

  constructor(
    readonly figma: FakeFigma,
    readonly type: string,
    name: string,
    width: number,
    height: number,
  ) {
    this.id = `${figma.nextId++}:1`;
    this.props = { name, visible: true, x: 0, y: 0, width, height };
  }

  protected change(what: string): void {
    if (this.removed) throw new Error(`The node (id ${this.id}) does not exist`);
    this.figma.mutations.push({ nodeId: this.id, change: this.insideInstance() ? `${what} (instance override)` : what });
  }

  insideInstance(): boolean {
    for (let p = this.parent; p; p = p.parent) if (p.type === 'INSTANCE') return true;
    return false;
  }

  get name(): string {
    return this.props.name;
  }
  set name(value: string) {
    this.change(`name=${value}`);
    this.props.name = value;
  }
  get visible(): boolean {
    return this.props.visible;
  }
  set visible(value: boolean) {
    this.change(`visible=${value}`);
    this.props.visible = value;
  }
  get x(): number {
    return this.props.x;
  }
  set x(value: number) {
    this.change(`x=${value}`);
    this.props.x = value;
  }
  get y(): number {
    return this.props.y;
  }
  set y(value: number) {
    this.change(`y=${value}`);
    this.props.y = value;
  }
  get width(): number {
    return this.props.width;
  }
  get height(): number {
    return this.props.height;
  }

  get fills(): readonly Paint[] {
    return this.paints;
  }
  set fills(value: readonly Paint[]) {
    if (!Array.isArray(value)) throw new TypeError('fills must be an array');
    this.change('fills');
    this.paints = Object.freeze(value.map((p) => Object.freeze({ ...p })));
  }

  getPluginData(key: string): string {
    return this.pluginData.get(key) ?? '';
  }
  setPluginData(key: string, value: string): void {
    if (typeof value !== 'string') throw new TypeError('setPluginData: value must be a string');
    if (key.length + value.length > 100_000) throw new Error('setPluginData: total entry size cannot exceed 100 kB');
    this.change(`pluginData ${key}`);
    if (value === '') this.pluginData.delete(key);
    else this.pluginData.set(key, value);
  }

  /** The containing parent's absolute transform: where this node's relativeTransform is measured from. */
  protected containingTransform(): Affine {
    let p = this.parent;
    while (p && NOT_CONTAINING.has(p.type)) p = p.parent;
    if (!p || p.type === 'PAGE') return [[1, 0, 0], [0, 1, 0]];
    return p.absoluteTransform;
  }

  get relativeTransform(): Transform {
    const r = (this.rotation * Math.PI) / 180;
    return [[Math.cos(r), Math.sin(r), this.x], [-Math.sin(r), Math.cos(r), this.y]];
  }
  set relativeTransform(t: Transform) {
    const [[a, c, e], [b, d, f]] = t;
    if (![a, b, c, d, e, f].every(Number.isFinite)) throw new Error('relativeTransform: every entry must be a finite number');
    if (Math.abs(Math.hypot(a, b) - 1) > 1e-6 || Math.abs(Math.hypot(c, d) - 1) > 1e-6 || Math.abs(a * d - b * c - 1) > 1e-6) {
      throw new Error('fake: relativeTransform must be a rotation (unit axes, no flip): Figma sizes nodes with width/height, not the matrix');
    }
    this.change(`relativeTransform ${JSON.stringify(t)}`);
    this.rotation = (Math.atan2(-b, a) * 180) / Math.PI;
    this.props.x = e;
    this.props.y = f;
  }

  get absoluteTransform(): Transform {
    const t = multiplyAffine(this.containingTransform(), this.relativeTransform);
    return [[...t[0]], [...t[1]]];
  }

  /** The four corners of the node's box in absolute coordinates. */
  corners(transform: Affine = this.absoluteTransform): { x: number; y: number }[] {
    return [[0, 0], [this.width, 0], [0, this.height], [this.width, this.height]].map(([x, y]) => applyAffine(transform, { x: x!, y: y! }));
  }

  get absoluteBoundingBox(): Rect {
    return boxAround(this.corners());
  }

  get absoluteRenderBounds(): Rect | null {
    if (!this.visible) return null;
    const b = this.absoluteBoundingBox;
    return { x: b.x - this.shadow, y: b.y - this.shadow, width: b.width + 2 * this.shadow, height: b.height + 2 * this.shadow };
  }

  resize(width: number, height: number): void {
    if (!(width >= 0.01 && height >= 0.01)) throw new Error('resize: width and height must be at least 0.01');
    this.change(`resize ${width}×${height}`);
    this.props.width = width;
    this.props.height = height;
  }

  remove(): void {
    if (this.removed) throw new Error(`The node (id ${this.id}) does not exist`);
    if (this.insideInstance()) throw new Error('Cannot remove a node that is inside of an instance');
    this.change('remove');
    if (this.parent) this.parent.detach(this);
    this.parent = null;
    for (const n of this.subtree()) n.removed = true;
  }

  *subtree(): Generator<FakeNode> {
    yield this;
  }

  clone(): FakeNode {
    const copy = this.copy();
    this.figma.page.insertChild(this.figma.page.children.length, copy);
    this.figma.mutations.push({ nodeId: copy.id, change: `clone of ${this.id}` });
    return copy;
  }

  /** A detached deep copy (new ids), as clone() makes it before parenting it. */
  copy(): FakeNode {
    const copy = new (this.constructor as new (f: FakeFigma, t: string, n: string, w: number, h: number) => FakeNode)(this.figma, this.type, this.name, this.width, this.height);
    Object.assign(copy.props, this.props);
    copy.paints = this.paints;
    Object.assign(copy, { rotation: this.rotation, shadow: this.shadow, opacity: this.opacity });
    return copy;
  }

  /** This node's colour at a point in its own coordinates, or null where it paints nothing. */
  colourAt(x: number, y: number): Rgba | null {
    const inside = x >= 0 && y >= 0 && x < this.width && y < this.height;
    if (!inside) return this.shadow && x >= -this.shadow && y >= -this.shadow && x < this.width + this.shadow && y < this.height + this.shadow ? [0, 0, 0, 64] : null;
    if (this.type === 'ELLIPSE' && Math.hypot((x + 0.5 - this.width / 2) / (this.width / 2), (y + 0.5 - this.height / 2) / (this.height / 2)) > 1) return null;
    const paint = this.paints[0];
    if (!paint) return null;
    if (paint.type === 'SOLID') return [Math.round(paint.color.r * 255), Math.round(paint.color.g * 255), Math.round(paint.color.b * 255), Math.round(this.opacity * 255)];
    const image = this.figma.imageData(paint.imageHash!);
    const ix = Math.min(image.width - 1, Math.floor((x * image.width) / this.width));
    const iy = Math.min(image.height - 1, Math.floor((y * image.height) / this.height));
    const i = (iy * image.width + ix) * 4;
    return [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!, image.data[i + 3]!];
  }

  async exportAsync(settings: ExportSettingsImage): Promise<Uint8Array> {
    if (this.removed) throw new Error(`The node (id ${this.id}) does not exist`);
    const profile = settings.colorProfile ?? 'DOCUMENT';
    if (!COLOR_PROFILES.has(profile)) throw new Error(`in exportAsync: Invalid value for colorProfile: "${profile}"`);
    if (settings.format !== 'PNG' || (settings.constraint && (settings.constraint.type !== 'SCALE' || settings.constraint.value !== 1))) throw new Error('the fake exports PNG at scale 1 only');
    this.figma.exports.push({ nodeId: this.id, settings: { ...settings } });
    const p3ToSrgb = this.figma.documentColorProfile === 'DISPLAY_P3' && profile === 'SRGB';
    const rb = this.absoluteRenderBounds ?? this.absoluteBoundingBox;
    const box = this.absoluteBoundingBox;
    const w = Math.round(rb.width);
    const h = Math.round(rb.height);
    const data = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const c = this.render(rb.x + x - box.x, rb.y + y - box.y);
        if (c) data.set(p3ToSrgb ? displayP3ToSrgb(c) : c, (y * w + x) * 4);
      }
    }
    return encodePng({ width: w, height: h, channels: 4, data });
  }

  /** Own paint with visible children over it (frames clip them to the box). */
  render(x: number, y: number): Rgba | null {
    return this.colourAt(x, y);
  }
}

export class FakeContainer extends FakeNode implements ChildrenMixin {
  private kids: FakeNode[] = [];
  layoutMode: 'NONE' | 'HORIZONTAL' | 'VERTICAL' = 'NONE';

  get children(): readonly FakeNode[] {
    return Object.freeze([...this.kids]);
  }

  append(child: FakeNode): FakeNode {
    this.insertChild(this.kids.length, child);
    return child;
  }

  /** Puts a child on top as a file already holds it (scene set-up; no plugin API rules, not logged). */
  hold(child: FakeNode): void {
    child.parent = this;
    this.kids.push(child);
  }

  /** Removes a child from the list without any of insertChild's rules (the node is leaving). */
  detach(child: FakeNode): void {
    this.kids = this.kids.filter((c) => c !== child);
  }

  insertChild(index: number, child: SceneNode): void {
    const node = child as FakeNode;
    if (!Number.isInteger(index) || index < 0 || index > this.kids.length) throw new Error('Cannot insert node at index greater than the number of existing siblings');
    if (this.type === 'INSTANCE' || this.insideInstance()) throw new Error('Cannot move node. New parent is an instance or is inside of an instance');
    if (node.insideInstance()) throw new Error('Cannot move node. Node is inside of an instance');
    if (this.type === 'COMPONENT_SET' && node.type !== 'COMPONENT') throw new Error(`Cannot move node. A COMPONENT_SET can only have children of type COMPONENT, not ${node.type}`);
    this.change(`insertChild ${node.id} at ${index}`);
    if (node.parent) node.parent.detach(node);
    this.kids.splice(index, 0, node);
    node.parent = this;
  }

  override *subtree(): Generator<FakeNode> {
    yield this;
    for (const c of this.kids) yield* c.subtree();
  }

  override copy(): FakeNode {
    const copy = super.copy() as FakeContainer;
    copy.layoutMode = this.layoutMode;
    // Built directly: a clone's own sublayers are not reparented through the API (an instance's could not be).
    copy.kids = this.kids.map((c) => {
      const k = c.copy();
      k.parent = copy;
      return k;
    });
    return copy;
  }

  override render(x: number, y: number): Rgba | null {
    let out = this.colourAt(x, y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return out;
    const paint = (nodes: readonly FakeNode[]) => {
      for (const child of nodes) {
        if (!child.visible) continue;
        // A group's children share the group's containing parent's coordinates.
        if (child.type === 'GROUP') {
          paint((child as FakeContainer).kids);
          continue;
        }
        const c = child.render(x - child.x, y - child.y);
        if (c) out = over(c, out);
      }
    };
    paint(this.kids);
    return out;
  }
}

/** The current page; its selection is a frozen array (T PageNode.selection). */
export class FakePage extends FakeContainer {
  get selection(): readonly FakeNode[] {
    return Object.freeze([...this.figma.selection]);
  }
}

/** A group: no paint of its own; its box is the union of its children's (T GroupNode, relativeTransform). */
export class FakeGroup extends FakeContainer {
  /** The union of the children's (rotated) boxes in the containing parent's coordinates, which are the group's too. */
  private bounds(): Rect {
    const kids = this.children;
    if (kids.length === 0) return { x: 0, y: 0, width: 0, height: 0 };
    return boxAround(kids.flatMap((k) => k.corners(k.relativeTransform)));
  }
  // Groups keep rotation 0 here: the fake's user rotation (FakeFigma.userRotate) turns the children, whose transforms the plugin reads.
  override set relativeTransform(_t: Transform) {
    throw new Error('fake: groups are moved through their children here');
  }
  override get relativeTransform(): Transform {
    return [[1, 0, this.x], [0, 1, this.y]];
  }
  /** A group left without children deletes itself (D /api/GroupNode). */
  override detach(child: FakeNode): void {
    super.detach(child);
    if (this.children.length === 0 && this.parent) {
      this.parent.detach(this);
      this.parent = null;
      this.removed = true;
    }
  }
  override get x(): number {
    return this.bounds().x;
  }
  override get y(): number {
    return this.bounds().y;
  }
  override get width(): number {
    return this.bounds().width;
  }
  override get height(): number {
    return this.bounds().height;
  }
}

function boxAround(points: { x: number; y: number }[]): Rect {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}

function over(top: Rgba, under: Rgba | null): Rgba {
  if (!under || top[3] === 255) return top;
  const a = top[3] / 255;
  const b = (under[3] / 255) * (1 - a);
  const t = a + b;
  return [0, 1, 2].map((i) => Math.round((top[i]! * a + under[i]! * b) / t)).concat(Math.round(t * 255)) as Rgba;
}

/** Display P3 → sRGB: both use the sRGB transfer curve; the primaries differ (linear-light matrix, D65). */
export function displayP3ToSrgb([r, g, b, a]: Rgba): Rgba {
  const lin = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const enc = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v <= 0.0031308 ? v * 12.92 : 1.055 * v ** (1 / 2.4) - 0.055)));
  const [lr, lg, lb] = [r, g, b].map((v) => lin(v / 255)) as [number, number, number];
  return [enc(1.2249401 * lr - 0.2249404 * lg), enc(-0.0420569 * lr + 1.0420571 * lg), enc(-0.0196376 * lr - 0.0786361 * lg + 1.0982735 * lb), a];
}

export class FakeRectangle extends FakeNode implements RectangleNode {
  private positioning: 'AUTO' | 'ABSOLUTE' = 'AUTO';
  get layoutPositioning(): 'AUTO' | 'ABSOLUTE' {
    return this.positioning;
  }
  set layoutPositioning(value: 'AUTO' | 'ABSOLUTE') {
    if (value === 'ABSOLUTE' && (!this.parent || this.parent.layoutMode === 'NONE')) throw new Error('Can only set layoutPositioning = ABSOLUTE if the parent node has layoutMode !== NONE');
    this.change(`layoutPositioning=${value}`);
    this.positioning = value;
  }
}

export class FakeEllipse extends FakeNode implements EllipseNode {
  declare readonly type: 'ELLIPSE';
}

export class FakeLine extends FakeNode implements LineNode {
  declare readonly type: 'LINE';
  private lineStrokes: readonly Paint[] = Object.freeze([solid(0, 0, 0)]);
  private weight = 1;
  get strokes(): readonly Paint[] {
    return this.lineStrokes;
  }
  set strokes(value: readonly Paint[]) {
    if (!Array.isArray(value)) throw new TypeError('strokes must be an array');
    this.change('strokes');
    this.lineStrokes = Object.freeze(value.map((p) => Object.freeze({ ...p })));
  }
  get strokeWeight(): number {
    return this.weight;
  }
  set strokeWeight(value: number) {
    if (!(value >= 0)) throw new Error('strokeWeight must be a non-negative number');
    this.change(`strokeWeight=${value}`);
    this.weight = value;
  }
  /** A line is resized along its length; its height stays 0 (D figma-createline). */
  override resize(width: number, height: number): void {
    if (height !== 0) throw new Error('fake: a line is resized with height 0');
    if (!(width >= 0.01)) throw new Error('resize: width must be at least 0.01');
    this.change(`resize ${width}×0`);
    this.props.width = width;
  }
  override colourAt(): Rgba | null {
    return null;
  }
}

export const solid = (r: number, g: number, b: number): Paint => ({ type: 'SOLID', color: { r: r / 255, g: g / 255, b: b / 255 } });

export class FakeFigma {
  nextId = 1;
  readonly page: FakePage;
  selection: FakeNode[] = [];
  /** The file's colour profile (T DocumentNode.documentColorProfile): paint values are in this space. */
  documentColorProfile: 'SRGB' | 'DISPLAY_P3' = 'SRGB';
  readonly mutations: Mutation[] = [];
  readonly exports: { nodeId: string; settings: ExportSettingsImage }[] = [];
  readonly notifications: { message: string; error: boolean }[] = [];
  readonly images = new Map<string, Uint8Array>();
  readonly storage = new Map<string, unknown>();
  readonly posted: unknown[] = [];
  /** Receives what the main thread posts to the UI (structured-cloned, as postMessage delivers it). */
  toUi: ((message: unknown) => void) | null = null;
  readonly shownUi: { html: string; options: unknown }[] = [];
  readonly listeners = new Map<string, (() => void)[]>();
  uiOnMessage: ((message: unknown) => void) | undefined;

  constructor() {
    this.page = new FakePage(this, 'PAGE', 'Page 1', 100000, 100000);
  }

  /** A container of any frame-like type: FRAME, COMPONENT, COMPONENT_SET, INSTANCE, SECTION, GROUP. */
  container(type: string, name: string, x: number, y: number, width: number, height: number, fill: Paint | null, parent: FakeContainer = this.page): FakeContainer {
    const f = type === 'GROUP' ? new FakeGroup(this, type, name, 0, 0) : new FakeContainer(this, type, name, width, height);
    Object.assign(f.props, { x, y });
    if (fill) f.paints = Object.freeze([Object.freeze({ ...fill })]);
    // Built as a file would already hold it: an instance's sublayers come from its main component.
    parent.hold(f);
    return f;
  }

  frame(name: string, x: number, y: number, width: number, height: number, fill: Paint, parent: FakeContainer = this.page): FakeContainer {
    return this.container('FRAME', name, x, y, width, height, fill, parent);
  }

  shape(type: 'RECTANGLE' | 'ELLIPSE' | 'TEXT', name: string, parent: FakeContainer, x: number, y: number, width: number, height: number, fill: Paint): FakeNode {
    const s = type === 'RECTANGLE' ? new FakeRectangle(this, type, name, width, height) : new FakeNode(this, type, name, width, height);
    Object.assign(s.props, { x, y });
    s.paints = Object.freeze([Object.freeze({ ...fill })]);
    parent.hold(s);
    return s;
  }

  /** The user rotates a group on the canvas by `degrees` (counter-clockwise, Figma's sign) about its centre: each child turns. */
  userRotate(group: FakeGroup, degrees: number): void {
    const b = group.absoluteBoundingBox;
    // About the group's centre in the containing parent's coordinates (the group's own are the same, translated).
    const cx = group.x + b.width / 2;
    const cy = group.y + b.height / 2;
    const r = (degrees * Math.PI) / 180;
    const turn: Affine = [[Math.cos(r), Math.sin(r), cx - Math.cos(r) * cx - Math.sin(r) * cy], [-Math.sin(r), Math.cos(r), cy + Math.sin(r) * cx - Math.cos(r) * cy]];
    for (const k of group.children) this.userTransform(k, turn);
  }

  /** The user scales a group by `factor` from its top-left (Figma's scale tool, K): children move and resize; matrices keep unit axes. */
  userScale(group: FakeGroup, factor: number): void {
    const ox = group.x;
    const oy = group.y;
    for (const k of group.children) {
      k.props.x = ox + (k.props.x - ox) * factor;
      k.props.y = oy + (k.props.y - oy) * factor;
      k.props.width *= factor;
      k.props.height *= factor;
    }
  }

  /** The user drags a node by (dx, dy) in its containing parent's coordinates. */
  userMove(node: FakeNode, dx: number, dy: number): void {
    node.props.x += dx;
    node.props.y += dy;
  }

  private userTransform(node: FakeNode, outer: Affine): void {
    if (node instanceof FakeGroup) {
      for (const k of node.children) this.userTransform(k, outer);
      return;
    }
    const t = multiplyAffine(outer, node.relativeTransform);
    node.rotation = (Math.atan2(-t[1][0], t[0][0]) * 180) / Math.PI;
    node.props.x = t[0][2];
    node.props.y = t[1][2];
  }

  /** The user deletes a node (not through the plugin). */
  remove(node: FakeNode): void {
    node.parent!.detach(node);
    node.parent = null;
    for (const n of node.subtree()) n.removed = true;
  }

  /** Changes made since `since` (an index into `mutations`) to any of `nodes` or their descendants. */
  changesTo(nodes: FakeNode[], since = 0): Mutation[] {
    const ids = new Set(nodes.flatMap((n) => [...n.subtree()].map((d) => d.id)));
    return this.mutations.slice(since).filter((m) => ids.has(m.nodeId));
  }

  imageData(hash: string) {
    const bytes = this.images.get(hash);
    if (!bytes) throw new Error(`no image ${hash}`);
    const png = decodePng(bytes);
    if (png.channels !== 4) throw new Error('the fake keeps RGBA images only');
    return png;
  }

  private find(node: FakeNode, id: string): FakeNode | null {
    for (const n of node.subtree()) if (n.id === id) return n;
    return null;
  }

  api(): PluginApi {
    const self = this;
    return {
      currentPage: this.page,
      getNodeByIdAsync: async (id) => this.find(this.page, id),
      createRectangle: () => {
        const r = new FakeRectangle(this, 'RECTANGLE', 'Rectangle', 100, 100);
        this.mutations.push({ nodeId: r.id, change: 'createRectangle' });
        this.page.append(r);
        r.fills = [solid(217, 217, 217)];
        return r;
      },
      createEllipse: () => {
        const e = new FakeEllipse(this, 'ELLIPSE', 'Ellipse', 100, 100);
        this.mutations.push({ nodeId: e.id, change: 'createEllipse' });
        this.page.append(e);
        e.fills = [solid(217, 217, 217)];
        return e;
      },
      createLine: () => {
        const l = new FakeLine(this, 'LINE', 'Line', 100, 0);
        this.mutations.push({ nodeId: l.id, change: 'createLine' });
        this.page.append(l);
        return l;
      },
      group: (nodes, parent, index) => {
        if (nodes.length === 0) throw new Error('First argument to group() must be an array of at least one node');
        const target = parent as unknown as FakeContainer;
        if (target.type === 'INSTANCE' || target.insideInstance()) throw new Error('Cannot move node. New parent is an instance or is inside of an instance');
        const kids = nodes as unknown as FakeNode[];
        for (const k of kids) {
          if (k.removed) throw new Error(`The node (id ${k.id}) does not exist`);
          if (k.insideInstance()) throw new Error('Cannot move node. Node is inside of an instance');
          // Only grouping in place is modelled: the nodes' containing parent stays the same, so their transforms do too.
          if (k.parent !== target) throw new Error('fake: group() is modelled for children of `parent` only');
        }
        const group = new FakeGroup(this, 'GROUP', 'Group', 0, 0);
        this.mutations.push({ nodeId: group.id, change: 'group' });
        target.insertChild(index ?? target.children.length, group);
        for (const k of kids) group.insertChild(group.children.length, k);
        return group;
      },
      createImage: (bytes): FigmaImage => {
        if (bytes[0] !== 0x89 || bytes[1] !== 0x50) throw new Error('Image type is unsupported');
        const png = decodePng(bytes);
        if (png.width > 4096 || png.height > 4096) throw new Error('Image is too large');
        let h = 2166136261;
        for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
        const hash = h.toString(16).padStart(8, '0');
        this.images.set(hash, bytes);
        return { hash };
      },
      notify: (message, options) => {
        this.notifications.push({ message, error: options?.error ?? false });
        return { cancel: () => {} };
      },
      clientStorage: {
        getAsync: async (key) => structuredClone(this.storage.get(key)),
        setAsync: async (key, value) => void this.storage.set(key, structuredClone(value)),
      },
      ui: {
        postMessage: (m) => {
          const copy = structuredClone(m);
          this.posted.push(copy);
          this.toUi?.(copy);
        },
        get onmessage() {
          return self.uiOnMessage;
        },
        set onmessage(handler) {
          self.uiOnMessage = handler;
        },
      },
      on: (event, callback) => void this.listeners.set(event, [...(this.listeners.get(event) ?? []), callback]),
      showUI: (html, options) => void this.shownUi.push({ html, options }),
    };
  }
}
