// A fake of UXP's `photoshop` module that keeps Photoshop's documented rules and quirks, so host.ts is
// tested against behaviour rather than against nothing:
// - modifications, and here pixel reads too, outside executeAsModal reject; a second plugin's modal scope
//   rejects with number 9;
// - image data yields pixels only through async getData() and counts as leaked until disposed;
// - getPixels trims to where a layer has pixels (origins may be negative or past the canvas) and honours
//   componentSize; getSelection has no such option and answers at the document's depth;
// - no selection: getSelection rejects; the composite is RGB over a background layer, RGBA without;
// - history: each change outside a suspension is a state; a suspension coalesces into one named state
//   on commit, rolls back on commit false, and the modal scope's exit resolves leftovers (commit on
//   return, roll back on throw).
import { bounds, type Bounds, intersect, isEmpty } from '@kirie/core/image/bounds';
import type { PhotoshopModule, PsBounds, PsDescriptor, PsDocument, PsExecutionContext, PsGetPixelsOptions, PsImageData, PsLayer, PsPixels, PsRect } from '../src/photoshop-api.js';

export interface FakeLayerState {
  id: number;
  name: string;
  kind: 'pixel' | 'background';
  /** RGBA over `bounds` (canvas coordinates). */
  bounds: Bounds;
  rgba: Uint8Array;
  /** Whole-canvas user mask (255 = reveal), when the layer has one. */
  mask: Uint8Array | null;
}

type Op = 'createPixelLayer' | 'putPixels' | 'putLayerMask' | 'batchPlay';

export class FakeImageData implements PsImageData {
  readonly colorProfile: string;
  readonly isChunky = true;
  disposed = false;
  constructor(
    private readonly owner: FakePhotoshop,
    readonly width: number,
    readonly height: number,
    readonly components: number,
    readonly componentSize: 8 | 16 | 32,
    readonly colorSpace: string,
    private readonly data: Uint8Array | Uint16Array | Float32Array,
    colorProfile = '',
  ) {
    this.colorProfile = colorProfile;
    owner.live.add(this);
  }
  get hasAlpha(): boolean {
    return this.components === 2 || this.components === 4;
  }
  async getData(options: { chunky?: boolean } = {}): Promise<Uint8Array | Uint16Array | Float32Array> {
    if (this.disposed) throw new Error('image data was disposed');
    if (options.chunky === false) throw new Error('the fake only serves chunky data');
    await Promise.resolve();
    return this.data.slice();
  }
  /** What putPixels reads; real Photoshop reads the buffer natively. */
  raw(): Uint8Array | Uint16Array | Float32Array {
    if (this.disposed) throw new Error('image data was disposed');
    return this.data;
  }
  dispose(): void {
    this.disposed = true;
    this.owner.live.delete(this);
  }
}

export class FakeDocument implements PsDocument {
  layersState: FakeLayerState[] = [];
  activeId: number | null = null;
  selection: { bounds: Bounds; data: Uint8Array } | null = null;
  history: string[] = ['Open'];
  mode = 'RGBColorMode';

  constructor(
    private readonly ps: FakePhotoshop,
    readonly id: number,
    readonly title: string,
    readonly width: number,
    readonly height: number,
    readonly bitsPerChannel: 8 | 16 = 8,
  ) {}

  get layers(): PsLayer[] {
    return [...this.layersState].reverse().map((l) => this.view(l));
  }
  get activeLayers(): PsLayer[] {
    const l = this.layersState.find((x) => x.id === this.activeId);
    return l ? [this.view(l)] : [];
  }

  private view(l: FakeLayerState): PsLayer {
    const b = pixelBounds(l) ?? l.bounds;
    return { id: l.id, name: l.name, kind: l.kind, boundsNoEffects: { left: b.x, top: b.y, right: b.x + b.width, bottom: b.y + b.height } };
  }

  /** Adds a layer on top (test setup, not a user action: no history). */
  addLayer(name: string, at: Bounds, fill: (x: number, y: number) => [number, number, number, number], kind: 'pixel' | 'background' = 'pixel'): FakeLayerState {
    const rgba = new Uint8Array(at.width * at.height * 4);
    for (let y = 0; y < at.height; y++) for (let x = 0; x < at.width; x++) rgba.set(fill(at.x + x, at.y + y), (y * at.width + x) * 4);
    const layer: FakeLayerState = { id: this.ps.nextId++, name, kind, bounds: at, rgba, mask: null };
    this.layersState.push(layer);
    this.activeId = layer.id;
    return layer;
  }

  async createPixelLayer(options: { name?: string } = {}): Promise<PsLayer | null> {
    this.ps.modify(this, 'createPixelLayer', 'New Layer');
    const layer: FakeLayerState = { id: this.ps.nextId++, name: options.name ?? 'Layer', kind: 'pixel', bounds: bounds(0, 0, 0, 0), rgba: new Uint8Array(0), mask: null };
    const below = this.layersState.findIndex((l) => l.id === this.activeId);
    this.layersState.splice(below + 1, 0, layer);
    this.activeId = layer.id;
    return this.view(layer);
  }

  layer(id: number): FakeLayerState {
    const l = this.layersState.find((x) => x.id === id);
    if (!l) throw new Error(`no layer with id ${id}`);
    return l;
  }

  /** What the canvas shows: layers bottom-up, source-over, each layer's mask applied. */
  composite(): Uint8Array {
    const out = new Uint8Array(this.width * this.height * 4);
    for (const l of this.layersState) {
      for (let y = Math.max(0, l.bounds.y); y < Math.min(this.height, l.bounds.y + l.bounds.height); y++) {
        for (let x = Math.max(0, l.bounds.x); x < Math.min(this.width, l.bounds.x + l.bounds.width); x++) {
          const s = ((y - l.bounds.y) * l.bounds.width + (x - l.bounds.x)) * 4;
          const o = (y * this.width + x) * 4;
          const a = (l.rgba[s + 3] / 255) * (l.mask ? l.mask[y * this.width + x] / 255 : 1);
          const under = (out[o + 3] / 255) * (1 - a);
          const total = a + under;
          for (let c = 0; c < 3; c++) out[o + c] = total ? Math.round((l.rgba[s + c] * a + out[o + c] * under) / total) : 0;
          out[o + 3] = Math.round(total * 255);
        }
      }
    }
    return out;
  }

  snapshot(): { layers: FakeLayerState[]; activeId: number | null } {
    return { layers: this.layersState.map((l) => ({ ...l, rgba: l.rgba.slice(), mask: l.mask?.slice() ?? null })), activeId: this.activeId };
  }
  restore(s: { layers: FakeLayerState[]; activeId: number | null }): void {
    this.layersState = s.layers;
    this.activeId = s.activeId;
  }
}

function pixelBounds(l: FakeLayerState): Bounds | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let y = 0; y < l.bounds.height; y++) {
    for (let x = 0; x < l.bounds.width; x++) {
      if (!l.rgba[(y * l.bounds.width + x) * 4 + 3]) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  return x1 < 0 ? null : bounds(l.bounds.x + x0, l.bounds.y + y0, x1 - x0 + 1, y1 - y0 + 1);
}

function toBounds(r: PsRect): Bounds {
  return 'right' in r ? bounds(r.left, r.top, r.right - r.left, r.bottom - r.top) : bounds(r.left, r.top, r.width, r.height);
}
const toPs = (b: Bounds): PsBounds => ({ left: b.x, top: b.y, right: b.x + b.width, bottom: b.y + b.height });

interface Suspension {
  doc: FakeDocument;
  name: string;
  before: ReturnType<FakeDocument['snapshot']>;
  modified: boolean;
}

export class FakePhotoshop {
  nextId = 1;
  documents: FakeDocument[] = [];
  activeDocument: FakeDocument | null = null;
  readonly live = new Set<FakeImageData>();
  /** Another plugin holds the modal scope: executeAsModal rejects (error number 9). */
  otherPluginModal = false;
  /** The next call of this operation throws, as Photoshop does when a command fails. */
  failNext: Op | null = null;
  private modalDepth = 0;
  private suspensions = new Map<number, Suspension>();
  private nextSuspension = 1;

  openDocument(title: string, width: number, height: number, bitsPerChannel: 8 | 16 = 8): FakeDocument {
    const doc = new FakeDocument(this, this.nextId++, title, width, height, bitsPerChannel);
    this.documents.push(doc);
    this.activeDocument = doc;
    return doc;
  }

  closeDocument(doc: FakeDocument): void {
    this.documents = this.documents.filter((d) => d !== doc);
    if (this.activeDocument === doc) this.activeDocument = this.documents[0] ?? null;
  }

  /** Every state-changing call goes through here: modal check, injected failure, history. */
  modify(doc: FakeDocument, op: Op, historyName: string): void {
    if (this.modalDepth === 0) throw new Error(`${op}: this command may modify the state of Photoshop and must be executed within executeAsModal`);
    if (this.failNext === op) {
      this.failNext = null;
      throw new Error(`${op} failed`);
    }
    const open = [...this.suspensions.values()].find((s) => s.doc === doc);
    if (open) open.modified = true;
    else doc.history.push(historyName);
  }

  /** The strict reading of the docs: the imaging API only inside a modal scope. */
  private requireModal(what: string): void {
    if (this.modalDepth === 0) throw new Error(`${what}: must be called inside executeAsModal`);
  }

  private doc(id: number | undefined): FakeDocument {
    const doc = id === undefined || id < 0 ? this.activeDocument : this.documents.find((d) => d.id === id);
    if (!doc) throw new Error(`no document ${id ?? '(active)'}`);
    return doc;
  }

  module(): PhotoshopModule {
    const self = this;
    return {
      app: {
        get activeDocument() {
          return self.activeDocument;
        },
        get documents() {
          return self.documents;
        },
      },
      core: {
        executeAsModal: async <T>(target: (context: PsExecutionContext, descriptor: PsDescriptor) => Promise<T>, options: { commandName: string; descriptor?: PsDescriptor }): Promise<T> => {
          if (!options?.commandName) throw new Error('executeAsModal: commandName is required');
          if (this.otherPluginModal) throw Object.assign(new Error('host is in a modal state'), { number: 9 });
          this.modalDepth++;
          const mine = new Set<number>();
          const context: PsExecutionContext = {
            isCancelled: false,
            reportProgress: () => {},
            hostControl: {
              suspendHistory: async ({ documentID, name }) => {
                const doc = this.doc(documentID);
                const id = this.nextSuspension++;
                this.suspensions.set(id, { doc, name, before: doc.snapshot(), modified: false });
                mine.add(id);
                return id;
              },
              resumeHistory: async (id, commit = true) => this.resume(id, commit, mine),
            },
          };
          try {
            const result = await target(context, options.descriptor ?? {});
            for (const id of [...mine]) this.resume(id, true, mine);
            return result;
          } catch (err) {
            for (const id of [...mine]) this.resume(id, false, mine);
            throw err;
          } finally {
            this.modalDepth--;
          }
        },
      },
      action: {
        batchPlay: async (commands) => {
          for (const c of commands) {
            const at = c.at as { _ref?: string; _value?: string } | undefined;
            if (c._obj !== 'make' || at?._ref !== 'channel' || at._value !== 'mask') throw new Error(`fake batchPlay only knows "make mask", got ${JSON.stringify(c)}`);
            const doc = this.doc(undefined);
            this.modify(doc, 'batchPlay', 'Add Layer Mask');
            const layer = doc.layer(doc.activeId!);
            if (layer.mask) throw new Error('the layer already has a mask');
            const using = (c.using as { _value?: string } | undefined)?._value;
            layer.mask = new Uint8Array(doc.width * doc.height).fill(using === 'hideAll' ? 0 : 255);
          }
          return commands.map(() => ({}));
        },
      },
      imaging: {
        getPixels: async (o: PsGetPixelsOptions): Promise<PsPixels> => {
          this.requireModal('getPixels');
          const doc = this.doc(o.documentID);
          if (o.colorSpace !== undefined && o.colorSpace !== 'RGB') throw new Error('the fake serves RGB only');
          let area: Bounds;
          let rgba: Uint8Array;
          let components = 4;
          if (o.layerID !== undefined) {
            const l = doc.layer(o.layerID);
            const trimmed = pixelBounds(l);
            if (!trimmed) throw new Error('the layer has no pixels');
            area = o.sourceBounds ? intersect(trimmed, toBounds(o.sourceBounds)) : trimmed;
            rgba = crop(l.rgba, l.bounds, area, 4);
          } else {
            area = o.sourceBounds ? intersect(bounds(0, 0, doc.width, doc.height), toBounds(o.sourceBounds)) : bounds(0, 0, doc.width, doc.height);
            rgba = crop(doc.composite(), bounds(0, 0, doc.width, doc.height), area, 4);
            if (doc.layersState[0]?.kind === 'background') {
              components = 3;
              rgba = rgba.filter((_, i) => i % 4 !== 3);
            }
          }
          if (isEmpty(area)) throw new Error('no pixels in the requested bounds');
          const size = o.componentSize === undefined || o.componentSize === -1 ? doc.bitsPerChannel : o.componentSize;
          const data = size === 16 ? Uint16Array.from(rgba, (v) => Math.round((v * 32768) / 255)) : rgba;
          return { imageData: new FakeImageData(this, area.width, area.height, components, size === 16 ? 16 : 8, 'RGB', data, o.colorProfile), sourceBounds: toPs(area), level: 0 };
        },
        getSelection: async (o) => {
          this.requireModal('getSelection');
          const doc = this.doc(o.documentID);
          if (!doc.selection) throw new Error('Could not complete the command because there is no selection');
          const { bounds: b, data } = doc.selection;
          const values = doc.bitsPerChannel === 16 ? Uint16Array.from(data, (v) => Math.round((v * 32768) / 255)) : data.slice();
          return { imageData: new FakeImageData(this, b.width, b.height, 1, doc.bitsPerChannel, 'Grayscale', values), sourceBounds: toPs(b) };
        },
        createImageDataFromBuffer: async (data, o) => {
          if (data.length !== o.width * o.height * o.components) throw new Error(`buffer has ${data.length} values, ${o.width}×${o.height}×${o.components} needs ${o.width * o.height * o.components}`);
          if (!(data instanceof Uint8Array)) throw new Error('the fake takes 8-bit buffers only');
          return new FakeImageData(this, o.width, o.height, o.components, 8, o.colorSpace, data.slice(), o.colorProfile);
        },
        putPixels: async (o) => {
          const doc = this.doc(o.documentID);
          this.modify(doc, 'putPixels', 'Put Pixels');
          const l = doc.layer(o.layerID);
          const img = o.imageData as FakeImageData;
          if (img.components !== 4 || img.colorSpace !== 'RGB') throw new Error('the fake puts RGBA pixels only');
          const at = o.targetBounds ?? { left: 0, top: 0 };
          l.bounds = bounds(at.left, at.top, img.width, img.height);
          l.rgba = Uint8Array.from(img.raw());
        },
        putLayerMask: async (o) => {
          const doc = this.doc(o.documentID);
          this.modify(doc, 'putLayerMask', 'Edit Layer Mask');
          const l = doc.layer(o.layerID);
          const img = o.imageData as FakeImageData;
          if (img.components !== 1 || img.colorSpace !== 'Grayscale') throw new Error('a layer mask takes single-component grayscale data');
          if (!l.mask) throw new Error('the layer has no user mask');
          const at = o.targetBounds ?? { left: 0, top: 0 };
          if (o.replace !== false) l.mask.fill(255);
          const src = img.raw();
          for (let y = 0; y < img.height; y++) {
            for (let x = 0; x < img.width; x++) {
              const cx = at.left + x;
              const cy = at.top + y;
              if (cx >= 0 && cy >= 0 && cx < doc.width && cy < doc.height) l.mask[cy * doc.width + cx] = src[y * img.width + x];
            }
          }
        },
      },
    };
  }

  private resume(id: number, commit: boolean, mine: Set<number>): void {
    const s = this.suspensions.get(id);
    if (!s) throw new Error(`no history suspension ${id}`);
    this.suspensions.delete(id);
    mine.delete(id);
    if (!commit) s.doc.restore(s.before);
    else if (s.modified) s.doc.history.push(s.name);
  }
}

function crop(data: Uint8Array, area: Bounds, want: Bounds, channels: number): Uint8Array {
  const out = new Uint8Array(want.width * want.height * channels);
  for (let y = 0; y < want.height; y++) {
    for (let x = 0; x < want.width; x++) {
      const sx = want.x + x - area.x;
      const sy = want.y + y - area.y;
      if (sx < 0 || sy < 0 || sx >= area.width || sy >= area.height) continue;
      for (let c = 0; c < channels; c++) out[(y * want.width + x) * channels + c] = data[(sy * area.width + sx) * channels + c];
    }
  }
  return out;
}
