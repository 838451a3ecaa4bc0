// A1111's prompt editing `[from:to:when]` and alternation `[a|b]` (modules/prompt_parser.py
// get_learned_conditioning_prompt_schedules over its lark grammar, lark 1.1.2):
//   start: (prompt | /[][():]/+)*          prompt: (emphasized | scheduled | alternate | plain | WHITESPACE)*
//   emphasized: "(" prompt ")" | "(" prompt ":" prompt ")" | "[" prompt "]"
//   scheduled: "[" [prompt ":"] prompt ":" [WHITESPACE] NUMBER [WHITESPACE] "]"
//   alternate: "[" prompt ("|" [prompt])+ "]"          plain: /([^\\\[\]():|]|\\.)+/
// A text that does not parse is used unchanged for every step, as A1111 does. Emphasis brackets pass through
// as text (parseA1111Attention reads them later), so the output is the input with the edits resolved.

type Node =
  | { type: 'text'; text: string }
  | { type: 'scheduled'; before: Node[] | undefined; after: Node[]; when: string }
  | { type: 'alternate'; options: (Node[] | undefined)[] };

/** lark's common.SIGNED_NUMBER at the start of `s`. */
const SIGNED_NUMBER = /^[+-]?(?:(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)/;
const PLAIN = /^(?:[^\\[\]():|]|\\[\s\S])+/;
const WHITESPACE = /^\s+/;

class Parser {
  constructor(private readonly s: string) {}

  /** A prompt from `i`: its nodes and where it stops (at a character no item starts with). */
  prompt(i: number): [Node[], number] {
    const nodes: Node[] = [];
    for (;;) {
      const item = this.item(i);
      if (!item) return [nodes, i];
      nodes.push(...item[0]);
      i = item[1];
    }
  }

  private item(i: number): [Node[], number] | undefined {
    const rest = this.s.slice(i);
    const text = PLAIN.exec(rest) ?? WHITESPACE.exec(rest);
    if (text) return [[{ type: 'text', text: text[0] }], i + text[0].length];
    if (rest.startsWith('[')) return this.scheduled(i) ?? this.alternate(i) ?? this.emphasized(i, ']');
    if (rest.startsWith('(')) return this.emphasized(i, ')');
    return undefined;
  }

  private emphasized(i: number, close: string): [Node[], number] | undefined {
    const open: Node = { type: 'text', text: this.s[i]! };
    const [inner, j] = this.prompt(i + 1);
    if (this.s[j] === close) return [[open, ...inner, { type: 'text', text: close }], j + 1];
    if (close !== ')' || this.s[j] !== ':') return undefined;
    const [second, k] = this.prompt(j + 1);
    if (this.s[k] !== ')') return undefined;
    return [[open, ...inner, { type: 'text', text: ':' }, ...second, { type: 'text', text: ')' }], k + 1];
  }

  /** `:` [WS] NUMBER [WS] `]` at `i`: the number's text and the end. */
  private when(i: number): [string, number] | undefined {
    if (this.s[i] !== ':') return undefined;
    let j = i + 1;
    j += WHITESPACE.exec(this.s.slice(j))?.[0].length ?? 0;
    const n = SIGNED_NUMBER.exec(this.s.slice(j));
    if (!n) return undefined;
    j += n[0].length;
    j += WHITESPACE.exec(this.s.slice(j))?.[0].length ?? 0;
    return this.s[j] === ']' ? [n[0], j + 1] : undefined;
  }

  private scheduled(i: number): [Node[], number] | undefined {
    const [first, j] = this.prompt(i + 1);
    if (this.s[j] !== ':') return undefined;
    const only = this.when(j);
    if (only) return [[{ type: 'scheduled', before: undefined, after: first, when: only[0] }], only[1]];
    const [second, k] = this.prompt(j + 1);
    const both = this.when(k);
    return both ? [[{ type: 'scheduled', before: first, after: second, when: both[0] }], both[1]] : undefined;
  }

  private alternate(i: number): [Node[], number] | undefined {
    const [first, j0] = this.prompt(i + 1);
    const options: (Node[] | undefined)[] = [first];
    let j = j0;
    while (this.s[j] === '|') {
      const [next, k] = this.prompt(j + 1);
      options.push(next.length > 0 ? next : undefined);
      j = k;
    }
    return options.length > 1 && this.s[j] === ']' ? [[{ type: 'alternate', options }], j + 1] : undefined;
  }

  /** `start`: prompts with stray brackets and colons between them as text; undefined where lark fails. */
  start(): Node[] | undefined {
    const nodes: Node[] = [];
    let i = 0;
    while (i < this.s.length) {
      const [part, j] = this.prompt(i);
      nodes.push(...part);
      i = j;
      if (i >= this.s.length) break;
      if (!'[]():'.includes(this.s[i]!)) return undefined;
      nodes.push({ type: 'text', text: this.s[i]! });
      i++;
    }
    return nodes;
  }
}

export interface ScheduleOptions {
  /** A1111 infotext "Old prompt editing timelines": a when below 1 is a fraction, else a step. */
  useOldScheduling?: boolean;
  /** The hires pass's schedule: its step count (the base pass has `steps`). */
  hiresSteps?: number;
}

/** A1111's schedule: [end_at_step, text] pairs, the text used for steps up to end_at_step (counted from 1). */
export function promptSchedule(prompt: string, steps: number, opts: ScheduleOptions = {}): [number, string][] {
  const tree = new Parser(prompt).start();
  const hires = opts.hiresSteps !== undefined && !opts.useOldScheduling;
  const total = hires ? opts.hiresSteps! : steps;
  if (!tree) return [[total, prompt]];
  const intOffset = hires ? steps : 0;
  const fltOffset = hires ? 1 : 0;
  const boundaries = new Set<number>([total]);
  const whenStep = new Map<Node, number>();
  const collect = (nodes: readonly Node[]) => {
    for (const n of nodes) {
      if (n.type === 'scheduled') {
        const v = Number(n.when);
        const raw = opts.useOldScheduling ? (v < 1 ? v * total : v) : n.when.includes('.') ? (v - fltOffset) * total : v - intOffset;
        const at = Math.min(total, Math.trunc(raw));
        whenStep.set(n, at);
        if (at >= 1) boundaries.add(at);
        if (n.before) collect(n.before);
        collect(n.after);
      } else if (n.type === 'alternate') {
        for (let s = 1; s <= total; s++) boundaries.add(s);
        for (const o of n.options) if (o) collect(o);
      }
    }
  };
  collect(tree);
  const render = (nodes: readonly Node[], step: number): string =>
    nodes
      .map((n) => {
        if (n.type === 'text') return n.text;
        if (n.type === 'scheduled') return step <= whenStep.get(n)! ? render(n.before ?? [], step) : render(n.after, step);
        const option = n.options[(step - 1) % n.options.length];
        return option ? render(option, step) : '';
      })
      .join('');
  return [...boundaries].sort((a, b) => a - b).map((end) => [end, render(tree, end)]);
}
