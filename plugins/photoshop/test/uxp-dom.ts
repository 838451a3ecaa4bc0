// The smallest DOM the Photoshop panel runs on: index.html parsed into elements with the properties
// UXP's documented elements and built-in Spectrum widgets have (uxp-api/reference-js/Global Members/
// HTML Elements, uxp-api/reference-spectrum): value/checked/disabled/textContent/style/className,
// events by addEventListener, and sp-picker's `selectedIndex` (the UXP picker reports its choice so;
// Adobe's sample: `evt.target.selectedIndex`). Nothing else, so the panel cannot lean on a browser's extras
// (no `hidden`, no Option constructor, no innerHTML parsing).

const VOID = new Set(['meta', 'img', 'input', 'br', 'link', 'hr']);

export class UxpEvent {
  constructor(readonly type: string, readonly target: UxpElement) {}
}

type Listener = (event: UxpEvent) => void;

export class UxpElement {
  readonly tagName: string;
  readonly children: UxpElement[] = [];
  parentNode: UxpElement | null = null;
  readonly style: Record<string, string> = {};
  private readonly attributes = new Map<string, string>();
  private readonly listeners = new Map<string, Listener[]>();
  private text = '';
  private ownValue: string | null = null;
  private ownChecked: boolean | null = null;
  /** sp-progressbar / progress */
  max = 1;

  constructor(tag: string) {
    this.tagName = tag.toUpperCase();
  }

  get id(): string {
    return this.getAttribute('id') ?? '';
  }
  get className(): string {
    return this.getAttribute('class') ?? '';
  }
  set className(v: string) {
    this.setAttribute('class', v);
  }
  get disabled(): boolean {
    return this.hasAttribute('disabled');
  }
  set disabled(v: boolean) {
    if (v) this.setAttribute('disabled', '');
    else this.removeAttribute('disabled');
  }
  get checked(): boolean {
    return this.ownChecked ?? this.hasAttribute('checked');
  }
  set checked(v: boolean) {
    this.ownChecked = v;
  }
  get value(): string {
    // UXP known issue: a password field's value cannot be read on macOS (uxp-api/known-issues); the fake
    // never gives it back, so a panel that relies on one fails here as it would for half its users.
    if (this.getAttribute('type') === 'password') return '';
    return this.ownValue ?? this.getAttribute('value') ?? '';
  }
  set value(v: string) {
    this.ownValue = String(v);
  }
  get src(): string {
    return this.getAttribute('src') ?? '';
  }
  set src(v: string) {
    this.setAttribute('src', v);
  }
  get textContent(): string {
    return this.text + this.children.map((c) => c.textContent).join('');
  }
  set textContent(v: string) {
    this.children.length = 0;
    this.text = String(v);
  }
  /** sp-picker: the index of the sp-menu-item marked `selected`, -1 when none. */
  get selectedIndex(): number {
    return this.menuItems().findIndex((item) => item.hasAttribute('selected'));
  }

  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, String(value));
  }
  removeAttribute(name: string): void {
    this.attributes.delete(name);
  }
  hasAttribute(name: string): boolean {
    return this.attributes.has(name);
  }
  appendChild(child: UxpElement): UxpElement {
    child.parentNode = this;
    this.children.push(child);
    return child;
  }
  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  removeEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, (this.listeners.get(type) ?? []).filter((l) => l !== listener));
  }
  dispatchEvent(event: UxpEvent): boolean {
    for (const listener of this.listeners.get(event.type) ?? []) listener(event);
    return true;
  }

  // What the user does (test side, not part of the element's API).
  click(): void {
    if (!this.disabled) this.dispatchEvent(new UxpEvent('click', this));
  }
  choose(index: number): void {
    const items = this.menuItems();
    if (!items[index]) throw new Error(`${this.id} has no item ${index}`);
    items.forEach((item, i) => (i === index ? item.setAttribute('selected', '') : item.removeAttribute('selected')));
    this.dispatchEvent(new UxpEvent('change', this));
  }
  type(text: string): void {
    this.value = text;
    this.dispatchEvent(new UxpEvent('input', this));
  }
  toggle(checked: boolean): void {
    this.checked = checked;
    this.dispatchEvent(new UxpEvent('change', this));
  }

  descendants(): UxpElement[] {
    return this.children.flatMap((c) => [c, ...c.descendants()]);
  }
  private menuItems(): UxpElement[] {
    return this.descendants().filter((e) => e.tagName === 'SP-MENU-ITEM');
  }
}

export class UxpDocument {
  readonly body = new UxpElement('body');
  readonly head = new UxpElement('head');
  /** `<script src>` of the page, in order. */
  readonly scripts: string[] = [];

  getElementById(id: string): UxpElement | null {
    return [this.head, this.body].flatMap((e) => e.descendants()).find((e) => e.id === id) ?? null;
  }
  createElement(tag: string): UxpElement {
    return new UxpElement(tag);
  }
}

/** Parses the panel's own index.html (well-formed, no inline script): elements, attributes, text. */
export function parsePanel(html: string): UxpDocument {
  const doc = new UxpDocument();
  const stack: UxpElement[] = [doc.body];
  const body = html.slice(html.indexOf('<body>') + '<body>'.length, html.indexOf('</body>'));
  const tokens = body.replace(/<!--[\s\S]*?-->/g, '').match(/<\/?[a-z][\w-]*(?:\s+[\w-]+(?:="[^"]*")?)*\s*\/?>|[^<]+/gi) ?? [];
  for (const token of tokens) {
    const top = stack.at(-1)!;
    const close = /^<\/([\w-]+)>$/.exec(token);
    if (close) {
      if (stack.length === 1 || top.tagName !== close[1]!.toUpperCase()) throw new Error(`index.html: unexpected ${token} inside <${top.tagName.toLowerCase()}>`);
      stack.pop();
      continue;
    }
    const open = /^<([\w-]+)((?:\s+[\w-]+(?:="[^"]*")?)*)\s*(\/?)>$/.exec(token);
    if (!open) {
      if (token.trim()) top.appendChild(textNode(token.trim()));
      continue;
    }
    const el = new UxpElement(open[1]!);
    for (const attr of open[2]!.matchAll(/([\w-]+)(?:="([^"]*)")?/g)) el.setAttribute(attr[1]!, attr[2] ?? '');
    if (el.tagName === 'SCRIPT') doc.scripts.push(el.getAttribute('src') ?? '');
    for (const decl of (el.getAttribute('style') ?? '').split(';')) {
      const [k, v] = decl.split(':').map((x) => x.trim());
      if (k && v) el.style[k] = v;
    }
    top.appendChild(el);
    if (!VOID.has(open[1]!.toLowerCase()) && open[3] !== '/') stack.push(el);
  }
  if (stack.length !== 1) throw new Error(`index.html: <${stack.at(-1)!.tagName.toLowerCase()}> is never closed`);
  return doc;
}

function textNode(text: string): UxpElement {
  const node = new UxpElement('#text');
  node.textContent = text;
  return node;
}
