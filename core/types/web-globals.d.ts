// The few web-platform globals the core uses, which browsers and Node (>= 18) both provide. Declared here
// instead of pulling in the DOM or Node typings, so that core code reaching for any other host API (fs,
// Buffer, document, ...) fails to compile under core/tsconfig.json.

declare class TextEncoder {
  encode(input?: string): Uint8Array;
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}

interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
}
