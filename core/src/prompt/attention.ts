// How AUTOMATIC1111 and ComfyUI read emphasis in a prompt, ported from their code (A1111 v1.10
// modules/prompt_parser.py parse_prompt_attention, ComfyUI comfy/sd1_clip.py token_weights); the goldens in
// tests/golden/prompts/a1111_parse.json hold both tools' reading of 50 prompts.

/** One run of text with its weight; A1111's BREAK is its own run with text 'BREAK' and a negative weight. */
export type WeightedText = [text: string, weight: number];

/** Python's str.split-free `\b` for `BREAK`: a word character is a letter, digit, mark or '_' (Python 3 str patterns are Unicode). */
const BREAK = /\s*(?<![\p{L}\p{N}\p{M}_])BREAK(?![\p{L}\p{N}\p{M}_])\s*/gu;

// A1111 re_attention, alternative for alternative (order matters: escapes first).
const ATTENTION = /\\\(|\\\)|\\\[|\\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|\]|[^\\()[\]:]+|:/g;

/** Python float() of what A1111's `[+-]?[.\d]+` matched: '1.' and '.5' are numbers, '1.2.3' raises. */
function a1111Float(text: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) throw new Error(`could not convert string to float: '${text}' (A1111 fails the generation on this weight)`);
  return Number(text);
}

/** A1111 parse_prompt_attention: [text, weight] runs, nested brackets multiplying, equal neighbours merged. */
export function parseA1111Attention(text: string): WeightedText[] {
  const res: WeightedText[] = [];
  const round: number[] = [];
  const square: number[] = [];
  const multiplyRange = (start: number, multiplier: number) => {
    for (let p = start; p < res.length; p++) res[p]![1] *= multiplier;
  };
  for (const m of text.matchAll(ATTENTION)) {
    const piece = m[0];
    const weight = m[1];
    if (piece.startsWith('\\')) res.push([piece.slice(1), 1]);
    else if (piece === '(') round.push(res.length);
    else if (piece === '[') square.push(res.length);
    else if (weight !== undefined && round.length > 0) multiplyRange(round.pop()!, a1111Float(weight));
    else if (piece === ')' && round.length > 0) multiplyRange(round.pop()!, 1.1);
    else if (piece === ']' && square.length > 0) multiplyRange(square.pop()!, 1 / 1.1);
    else {
      piece.split(BREAK).forEach((part, i) => {
        if (i > 0) res.push(['BREAK', -1]);
        res.push([part, 1]);
      });
    }
  }
  for (const pos of round) multiplyRange(pos, 1.1);
  for (const pos of square) multiplyRange(pos, 1 / 1.1);
  if (res.length === 0) res.push(['', 1]);
  for (let i = 0; i + 1 < res.length; ) {
    if (res[i]![1] === res[i + 1]![1]) {
      res[i]![0] += res[i + 1]![0];
      res.splice(i + 1, 1);
    } else i++;
  }
  return res;
}

/** Python float(str) for what ComfyUI tries after the last ':' (None where Python raises). */
export function pythonFloat(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(t)) return Number.NaN;
  const digits = String.raw`\d(?:_?\d)*`;
  const number = new RegExp(String.raw`^[+-]?(?:${digits}(?:\.(?:${digits})?)?|\.${digits})(?:e[+-]?${digits})?$`);
  return number.test(t) ? Number(t.replace(/_/g, '')) : undefined;
}

/** ComfyUI parse_parentheses: top-level '(…)' groups and the text between them (unbalanced ')' stay text). */
function parseParentheses(text: string): string[] {
  const result: string[] = [];
  let current = '';
  let level = 0;
  for (const ch of text) {
    if (ch === '(') {
      if (level === 0) {
        if (current) result.push(current);
        current = '(';
      } else current += ch;
      level++;
    } else if (ch === ')') {
      level--;
      if (level === 0) {
        result.push(current + ')');
        current = '';
      } else current += ch;
    } else current += ch;
  }
  if (current) result.push(current);
  return result;
}

function comfyTokenWeights(text: string, current: number): WeightedText[] {
  const out: WeightedText[] = [];
  for (let x of parseParentheses(text)) {
    if (x.length >= 2 && x.startsWith('(') && x.endsWith(')')) {
      x = x.slice(1, -1);
      const colon = x.lastIndexOf(':');
      let weight = current * 1.1;
      if (colon > 0) {
        const w = pythonFloat(x.slice(colon + 1));
        if (w !== undefined) {
          weight = w;
          x = x.slice(0, colon);
        }
      }
      out.push(...comfyTokenWeights(x, weight));
    } else out.push([x, current]);
  }
  return out;
}

// ComfyUI escape_important / unescape_important: only \( and \) are escapes.
const ESCAPED_CLOSE = '\0\u0001';
const ESCAPED_OPEN = '\0\u0002';

/** ComfyUI's token_weights(escape_important(text), 1.0), each text unescaped: '(…)' nests ×1.1, '(text:w)' sets w. */
export function parseComfyWeights(text: string): WeightedText[] {
  const escaped = text.replaceAll('\\)', ESCAPED_CLOSE).replaceAll('\\(', ESCAPED_OPEN);
  return comfyTokenWeights(escaped, 1).map(([t, w]) => [t.replaceAll(ESCAPED_CLOSE, ')').replaceAll(ESCAPED_OPEN, '('), w]);
}

/** A1111 get_multicond_prompt_list's split of one prompt on AND: each part's text and `:weight`. */
export function splitA1111And(prompt: string): { text: string; weight: number }[] {
  return prompt.split(/(?<![\p{L}\p{N}\p{M}_])AND(?![\p{L}\p{N}\p{M}_])/u).map((part) => {
    const m = /^([\s\S]*?)(?:\s*:\s*([-+]?(?:\d+\.?|\d*\.\d+)))?\s*$/.exec(part)!;
    return { text: m[1]!, weight: m[2] === undefined ? 1 : Number(m[2]) };
  });
}
