// A fake `figma` global with the plugin API's rules and quirks, so host.ts is tested against behaviour:
// - paint arrays are frozen: a fill changes only by assigning a new array;
// - exportAsync renders the node's absoluteRenderBounds (a drop shadow makes them larger than the box),
//   skips hidden nodes, and only knows PNG at SCALE 1 here;
// - createImage checks for an image, refuses sides over 4096 and answers a content hash;
// - layoutPositioning = 'ABSOLUTE' throws unless the parent uses auto layout;
// - nodes are found by id only asynchronously (documentAccess: dynamic-page); removed nodes stay removed.
import { decodePng, encodePng } from '@kirie/core/image/png';
import type { ChildrenMixin, ExportSettingsImage, FigmaImage, Paint, PluginApi, Rect, RectangleNode, SceneNode } from '../src/figma-api.js';

type Rgba = [number, number, number, number];

export class FakeNode implements SceneNode {
  name: string;
  visible = true;
  x = 0;
  y = 0;
  width: number;
  height: number;
  rotation = 0;
  parent: FakeContainer | null = null;
  removed = false;
  /** Pixels of drop shadow around the box (makes absoluteRenderBounds larger than the box). */
  shadow = 0;
  opacity = 1;
  protected paints: readonly Paint[] = Object.freeze([]);

  constructor(
    readonly figma: FakeFigma,
    readonly type: string,
    name: string,
    width: number,
    height: number,
  ) {
    this.id = `${figma.nextId++}:1`;
    this.name = name;
    this.width = width;
    this.height = height;
  }
  readonly id: string;

  get fills(): readonly Paint[] {
    return this.paints;
  }
  set fills(value: readonly Paint[]) {
    if (!Array.isArray(value)) throw new TypeError('fills must be an array');
    this.paints = Object.freeze(value.map((p) => Object.freeze({ ...p })));
  }

  get absoluteBoundingBox(): Rect {
    const origin = this.parent instanceof FakeNode ? this.parent.absoluteBoundingBox : { x: 0, y: 0 };
    return { x: origin.x + this.x, y: origin.y + this.y, width: this.width, height: this.height };
  }

  get absoluteRenderBounds(): Rect | null {
    if (!this.visible) return null;
    const b = this.absoluteBoundingBox;
    return { x: b.x - this.shadow, y: b.y - this.shadow, width: b.width + 2 * this.shadow, height: b.height + 2 * this.shadow };
  }

  resize(width: number, height: number): void {
    if (!(width >= 0.01 && height >= 0.01)) throw new Error('resize: width and height must be at least 0.01');
    this.width = width;
    this.height = height;
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
    if (this.removed) throw new Error('The node has been removed');
    if (settings.format !== 'PNG' || (settings.constraint && (settings.constraint.type !== 'SCALE' || settings.constraint.value !== 1))) throw new Error('the fake exports PNG at scale 1 only');
    const rb = this.absoluteRenderBounds ?? this.absoluteBoundingBox;
    const box = this.absoluteBoundingBox;
    const w = Math.round(rb.width);
    const h = Math.round(rb.height);
    const data = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const c = this.render(rb.x + x - box.x, rb.y + y - box.y);
        if (c) data.set(c, (y * w + x) * 4);
      }
    }
    return encodePng({ width: w, height: h, channels: 4, data });
  }

  /** Own paint with visible children over it (frames clip them to the box). */
  protected render(x: number, y: number): Rgba | null {
    return this.colourAt(x, y);
  }
}

export class FakeContainer extends FakeNode implements ChildrenMixin {
  children: FakeNode[] = [];
  layoutMode: 'NONE' | 'HORIZONTAL' | 'VERTICAL' = 'NONE';

  append(child: FakeNode): FakeNode {
    this.insertChild(this.children.length, child);
    return child;
  }

  insertChild(index: number, child: SceneNode): void {
    const node = child as FakeNode;
    if (node.parent) node.parent.children = node.parent.children.filter((c) => c !== node);
    this.children.splice(index, 0, node);
    node.parent = this;
  }

  protected override render(x: number, y: number): Rgba | null {
    let out = this.colourAt(x, y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return out;
    for (const child of this.children) {
      if (!child.visible) continue;
      const c = child.colourAt(x - child.x, y - child.y);
      if (!c) continue;
      out = over(c, out);
    }
    return out;
  }
}

function over(top: Rgba, under: Rgba | null): Rgba {
  if (!under || top[3] === 255) return top;
  const a = top[3] / 255;
  const b = (under[3] / 255) * (1 - a);
  const t = a + b;
  return [0, 1, 2].map((i) => Math.round((top[i]! * a + under[i]! * b) / t)).concat(Math.round(t * 255)) as Rgba;
}

export class FakeRectangle extends FakeNode implements RectangleNode {
  private positioning: 'AUTO' | 'ABSOLUTE' = 'AUTO';
  get layoutPositioning(): 'AUTO' | 'ABSOLUTE' {
    return this.positioning;
  }
  set layoutPositioning(value: 'AUTO' | 'ABSOLUTE') {
    if (value === 'ABSOLUTE' && (!this.parent || this.parent.layoutMode === 'NONE')) throw new Error('Can only set layoutPositioning = ABSOLUTE if the parent node has layoutMode !== NONE');
    this.positioning = value;
  }
}

export const solid = (r: number, g: number, b: number): Paint => ({ type: 'SOLID', color: { r: r / 255, g: g / 255, b: b / 255 } });

export class FakeFigma {
  nextId = 1;
  readonly page: FakeContainer;
  selection: FakeNode[] = [];
  readonly notifications: { message: string; error: boolean }[] = [];
  readonly images = new Map<string, Uint8Array>();
  readonly storage = new Map<string, unknown>();
  readonly posted: unknown[] = [];

  constructor() {
    this.page = new FakeContainer(this, 'PAGE', 'Page 1', 100000, 100000);
  }

  frame(name: string, x: number, y: number, width: number, height: number, fill: Paint, parent: FakeContainer = this.page): FakeContainer {
    const f = new FakeContainer(this, 'FRAME', name, width, height);
    Object.assign(f, { x, y });
    f.fills = [fill];
    parent.append(f);
    return f;
  }

  shape(type: 'RECTANGLE' | 'ELLIPSE' | 'TEXT', name: string, parent: FakeContainer, x: number, y: number, width: number, height: number, fill: Paint): FakeNode {
    const s = type === 'RECTANGLE' ? new FakeRectangle(this, type, name, width, height) : new FakeNode(this, type, name, width, height);
    Object.assign(s, { x, y });
    s.fills = [fill];
    return parent.append(s);
  }

  remove(node: FakeNode): void {
    node.parent!.children = node.parent!.children.filter((c) => c !== node);
    node.parent = null;
    node.removed = true;
  }

  imageData(hash: string) {
    const bytes = this.images.get(hash);
    if (!bytes) throw new Error(`no image ${hash}`);
    const png = decodePng(bytes);
    if (png.channels !== 4) throw new Error('the fake keeps RGBA images only');
    return png;
  }

  private find(node: FakeNode, id: string): FakeNode | null {
    if (node.id === id) return node;
    for (const c of node instanceof FakeContainer ? node.children : []) {
      const hit = this.find(c, id);
      if (hit) return hit;
    }
    return null;
  }

  api(): PluginApi {
    const self = this;
    return {
      currentPage: {
        get selection() {
          return Object.freeze([...self.selection]);
        },
      },
      getNodeByIdAsync: async (id) => this.find(this.page, id),
      createRectangle: () => {
        const r = new FakeRectangle(this, 'RECTANGLE', 'Rectangle', 100, 100);
        this.page.append(r);
        r.fills = [solid(217, 217, 217)];
        return r;
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
      ui: { postMessage: (m) => void this.posted.push(m), onmessage: undefined },
      on: () => {},
      showUI: () => {},
    };
  }
}
