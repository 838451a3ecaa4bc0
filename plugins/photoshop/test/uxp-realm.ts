// A bare JavaScript realm with the globals UXP documents for Photoshop plugins and nothing else: no
// TextDecoder/TextEncoder, no Buffer, no process, no structuredClone, queueMicrotask, URL, atob or
// navigator. The built panel (plugins/photoshop/dist/panel.js) runs in it as it runs in Photoshop.
//
// The documented list is UXP's "Global Members" reference, developer.adobe.com/photoshop/uxp/2022/
// uxp-api/reference-js/Global Members/ (mirrored in AdobeDocs/uxp-photoshop src/pages/uxp-api/
// reference-js/global-members/*: Crypto, Data Storage, Data Transfers, HTML DOM, HTML Elements, HTML
// Events, ImageBlob, Path, Streams). Beside ECMAScript's own built-ins (the realm's), the realm installs the
// documented globals a panel of this kind can meet, each implemented to its documented contract; the rest
// of the documented list is named in UXP_DOCUMENTED so a test can check nothing undocumented slipped in.
import { createContext, runInContext, Script } from 'node:vm';
import WebSocketNode from 'ws';
import type { UxpDocument } from './uxp-dom.js';

/** Every global name UXP documents, with the page that documents it. */
export const UXP_DOCUMENTED: Record<string, string> = {
  window: 'reference-js: globals are "available globally (on window)"',
  document: 'Global Members/HTML DOM/Document',
  require: 'reference-js/Modules: require("uxp"), require("photoshop")',
  console: 'guides/devtool: console output in the UXP Developer Tool',
  // Not on a Global Members page, but UXP has had them since XD 16 ("Available natively since XD 16",
  // AdobeXD/plugin-samples react-shim.js) and Adobe's own samples use them throughout.
  setTimeout: 'timers (see above)',
  clearTimeout: 'timers (see above)',
  setInterval: 'timers (see above)',
  clearInterval: 'timers (see above)',
  crypto: 'Global Members/Crypto',
  localStorage: 'Global Members/Data Storage/LocalStorage',
  sessionStorage: 'Global Members/Data Storage/SessionStorage',
  Blob: 'Global Members/Data Transfers/Blob',
  fetch: 'Global Members/Data Transfers/fetch (body: string | ArrayBuffer | TypedArray | Blob | FormData | URLSearchParams)',
  FormData: 'Global Members/Data Transfers/FormData',
  Headers: 'Global Members/Data Transfers/Headers',
  Request: 'Global Members/Data Transfers/Request',
  Response: 'Global Members/Data Transfers/Response',
  WebSocket: 'Global Members/Data Transfers/WebSocket (url, protocols; onopen/onmessage/onclose/onerror)',
  XMLHttpRequest: 'Global Members/Data Transfers/XMLHttpRequest',
  AbortController: 'Global Members/HTML DOM/AbortController',
  AbortSignal: 'Global Members/HTML DOM/AbortSignal: aborted, reason, throwIfAborted, abort(); no events ("works only for web streams")',
  alert: 'Global Members/HTML DOM/alert',
  confirm: 'Global Members/HTML DOM/confirm',
  prompt: 'Global Members/HTML DOM/prompt',
  getComputedStyle: 'Global Members/HTML DOM/getComputedStyle',
  ...Object.fromEntries(
    ['Attr', 'CanvasGradient', 'CanvasRenderingContext2D', 'CharacterData', 'Comment', 'CustomElementRegistry', 'DocumentFragment', 'DOMTokenList', 'Element', 'HTMLCollection', 'IntersectionObserver', 'IntersectionObserverEntry', 'NamedNodeMap', 'Node', 'NodeFilter', 'NodeList', 'Path2D', 'ResizeObserver', 'ResizeObserverEntry', 'ResizeObserverSize', 'ShadowRoot', 'Text', 'TreeWalker'].map((n) => [n, `Global Members/HTML DOM/${n}`]),
  ),
  ...Object.fromEntries(
    ['HTMLAnchorElement', 'HTMLBodyElement', 'HTMLButtonElement', 'HTMLCanvasElement', 'HTMLDialogElement', 'HTMLElement', 'HTMLHeadElement', 'HTMLHtmlElement', 'HTMLImageElement', 'HTMLInputElement', 'HTMLLabelElement', 'HTMLLinkElement', 'HTMLMenuElement', 'HTMLMenuItemElement', 'HTMLOptionElement', 'HTMLProgressElement', 'HTMLScriptElement', 'HTMLSelectElement', 'HTMLSlotElement', 'HTMLStyleElement', 'HTMLTemplateElement', 'HTMLTextAreaElement', 'HTMLVideoElement', 'HTMLWebViewElement'].map((n) => [n, `Global Members/HTML Elements/${n}`]),
  ),
  ...Object.fromEntries(['BaseUIEvent', 'CloseEvent', 'DragEvent', 'ErrorEvent', 'Event', 'EventTarget', 'GestureEvent', 'KeyboardEvent', 'MessageEvent', 'PointerEvent', 'ProgressEvent'].map((n) => [n, `Global Members/HTML Events/${n}`])),
  ImageBlob: 'Global Members/ImageBlob',
  Path: 'Global Members/Path',
  ...Object.fromEntries(
    ['CountQueuingStrategy', 'ReadableStream', 'ReadableStreamDefaultController', 'ReadableStreamDefaultReader', 'TransformStream', 'TransformStreamDefaultController', 'WritableStream', 'WritableStreamDefaultController', 'WritableStreamDefaultWriter'].map((n) => [n, `Global Members/Streams/${n}`]),
  ),
};

/** Names browsers and Node have that UXP does not document: the bundle must not need them. */
export const NOT_IN_UXP = ['TextDecoder', 'TextEncoder', 'Buffer', 'process', 'global', 'structuredClone', 'queueMicrotask', 'URL', 'URLSearchParams', 'atob', 'btoa', 'navigator', 'Worker', 'OffscreenCanvas', 'createImageBitmap', 'requestAnimationFrame', 'setImmediate'];

export interface UxpRealm {
  context: object;
  /** Runs a classic script in the realm, as UXP runs panel.js from index.html. */
  run(code: string, filename: string): void;
  /** The realm's own global property names, ECMAScript built-ins excluded. */
  hostGlobals(): string[];
}

export interface RealmHost {
  document: UxpDocument;
  modules: Record<string, unknown>;
  log?: (...args: unknown[]) => void;
}

/** Builds the realm; `modules` answer require(). */
export function createUxpRealm({ document, modules, log = () => {} }: RealmHost): UxpRealm {
  const context = createContext({});
  const builtins = new Set(Object.getOwnPropertyNames(runInContext('globalThis', context)));
  const inRealm = <T>(expression: string): T => runInContext(expression, context) as T;
  const RealmArrayBuffer = inRealm<ArrayBufferConstructor>('ArrayBuffer');
  const RealmUint8Array = inRealm<Uint8ArrayConstructor>('Uint8Array');
  const RealmJSON = inRealm<JSON>('JSON');

  const installed: Record<string, unknown> = {
    document,
    require: (name: string) => {
      if (!(name in modules)) throw new Error(`Cannot find module '${name}'`);
      return modules[name];
    },
    console: { log, info: log, warn: log, error: log, debug: log },
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    localStorage: new MemoryStorage(),
    sessionStorage: new MemoryStorage(),
    AbortController: UxpAbortController,
    AbortSignal: UxpAbortSignal,
    fetch: async (url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) => {
      const method = (init.method ?? 'GET').toUpperCase();
      const { body } = init;
      if (body !== undefined && (method === 'GET' || method === 'HEAD')) throw new TypeError('fetch: a GET or HEAD request has no body');
      // The documented body types this realm has: string, ArrayBuffer, TypedArray (no Blob/FormData here).
      if (body !== undefined && typeof body !== 'string' && !ArrayBuffer.isView(body) && !(body instanceof RealmArrayBuffer)) throw new TypeError(`fetch: unsupported body ${Object.prototype.toString.call(body)}`);
      const sent = typeof body === 'string' || body === undefined ? body : ArrayBuffer.isView(body) ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice() : new Uint8Array(body as ArrayBuffer).slice();
      let response: globalThis.Response;
      try {
        response = await globalThis.fetch(url, { method, ...(init.headers ? { headers: init.headers } : {}), ...(sent !== undefined ? { body: sent } : {}) });
      } catch (err) {
        // fetch.md: "TypeError If either network error or network time-out occurs".
        throw new TypeError(`Network request failed (${(err as Error).message})`);
      }
      const bytes = new Uint8Array(await response.arrayBuffer());
      const text = () => new TextDecoder().decode(bytes);
      return {
        ok: response.ok,
        status: response.status,
        headers: { get: (name: string) => response.headers.get(name) },
        text: async () => text(),
        json: async () => RealmJSON.parse(text()) as unknown,
        arrayBuffer: async () => {
          const copy = new RealmArrayBuffer(bytes.length);
          new RealmUint8Array(copy).set(bytes);
          return copy;
        },
      };
    },
    WebSocket: UxpWebSocket,
  };
  Object.assign(runInContext('globalThis', context), installed, { window: runInContext('globalThis', context) });
  for (const name of Object.keys(installed)) if (!(name in UXP_DOCUMENTED)) throw new Error(`the UXP realm installs ${name}, which UXP does not document`);

  return {
    context,
    run: (code, filename) => new Script(code, { filename }).runInContext(context),
    hostGlobals: () => Object.getOwnPropertyNames(runInContext('globalThis', context)).filter((n) => !builtins.has(n)),
  };
}

class MemoryStorage {
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  key(i: number): string | null {
    return [...this.items.keys()][i] ?? null;
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  clear(): void {
    this.items.clear();
  }
}

/** AbortSignal as UXP documents it: aborted, reason, throwIfAborted, static abort; no addEventListener. */
class UxpAbortSignal {
  aborted = false;
  reason: unknown = undefined;
  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }
  static abort(reason?: unknown): UxpAbortSignal {
    const s = new UxpAbortSignal();
    s.aborted = true;
    s.reason = reason ?? new Error('AbortError');
    return s;
  }
}

class UxpAbortController {
  readonly signal = new UxpAbortSignal();
  abort(reason?: unknown): void {
    this.signal.aborted = true;
    this.signal.reason = reason ?? new Error('AbortError');
  }
}

/** WebSocket(url, protocols) with the on* handlers and readyState UXP documents, over the `ws` package. */
class UxpWebSocket {
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  binaryType = 'blob';
  private readonly socket: WebSocketNode;

  constructor(readonly url: string, protocols?: string | string[]) {
    if (!/^wss?:\/\//.test(url)) throw new Error(`WebSocket: invalid url ${url}`);
    this.socket = new WebSocketNode(url, protocols);
    this.socket.on('open', () => this.onopen?.({}));
    this.socket.on('message', (data, isBinary) => this.onmessage?.({ data: isBinary ? data : data.toString() }));
    this.socket.on('close', (code, reason) => this.onclose?.({ code, reason: reason.toString() }));
    this.socket.on('error', (err) => this.onerror?.({ message: err.message }));
  }
  get readyState(): number {
    return this.socket.readyState;
  }
  get protocol(): string {
    return this.socket.protocol;
  }
  send(data: string | ArrayBuffer | ArrayBufferView): void {
    this.socket.send(data);
  }
  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }
}
