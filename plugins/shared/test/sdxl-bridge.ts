// A real bridge running the tiny SDXL golden checkpoint (tests/golden/tiny-sd15/tiny-sdxl.safetensors, with its
// sgm yaml sidecar as A1111 users keep it) beside the demo SD1.5 model, and a client that keeps every request
// the panel's flow sent, so a test can check what the flow asked of the bridge.
import WebSocket from 'ws';
import { KirieClient } from '@kirie/core/client/client';
import type { GenerateRequestInput, JobEvent } from '@kirie/core/client/protocol';
import type { WebSocketConstructorLike } from '@kirie/core/client/transport';
import { addTinyModel, startE2eBridge, type E2eBridge } from '../../../tests/e2e/bridge-harness.js';

export const TINY_XL = 'tiny-xl.safetensors';

export class RecordingClient extends KirieClient {
  readonly sent: GenerateRequestInput[] = [];
  /** The recipe of every finished job, as the bridge ran it. */
  readonly done: Extract<JobEvent, { type: 'done' }>[] = [];

  override async *generate(request: GenerateRequestInput): AsyncGenerator<JobEvent> {
    this.sent.push(request);
    for await (const event of super.generate(request)) {
      if (event.type === 'done') this.done.push(event);
      yield event;
    }
  }
}

export async function startSdxlBridge(): Promise<{ bridge: E2eBridge; client: RecordingClient }> {
  const bridge = await startE2eBridge();
  await addTinyModel(bridge.modelsDir, 'tiny-sdxl', TINY_XL.replace('.safetensors', ''));
  const client = new RecordingClient({ url: bridge.url, token: bridge.token, WebSocket: WebSocket as unknown as WebSocketConstructorLike });
  return { bridge, client };
}
