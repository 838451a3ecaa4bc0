// The plugin's main thread and UI wired as Figma wires them: messages cross as structured clones, later.
import { createFigmaHost } from '../src/host.js';
import { createMessageHandler } from '../src/main.js';
import type { MainToUi } from '../src/messages.js';
import { createMainRpc, type MainRpc } from '../src/rpc.js';
import type { FakeFigma } from './fake-figma.js';

export function pluginRpc(figma: FakeFigma): MainRpc {
  const host = createFigmaHost(figma.api());
  let rpc: MainRpc;
  const handle = createMessageHandler(host, (m: MainToUi) => queueMicrotask(() => rpc.receive(structuredClone(m))));
  rpc = createMainRpc((m) => queueMicrotask(() => void handle(structuredClone(m))));
  return rpc;
}
