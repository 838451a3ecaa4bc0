// Stand-ins for UXP's built-in Spectrum widgets (uxp-api/reference-spectrum: sp-button, sp-action-button,
// sp-textfield, sp-textarea, sp-picker + sp-menu + sp-menu-item, sp-checkbox, sp-slider, sp-progressbar,
// sp-body, sp-heading, sp-detail, sp-label, sp-divider) for a plain browser, so the panel's HTML can be
// driven and pictured in Chromium. Each keeps the properties the panel reads as UXP's widgets expose them
// (value, checked, disabled, selectedIndex, value/max) and draws roughly as Spectrum's dark theme does.
// Runs in the page: no imports, no closures over test code.
export function installSpectrumStubs(): void {
  const css = `
    :host { font-family: "Adobe Clean", "Segoe UI", system-ui, sans-serif; font-size: 12px; color: inherit; }
    button { font: inherit; cursor: pointer; }
    .cta { background: #1473e6; color: #fff; border: 0; border-radius: 16px; padding: 5px 14px; font-weight: 700; }
    .primary { background: transparent; color: #fff; border: 2px solid #d8d8d8; border-radius: 16px; padding: 3px 12px; font-weight: 700; }
    .secondary { background: transparent; color: #d8d8d8; border: 2px solid #8a8a8a; border-radius: 16px; padding: 3px 12px; font-weight: 700; }
    .quiet { border-color: transparent; }
    .action { background: #3f3f3f; color: #e8e8e8; border: 1px solid #5a5a5a; border-radius: 4px; padding: 4px 10px; }
    button[disabled] { opacity: 0.4; cursor: default; }
    input, textarea { box-sizing: border-box; width: 100%; background: #1e1e1e; color: #e8e8e8; border: 1px solid #5a5a5a; border-radius: 4px; padding: 4px 6px; font: inherit; }
    textarea { height: 52px; resize: none; }
    @media (prefers-color-scheme: light) {
      .primary, .secondary { color: #222; border-color: #6e6e6e; }
      .action { background: #f4f4f4; color: #222; border-color: #b3b3b3; }
      input, textarea { background: #fff; color: #222; border-color: #b3b3b3; }
    }
  `;
  const shadow = (el: HTMLElement, html: string) => {
    const root = el.shadowRoot ?? el.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${css}</style>${html}`;
    return root;
  };
  const reflect = (cls: { prototype: object }, name: string) =>
    Object.defineProperty(cls.prototype, name, {
      get(this: HTMLElement) {
        return this.hasAttribute(name);
      },
      set(this: HTMLElement & { render?: () => void }, v: boolean) {
        if (v) this.setAttribute(name, '');
        else this.removeAttribute(name);
        this.render?.();
      },
    });

  class SpButton extends HTMLElement {
    connectedCallback() {
      this.render();
    }
    render() {
      const variant = this.tagName === 'SP-ACTION-BUTTON' ? 'action' : (this.getAttribute('variant') ?? 'primary');
      shadow(this, `<button class="${variant}${this.hasAttribute('quiet') ? ' quiet' : ''}" ${this.hasAttribute('disabled') ? 'disabled' : ''}><slot></slot></button>`);
    }
  }
  reflect(SpButton, 'disabled');
  customElements.define('sp-button', SpButton);
  customElements.define('sp-action-button', class extends SpButton {});

  class SpTextfield extends HTMLElement {
    private input: HTMLInputElement | HTMLTextAreaElement | null = null;
    connectedCallback() {
      const multi = this.tagName === 'SP-TEXTAREA';
      const root = shadow(this, multi ? '<textarea></textarea>' : '<input type="text">');
      this.input = root.querySelector(multi ? 'textarea' : 'input');
      this.input!.placeholder = this.getAttribute('placeholder') ?? '';
    }
    get value(): string {
      return this.input?.value ?? '';
    }
    set value(v: string) {
      this.input!.value = v;
    }
  }
  customElements.define('sp-textfield', SpTextfield);
  customElements.define('sp-textarea', class extends SpTextfield {});

  class SpPicker extends HTMLElement {
    connectedCallback() {
      this.render();
    }
    get selectedIndex(): number {
      return Array.from(this.querySelectorAll('sp-menu-item'), (i) => i.hasAttribute('selected')).indexOf(true);
    }
    choose(index: number) {
      this.querySelectorAll('sp-menu-item').forEach((item, i) => item.toggleAttribute('selected', i === index));
      this.render();
      this.dispatchEvent(new Event('change'));
    }
    render() {
      const chosen = this.querySelectorAll('sp-menu-item')[this.selectedIndex]?.textContent ?? '';
      shadow(this, `<button class="action" style="width:100%;text-align:left">${chosen} ▾</button>`);
    }
  }
  customElements.define('sp-picker', SpPicker);
  customElements.define('sp-menu', class extends HTMLElement {});
  customElements.define('sp-menu-item', class extends HTMLElement {});

  class SpCheckbox extends HTMLElement {
    private state: boolean | null = null;
    connectedCallback() {
      this.render();
      this.addEventListener('click', () => {
        // A disabled sp-checkbox does not change (UXP reference, sp-checkbox "Disabled" state:
        // https://developer.adobe.com/photoshop/uxp/2022/uxp-api/reference-spectrum/Spectrum%20UXP%20Widgets/User%20Interface/sp-checkbox/).
        if (this.hasAttribute('disabled')) return;
        this.checked = !this.checked;
        this.dispatchEvent(new Event('change'));
      });
    }
    get checked(): boolean {
      return this.state ?? this.hasAttribute('checked');
    }
    set checked(v: boolean) {
      this.state = v;
      this.render();
    }
    render() {
      shadow(this, `<span style="display:inline-block;width:12px;height:12px;border:2px solid #b3b3b3;border-radius:2px;vertical-align:middle;margin-right:6px;background:${this.checked ? '#b3b3b3' : 'transparent'}"></span><slot></slot>`);
    }
  }
  reflect(SpCheckbox, 'disabled');
  customElements.define('sp-checkbox', SpCheckbox);

  class SpSlider extends HTMLElement {
    private own: string | null = null;
    connectedCallback() {
      this.render();
    }
    get value(): string {
      return this.own ?? this.getAttribute('value') ?? '0';
    }
    set value(v: string) {
      this.own = String(v);
      this.render();
    }
    render() {
      const [min, max] = [Number(this.getAttribute('min') ?? 0), Number(this.getAttribute('max') ?? 100)];
      const at = ((Number(this.value) - min) / (max - min)) * 100;
      shadow(this, `<div style="display:flex;justify-content:space-between"><slot name="label"></slot><span>${this.value}</span></div><div style="height:2px;background:#5a5a5a;margin:8px 0;position:relative;opacity:${this.hasAttribute('disabled') ? 0.4 : 1}"><div style="position:absolute;left:${at}%;top:-6px;width:10px;height:10px;border:2px solid #d8d8d8;border-radius:50%;background:#323232"></div></div>`);
    }
  }
  reflect(SpSlider, 'disabled');
  customElements.define('sp-slider', SpSlider);

  class SpProgressbar extends HTMLElement {
    private v = 0;
    private m = 1;
    connectedCallback() {
      this.render();
    }
    get value(): number {
      return this.v;
    }
    set value(v: number) {
      this.v = Number(v);
      this.render();
    }
    get max(): number {
      return this.m;
    }
    set max(m: number) {
      this.m = Number(m);
      this.render();
    }
    render() {
      shadow(this, `<div style="height:4px;background:#4a4a4a;border-radius:2px"><div style="height:4px;width:${Math.min(100, (this.v / this.m) * 100)}%;background:#2680eb;border-radius:2px"></div></div>`);
    }
  }
  customElements.define('sp-progressbar', SpProgressbar);

  const text = (tag: string, style: string) =>
    customElements.define(
      tag,
      class extends HTMLElement {
        connectedCallback() {
          this.setAttribute('style', `${style};${this.getAttribute('style') ?? ''}`);
        }
      },
    );
  const font = 'font-family:"Adobe Clean","Segoe UI",system-ui,sans-serif';
  text('sp-heading', `${font};display:block;font-weight:700;font-size:13px`);
  text('sp-body', `${font};display:block;font-size:12px`);
  text('sp-detail', `${font};display:block;font-size:11px;opacity:0.75`);
  text('sp-label', `${font};display:block;font-size:11px;opacity:0.75;margin-bottom:3px`);
  text('sp-divider', 'display:block;height:1px;background:#4a4a4a');
}
