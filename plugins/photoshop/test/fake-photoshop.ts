// A fake of UXP's `photoshop` module that keeps Photoshop's documented rules and quirks, so host.ts is
// tested against behaviour rather than against nothing. Each rule names its source:
// - modifications, and here pixel reads too, outside executeAsModal reject; a second plugin's modal scope
//   (or a dialog) rejects with number 9, "host is in a modal state" (ps_reference/media/executeasmodal.md);
// - image data yields pixels only through async getData() and counts as leaked until disposed
//   (ps_reference/media/imaging.md, "PhotoshopImageData" and "Performance considerations");
// - getPixels trims to where a layer has pixels (origins may be negative or past the canvas) and honours
//   componentSize; getSelection has no such option and answers at the document's depth, 16-bit being
//   0..32768 (imaging.md, getPixels options and the "Component Size / Value range" table);
// - no selection: getSelection rejects; the composite is RGB over a background layer, RGBA without;
// - `imaging` exists only from Photoshop 25.0 release builds; 24.2 prerelease builds had `imaging_beta`
//   (ps_reference/changelog: "Photoshop 24.2 … Imaging API Beta", "24.4 … imaging_beta … now imaging");
// - document.layers holds the top level only, a group's `layers` its own children (@types/photoshop
//   dom/collections/Layers.d.ts; changelog "Prerelease Build 61": a group layer has a valid `layers`);
// - bitsPerChannel is Constants.BitsPerChannelType, "bitDepth8" | "bitDepth16" | "bitDepth32", and mode
//   Constants.DocumentMode, e.g. "RGBColorMode" (@types/photoshop dom/Constants.d.ts);
// - batchPlay commands act on the ACTIVE document and its targeted layer (batchplay.md: references without
//   an id resolve to the target/active one); the fake also takes the strict reading that createPixelLayer
//   and `select` work only in the active document; app.activeDocument has a setter (dom/Photoshop.d.ts);
//   the user may switch documents and layers at any time between modal scopes;
// - layer XMP lives in the layer's `metadata` descriptor as `layerXMP` (ExtendScript Layer.xmpMetadata;
//   no UXP DOM property exists, so batchPlay get/set of `metadata`);
// - putPixels/putLayerMask take image data at the document's depth: the docs promise no conversion on
//   write, so the fake refuses a mismatch rather than guess;
// - history: each change outside a suspension is a state; a suspension coalesces into one named state
//   on commit, rolls back on commit false, and the modal scope's exit resolves leftovers (commit on
//   return, roll back on throw);
// - paths: Document.pathItems.add(name, SubPathInfo[]) makes a path of one subpath per SubPathInfo, each of
//   PathPointInfo objects made with `new app.PathPointInfo()` / `new app.SubPathInfo()` (ps_reference
//   classes/pathitems, subpathinfo, pathpointinfo since 23.3; @types/photoshop dom/Photoshop.d.ts has both
//   constructors on `app`); reading gives PathItem.subPathItems[i].pathPoints[j].anchor as [x, y]
//   (classes/pathpoint). The unit is not documented for UXP; the fake keeps anchors in points (1/72 inch,
//   ExtendScript's convention), so code that forgets the resolution puts the pose in the wrong place on any
//   document not at 72 ppi. kind must be a Constants.PointKind value, operation a ShapeOperation value
//   (dom/Constants.d.ts; the fake's strings stand for whatever the constants hold). Adding a path changes
//   the document (modal scope, history).
import { bounds, type Bounds, intersect, isEmpty } from '@kirie/core/image/bounds';
import type { PhotoshopModule, PsBitsPerChannel, PsBounds, PsDescriptor, PsDocument, PsExecutionContext, PsGetPixelsOptions, PsImageData, PsLayer, PsPathItem, PsPathItems, PsPathPointInfo, PsPixels, PsRect, PsSubPathInfo } from '../src/photoshop-api.js';

export interface FakeLayerState {
  id: number;
  name: string;
  kind: 'pixel' | 'background' | 'group';
  /** The group it sits in, or null at the top level. */
  parentId: number | null;
  /** The layer's XMP packet (metadata.layerXMP), when something wrote one. */
  xmp: string | null;
  /** RGBA over `bounds` (canvas coordinates). */
  bounds: Bounds;
  rgba: Uint8Array;
  /** Whole-canvas user mask (255 = reveal), when the layer has one. */
  mask: Uint8Array | null;
}

type Op = 'createPixelLayer' | 'putPixels' | 'putLayerMask' | 'batchPlay' | 'addPath';

/** The fake's Constants.PointKind / ShapeOperation (their real values are read at run time by the plugin). */
export const POINT_KIND = { CORNERPOINT: 'cornerPoint', SMOOTHPOINT: 'smoothPoint' } as const;
export const SHAPE_OPERATION = { SHAPEADD: 'add', SHAPEXOR: 'xor' } as const;

export class FakePathPointInfo implements PsPathPointInfo {
  anchor: number[] = [];
  leftDirection: number[] = [];
  rightDirection: number[] = [];
  kind = '';
}

export class FakeSubPathInfo implements PsSubPathInfo {
  closed = false;
  operation = '';
  entireSubPath: PsPathPointInfo[] = [];
}

export interface FakePathState {
  id: number;
  name: string;
  /** Anchors in points (1/72 inch). */
  subpaths: { closed: boolean; points: { anchor: [number, number]; kind: string; leftDirection: [number, number]; rightDirection: [number, number] }[] }[];
}

const pair = (v: unknown, what: string): [number, number] => {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => typeof n === 'number' && Number.isFinite(n))) throw new Error(`PathItems.add: ${what} must be [horizontal, vertical] numbers`);
  return [v[0], v[1]];
};
export type Depth = 8 | 16 | 32;
const BITS: Record<Depth, PsBitsPerChannel> = { 8: 'bitDepth8', 16: 'bitDepth16', 32: 'bitDepth32' };

/** 8-bit values as Photoshop holds them at `depth`: 16-bit is 0..32768, 32-bit float 0..1 (imaging.md). */
function fromEight(data: Uint8Array, depth: Depth): Uint8Array | Uint16Array | Float32Array {
  if (depth === 16) return Uint16Array.from(data, (v) => Math.round((v * 32768) / 255));
  if (depth === 32) return Float32Array.from(data, (v) => v / 255);
  return data.slice();
}
function toEight(data: Uint8Array | Uint16Array | Float32Array, depth: Depth): Uint8Array {
  return depth === 8 ? Uint8Array.from(data) : Uint8Array.from(data, (v) => Math.round(Math.min(255, Math.max(0, depth === 16 ? (v * 255) / 32768 : v * 255))));
}

export class FakeImageData implements PsImageData {
  readonly colorProfile: string;
  readonly isChunky = true;
  disposed = false;
  constructor(
    private readonly owner: FakePhotoshop,
    readonly width: number,
    readonly height: number,
    readonly components: number,
    readonly componentSize: Depth,
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
  resolution = 72;
  pathsState: FakePathState[] = [];

  readonly bitsPerChannel: PsBitsPerChannel;

  constructor(
    private readonly ps: FakePhotoshop,
    readonly id: number,
    readonly title: string,
    readonly width: number,
    readonly height: number,
    readonly depth: Depth = 8,
  ) {
    this.bitsPerChannel = BITS[depth];
  }

  /** Top level only, topmost first, as Document.layers. */
  get layers(): PsLayer[] {
    return this.childrenOf(null);
  }
  get activeLayers(): PsLayer[] {
    const l = this.layersState.find((x) => x.id === this.activeId);
    return l ? [this.view(l)] : [];
  }

  private childrenOf(parentId: number | null): PsLayer[] {
    return this.layersState.filter((l) => l.parentId === parentId).reverse().map((l) => this.view(l));
  }

  private view(l: FakeLayerState): PsLayer {
    const b = pixelBounds(l) ?? l.bounds;
    const doc = this;
    return {
      id: l.id,
      name: l.name,
      kind: l.kind,
      boundsNoEffects: { left: b.x, top: b.y, right: b.x + b.width, bottom: b.y + b.height },
      get layers() {
        return l.kind === 'group' ? doc.childrenOf(l.id) : null;
      },
    };
  }

  /** Document.pathItems: live views of the paths; add() checks its arguments like the typed DOM would. */
  get pathItems(): PsPathItems {
    const doc = this;
    const views = this.pathsState.map((p) => this.pathView(p));
    return Object.assign(views, {
      add(name: string, entirePath: PsSubPathInfo[]): PsPathItem {
        return doc.addPath(name, entirePath);
      },
    });
  }

  private pathView(p: FakePathState): PsPathItem {
    const doc = this;
    return {
      id: p.id,
      get name() {
        return p.name;
      },
      set name(_v: string) {
        throw new Error('fake: renaming paths is not modelled');
      },
      get subPathItems() {
        if (!doc.pathsState.includes(p)) throw new Error('the path no longer exists');
        return p.subpaths.map((sp) => ({ closed: sp.closed, pathPoints: sp.points.map((pt) => Object.freeze({ anchor: Object.freeze([...pt.anchor]), kind: pt.kind, leftDirection: Object.freeze([...pt.leftDirection]), rightDirection: Object.freeze([...pt.rightDirection]) })) }));
      },
    };
  }

  private addPath(name: string, entirePath: PsSubPathInfo[]): PsPathItem {
    if (typeof name !== 'string' || !name) throw new Error('PathItems.add: name must be a non-empty string');
    if (!Array.isArray(entirePath) || entirePath.length === 0) throw new Error('PathItems.add: entirePath must be a non-empty array of SubPathInfo');
    const kinds = new Set<string>(Object.values(POINT_KIND));
    const operations = new Set<string>(Object.values(SHAPE_OPERATION));
    const subpaths = entirePath.map((sp) => {
      if (!(sp instanceof FakeSubPathInfo)) throw new Error('PathItems.add: entirePath holds SubPathInfo objects (new app.SubPathInfo())');
      if (!operations.has(sp.operation)) throw new Error(`PathItems.add: operation must be a Constants.ShapeOperation value, got ${JSON.stringify(sp.operation)}`);
      if (!Array.isArray(sp.entireSubPath) || sp.entireSubPath.length === 0) throw new Error('PathItems.add: a subpath needs at least one PathPointInfo');
      return {
        closed: sp.closed === true,
        points: sp.entireSubPath.map((pt) => {
          if (!(pt instanceof FakePathPointInfo)) throw new Error('PathItems.add: entireSubPath holds PathPointInfo objects (new app.PathPointInfo())');
          if (!kinds.has(pt.kind)) throw new Error(`PathItems.add: kind must be a Constants.PointKind value, got ${JSON.stringify(pt.kind)}`);
          return { anchor: pair(pt.anchor, 'anchor'), kind: pt.kind, leftDirection: pair(pt.leftDirection, 'leftDirection'), rightDirection: pair(pt.rightDirection, 'rightDirection') };
        }),
      };
    });
    this.ps.modify(this, 'addPath', 'New Path');
    const path: FakePathState = { id: this.ps.nextId++, name, subpaths };
    this.pathsState.push(path);
    return this.pathView(path);
  }

  /** The user edits a path with Photoshop's tools: `edit` maps each anchor, in canvas pixels (not logged: the user's own step). */
  userEditPath(name: string, edit: (p: { x: number; y: number }, subpath: number) => { x: number; y: number }): void {
    const path = this.pathsState.find((p) => p.name === name);
    if (!path) throw new Error(`no path "${name}"`);
    const k = 72 / this.resolution;
    const move = (a: [number, number], i: number): [number, number] => {
      const q = edit({ x: a[0] / k, y: a[1] / k }, i);
      return [q.x * k, q.y * k];
    };
    path.subpaths.forEach((sp, i) => sp.points.forEach((pt) => Object.assign(pt, { anchor: move(pt.anchor, i), leftDirection: move(pt.leftDirection, i), rightDirection: move(pt.rightDirection, i) })));
  }

  /** Adds a layer on top, or on top inside `group` (test setup, not a user action: no history). */
  addLayer(name: string, at: Bounds, fill: (x: number, y: number) => [number, number, number, number], kind: 'pixel' | 'background' = 'pixel', group: FakeLayerState | null = null): FakeLayerState {
    const rgba = new Uint8Array(at.width * at.height * 4);
    for (let y = 0; y < at.height; y++) for (let x = 0; x < at.width; x++) rgba.set(fill(at.x + x, at.y + y), (y * at.width + x) * 4);
    const layer: FakeLayerState = { id: this.ps.nextId++, name, kind, parentId: group?.id ?? null, xmp: null, bounds: at, rgba, mask: null };
    this.layersState.push(layer);
    this.activeId = layer.id;
    return layer;
  }

  /** Adds an empty group on top, or inside `group` (test setup). */
  addGroup(name: string, group: FakeLayerState | null = null): FakeLayerState {
    const layer: FakeLayerState = { id: this.ps.nextId++, name, kind: 'group', parentId: group?.id ?? null, xmp: null, bounds: bounds(0, 0, 0, 0), rgba: new Uint8Array(0), mask: null };
    this.layersState.push(layer);
    this.activeId = layer.id;
    return layer;
  }

  /** New layers go above the active one, in its group, and become active (Photoshop's New Layer). */
  async createPixelLayer(options: { name?: string } = {}): Promise<PsLayer | null> {
    if (this.ps.activeDocument !== this) throw new Error('createPixelLayer: the document is not the active document');
    this.ps.modify(this, 'createPixelLayer', 'New Layer');
    const active = this.layersState.find((l) => l.id === this.activeId);
    const layer: FakeLayerState = { id: this.ps.nextId++, name: options.name ?? 'Layer', kind: 'pixel', parentId: active?.kind === 'group' ? active.id : (active?.parentId ?? null), xmp: null, bounds: bounds(0, 0, 0, 0), rgba: new Uint8Array(0), mask: null };
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
      if (l.kind === 'group') continue;
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

  snapshot(): { layers: FakeLayerState[]; activeId: number | null; paths: FakePathState[] } {
    return { layers: this.layersState.map((l) => ({ ...l, rgba: l.rgba.slice(), mask: l.mask?.slice() ?? null })), activeId: this.activeId, paths: structuredClone(this.pathsState) };
  }
  restore(s: { layers: FakeLayerState[]; activeId: number | null; paths: FakePathState[] }): void {
    this.layersState = s.layers;
    this.activeId = s.activeId;
    this.pathsState = s.paths;
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
  /** The next this-many executeAsModal calls reject with number 9 (a dialog that the user then closes). */
  busyCalls = 0;
  /** 'release' (25.0+): `imaging`; 'beta': only `imaging_beta` (24.2 prerelease); 'none': neither (older). */
  imagingApi: 'release' | 'beta' | 'none' = 'release';
  /** The next call of this operation throws, as Photoshop does when a command fails. */
  failNext: Op | null = null;
  private modalDepth = 0;
  private suspensions = new Map<number, Suspension>();
  private nextSuspension = 1;

  openDocument(title: string, width: number, height: number, depth: Depth = 8): FakeDocument {
    const doc = new FakeDocument(this, this.nextId++, title, width, height, depth);
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
        set activeDocument(doc: PsDocument | null) {
          const known = self.documents.find((d) => d === doc);
          if (!known) throw new Error('activeDocument: not an open document');
          self.activeDocument = known;
        },
        get documents() {
          return self.documents;
        },
        PathPointInfo: FakePathPointInfo,
        SubPathInfo: FakeSubPathInfo,
      },
      constants: { PointKind: POINT_KIND, ShapeOperation: SHAPE_OPERATION },
      core: {
        executeAsModal: async <T>(target: (context: PsExecutionContext, descriptor: PsDescriptor) => Promise<T>, options: { commandName: string; descriptor?: PsDescriptor }): Promise<T> => {
          if (!options?.commandName) throw new Error('executeAsModal: commandName is required');
          if (this.otherPluginModal || this.busyCalls > 0) {
            this.busyCalls = Math.max(0, this.busyCalls - 1);
            throw Object.assign(new Error('host is in a modal state'), { number: 9 });
          }
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
        batchPlay: async (commands) => commands.map((c) => this.play(c)),
      },
      ...(this.imagingApi === 'none' ? {} : { [this.imagingApi === 'release' ? 'imaging' : 'imaging_beta']: this.imaging() }),
    } as PhotoshopModule;
  }

  /** One batchPlay descriptor: the few Kirie sends, each checked like Photoshop would. */
  private play(c: PsDescriptor): PsDescriptor {
    const target = (c._target ?? []) as { _ref?: string; _id?: number; _property?: string }[];
    const refDoc = () => {
      const id = target.find((t) => t._ref === 'document')?._id;
      return id === undefined ? this.doc(undefined) : this.doc(id);
    };
    const refLayer = (doc: FakeDocument) => {
      const id = target.find((t) => t._ref === 'layer')?._id;
      if (id === undefined) throw new Error(`${String(c._obj)}: no layer _id in ${JSON.stringify(c)}`);
      return doc.layer(id);
    };
    if (c._obj === 'select') {
      const doc = refDoc();
      if (doc !== this.activeDocument) throw new Error('select: the layer is not in the active document');
      const layer = refLayer(doc);
      this.modify(doc, 'batchPlay', 'Select Layer');
      doc.activeId = layer.id;
      return {};
    }
    if (c._obj === 'make') {
      const at = c.at as { _ref?: string; _value?: string } | undefined;
      if (at?._ref !== 'channel' || at._value !== 'mask') throw new Error(`fake batchPlay only knows "make mask", got ${JSON.stringify(c)}`);
      // The mask goes to the targeted layer of the ACTIVE document, whichever that is now.
      const doc = this.doc(undefined);
      this.modify(doc, 'batchPlay', 'Add Layer Mask');
      const layer = doc.layer(doc.activeId!);
      if (layer.mask) throw new Error('the layer already has a mask');
      const using = (c.using as { _value?: string } | undefined)?._value;
      layer.mask = new Uint8Array(doc.width * doc.height).fill(using === 'hideAll' ? 0 : 255);
      return {};
    }
    if (c._obj === 'set' && target[0]?._property === 'metadata') {
      const doc = refDoc();
      const layer = refLayer(doc);
      const packet = (c.to as { layerXMP?: unknown } | undefined)?.layerXMP;
      if (typeof packet !== 'string') throw new Error('set metadata: to.layerXMP must be a string');
      this.modify(doc, 'batchPlay', 'Layer Metadata');
      layer.xmp = packet;
      return {};
    }
    if (c._obj === 'get' && target[0]?._property === 'metadata') {
      const layer = refLayer(refDoc());
      return layer.xmp === null ? {} : { metadata: { _obj: 'metadata', layerXMP: layer.xmp } };
    }
    throw new Error(`fake batchPlay does not know ${JSON.stringify(c)}`);
  }

  private imaging(): NonNullable<PhotoshopModule['imaging']> {
    return {
      getPixels: async (o: PsGetPixelsOptions): Promise<PsPixels> => {
        this.requireModal('getPixels');
        const doc = this.doc(o.documentID);
        if (o.colorSpace !== undefined && o.colorSpace !== 'RGB') throw new Error('the fake serves RGB only');
        let area: Bounds;
        let rgba: Uint8Array;
        let components = 4;
        if (o.layerID !== undefined) {
          const l = doc.layer(o.layerID);
          if (l.kind === 'group') throw new Error('a group layer has no pixels of its own');
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
        const size: Depth = o.componentSize === undefined || o.componentSize === -1 ? doc.depth : o.componentSize;
        return { imageData: new FakeImageData(this, area.width, area.height, components, size, 'RGB', fromEight(rgba, size), o.colorProfile), sourceBounds: toPs(area), level: 0 };
      },
      getSelection: async (o) => {
        this.requireModal('getSelection');
        const doc = this.doc(o.documentID);
        if (!doc.selection) throw new Error('Could not complete the command because there is no selection');
        const { bounds: b, data } = doc.selection;
        return { imageData: new FakeImageData(this, b.width, b.height, 1, doc.depth, 'Grayscale', fromEight(data, doc.depth)), sourceBounds: toPs(b) };
      },
      getLayerMask: async (o) => {
        this.requireModal('getLayerMask');
        const doc = this.doc(o.documentID);
        const l = doc.layer(o.layerID);
        if (!l.mask) throw new Error('the layer has no user mask');
        // The mask's extent is the canvas here; a mask at its default colour elsewhere is not trimmed.
        return { imageData: new FakeImageData(this, doc.width, doc.height, 1, doc.depth, 'Grayscale', fromEight(l.mask, doc.depth)), sourceBounds: toPs(bounds(0, 0, doc.width, doc.height)) };
      },
      createImageDataFromBuffer: async (data, o) => {
        if (data.length !== o.width * o.height * o.components) throw new Error(`buffer has ${data.length} values, ${o.width}×${o.height}×${o.components} needs ${o.width * o.height * o.components}`);
        // "The array type will indicate the componentSize of the provided data" (imaging.md).
        const size: Depth = data instanceof Uint16Array ? 16 : data instanceof Float32Array ? 32 : 8;
        return new FakeImageData(this, o.width, o.height, o.components, size, o.colorSpace, data.slice(), o.colorProfile);
      },
      putPixels: async (o) => {
        const doc = this.doc(o.documentID);
        const img = o.imageData as FakeImageData;
        if (img.componentSize !== doc.depth) throw new Error(`putPixels: ${img.componentSize}-bit data into a ${doc.depth}-bit document`);
        this.modify(doc, 'putPixels', 'Put Pixels');
        const l = doc.layer(o.layerID);
        if (l.kind !== 'pixel') throw new Error('putPixels: the target layer must be a pixel layer');
        if (img.components !== 4 || img.colorSpace !== 'RGB') throw new Error('the fake puts RGBA pixels only');
        const at = o.targetBounds ?? { left: 0, top: 0 };
        l.bounds = bounds(at.left, at.top, img.width, img.height);
        l.rgba = toEight(img.raw(), doc.depth);
      },
      putLayerMask: async (o) => {
        const doc = this.doc(o.documentID);
        const img = o.imageData as FakeImageData;
        if (img.componentSize !== doc.depth) throw new Error(`putLayerMask: ${img.componentSize}-bit data into a ${doc.depth}-bit document`);
        this.modify(doc, 'putLayerMask', 'Edit Layer Mask');
        const l = doc.layer(o.layerID);
        if (img.components !== 1 || img.colorSpace !== 'Grayscale') throw new Error('a layer mask takes single-component grayscale data');
        if (!l.mask) throw new Error('the layer has no user mask');
        const at = o.targetBounds ?? { left: 0, top: 0 };
        if (o.replace !== false) l.mask.fill(255);
        const src = toEight(img.raw(), doc.depth);
        for (let y = 0; y < img.height; y++) {
          for (let x = 0; x < img.width; x++) {
            const cx = at.left + x;
            const cy = at.top + y;
            if (cx >= 0 && cy >= 0 && cx < doc.width && cy < doc.height) l.mask[cy * doc.width + cx] = src[y * img.width + x]!;
          }
        }
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
