// A fake of UXP's `uxp` module: the parts Kirie uses, each keeping the documented contract (pages under
// developer.adobe.com/photoshop/uxp/2022/uxp-api/reference-js/Modules/uxp/, mirrored in AdobeDocs/
// uxp-photoshop src/pages/uxp-api/reference-js/Modules/uxp/):
// - storage.secureStorage (Key-Value Storage/SecureStorage): setItem and getItem return Promises;
//   getItem resolves with a Uint8Array, never a string; setItem rejects an empty value. A missing key is
//   not specified: the fake rejects, and the panel copes with both that and an empty answer;
// - storage.localFileSystem.getFileForOpening (Persistent File Storage/FileSystemProvider) resolves with a
//   File or null when the user cancels; File.read({format}) gives text by default, an ArrayBuffer with
//   storage.formats.binary;
// - xmp.XMPMeta (XMP/XMP Classes/XMPMeta, since UXP 7.2): set/get/serialize properties in registered
//   namespaces; a packet string parses back; using an unregistered namespace throws, as the XMP Toolkit
//   does ("Unregistered schema namespace URI").

export interface FakeFile {
  name: string;
  text?: string;
  bytes?: Uint8Array;
}

export class FakeSecureStorage {
  readonly items = new Map<string, Uint8Array>();
  get length(): number {
    return this.items.size;
  }
  async setItem(key: string, value: string | ArrayBuffer | ArrayBufferView): Promise<void> {
    if (typeof key !== 'string') throw new TypeError('secureStorage.setItem: key must be a string');
    const bytes = typeof value === 'string' ? utf8(value) : ArrayBuffer.isView(value) ? new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength)) : new Uint8Array(value.slice(0));
    if (bytes.length === 0) throw new Error('secureStorage.setItem: the value is empty');
    this.items.set(key, bytes);
  }
  async getItem(key: string): Promise<Uint8Array> {
    const bytes = this.items.get(key);
    if (!bytes) throw new Error(`secureStorage.getItem: no item "${key}"`);
    return bytes.slice();
  }
  async removeItem(key: string): Promise<void> {
    if (!this.items.delete(key)) throw new Error(`secureStorage.removeItem: no item "${key}"`);
  }
}

export class FakeXmpMeta {
  private static readonly prefixes = new Map<string, string>();
  private readonly props = new Map<string, { ns: string; name: string; value: string }>();

  static registerNamespace(namespaceURI: string, suggestedPrefix: string): string {
    const known = FakeXmpMeta.prefixes.get(namespaceURI);
    if (known) return known;
    FakeXmpMeta.prefixes.set(namespaceURI, suggestedPrefix);
    return suggestedPrefix;
  }

  constructor(packet?: string) {
    if (packet === undefined) return;
    if (!packet.includes('<x:xmpmeta')) throw new Error('XMPMeta: not an XMP packet');
    const spaces = new Map<string, string>();
    for (const m of packet.matchAll(/xmlns:(\w+)="([^"]*)"/g)) spaces.set(m[1]!, m[2]!);
    for (const m of packet.matchAll(/<(\w+):(\w+)>([^<]*)<\/\1:\2>/g)) {
      const ns = spaces.get(m[1]!);
      if (ns && m[1] !== 'rdf' && m[1] !== 'x') this.props.set(`${ns} ${m[2]}`, { ns, name: m[2]!, value: unescapeXml(m[3]!) });
    }
  }

  setProperty(schemaNS: string, propName: string, propValue: string): void {
    FakeXmpMeta.prefixOf(schemaNS);
    this.props.set(`${schemaNS} ${propName}`, { ns: schemaNS, name: propName, value: String(propValue) });
  }

  getProperty(schemaNS: string, propName: string): { namespace: string; path: string; value: string } | undefined {
    FakeXmpMeta.prefixOf(schemaNS);
    const p = this.props.get(`${schemaNS} ${propName}`);
    return p && { namespace: p.ns, path: p.name, value: p.value };
  }

  serialize(): string {
    const used = [...new Set([...this.props.values()].map((p) => p.ns))];
    const xmlns = used.map((ns) => ` xmlns:${FakeXmpMeta.prefixOf(ns)}="${ns}"`).join('');
    const body = [...this.props.values()].map((p) => `<${FakeXmpMeta.prefixOf(p.ns)}:${p.name}>${escapeXml(p.value)}</${FakeXmpMeta.prefixOf(p.ns)}:${p.name}>`).join('');
    return `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""${xmlns}>${body}</rdf:Description></rdf:RDF></x:xmpmeta>`;
  }

  private static prefixOf(ns: string): string {
    const prefix = FakeXmpMeta.prefixes.get(ns);
    if (!prefix) throw new Error(`XMPMeta: Unregistered schema namespace URI "${ns}"`);
    return prefix;
  }
}

/** The `uxp` module: secure storage, a file picker that hands out `files` by extension, and XMP. */
export function fakeUxp(files: FakeFile[] = []) {
  const binary = Symbol('binary');
  const utf8Format = Symbol('utf8');
  const secureStorage = new FakeSecureStorage();
  const picked: string[][] = [];
  return {
    secureStorage,
    picked,
    module: {
      storage: {
        secureStorage,
        formats: { binary, utf8: utf8Format },
        localFileSystem: {
          getFileForOpening: async (options: { types?: string[] } = {}) => {
            picked.push(options.types ?? []);
            const file = files.find((f) => (options.types ?? []).some((t) => f.name.toLowerCase().endsWith(`.${t}`)));
            if (!file) return null;
            return {
              name: file.name,
              read: async (o: { format?: symbol } = {}) => {
                if (o.format === binary) return (file.bytes ?? utf8(file.text ?? '')).slice().buffer;
                return file.text ?? String.fromCharCode(...(file.bytes ?? []));
              },
            };
          },
        },
      },
      xmp: { XMPMeta: FakeXmpMeta },
    },
  };
}

function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of encodeURIComponent(text).matchAll(/%([0-9A-F]{2})|./g)) out.push(ch[1] ? parseInt(ch[1], 16) : ch[0].charCodeAt(0));
  return Uint8Array.from(out);
}

const escapeXml = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const unescapeXml = (v: string) => v.replace(/&quot;/g, '"').replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&amp;/g, '&');
