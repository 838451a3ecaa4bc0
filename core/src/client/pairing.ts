// Pairing: how a panel gets the bridge token without the user copying it from a terminal. The panel asks
// (POST /v1/pair, public) and shows the short code it gets; the user types that code where only the token's
// owner can act (the bridge's own terminal, `kirie pair CODE`, or an authenticated POST /v1/pair/approve);
// the panel polls GET /v1/pair/:id and receives the token once, after that approval. Typing the code the
// panel shows is what ties the approval to this panel: a page or process that asks too gets a code the
// user never sees. Codes expire (PAIRING_TTL_SECONDS) and few may wait at once; wrong codes need no lockout,
// since only the token's owner can try one.
import { callBridge } from './call.js';
import { KirieApiError } from './protocol.js';
import type { FetchLike } from './transport.js';

/** Timers are the host's (core has no DOM or Node types); UXP, Figma's UI and Node all have setTimeout. */
const host = globalThis as unknown as { setTimeout(callback: () => void, ms: number): unknown };

export const PAIRING_TTL_SECONDS = 300;
/** No 0/O, 1/I/L: read off a panel and typed by a person. */
export const PAIRING_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const PAIRING_CODE_LENGTH = 6;

/** POST /v1/pair body. `client` names the asker in the bridge's prompt, e.g. "Photoshop". */
export interface PairingRequest {
  client: string;
}
export interface PairingStarted {
  /** Unguessable: only the asker can poll it. */
  id: string;
  code: string;
  expiresInSeconds: number;
}
export type PairingStatus = { status: 'pending'; expiresInSeconds: number } | { status: 'approved'; token: string };
/** POST /v1/pair/approve body and answer. */
export interface PairingApproval {
  code: string;
}
export interface PairingApproved {
  client: string;
}

/** The code as a person may type it ("k7m 4qx", "K7M-4QX") in its canonical form. */
export function normalisePairingCode(typed: string): string {
  return typed.toUpperCase().replace(/[\s-]+/g, '');
}

export interface PairOptions {
  /** e.g. "http://127.0.0.1:7860" */
  url: string;
  client: string;
  /** Called once with the code to show, as soon as the bridge gave it. */
  onCode(code: string, expiresInSeconds: number): void;
  fetch?: FetchLike;
  /** Checked between polls: UXP's AbortSignal has no events, so the flag is all this relies on. */
  signal?: { readonly aborted: boolean };
  pollMs?: number;
}

/** Asks the bridge to pair and waits for the user to approve the code: resolves with the token. */
export async function pairWithBridge(options: PairOptions): Promise<string> {
  const base = options.url.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch?.bind(globalThis);
  if (!fetchImpl) throw new Error('no fetch available: pass one in PairOptions.fetch');
  const body = JSON.stringify({ client: options.client } satisfies PairingRequest);
  const started = (await (await callBridge(fetchImpl, base, 'POST', '/pair', { body, contentType: 'application/json' })).json()) as PairingStarted;
  options.onCode(started.code, started.expiresInSeconds);
  for (;;) {
    await new Promise<void>((resolve) => host.setTimeout(resolve, options.pollMs ?? 1000));
    if (options.signal?.aborted) throw new KirieApiError(0, 'cancelled', 'pairing cancelled');
    let status: PairingStatus;
    try {
      status = (await (await callBridge(fetchImpl, base, 'GET', `/pair/${started.id}`)).json()) as PairingStatus;
    } catch (err) {
      if (err instanceof KirieApiError && err.status === 404) throw new KirieApiError(404, 'pairing_expired', `the code ${started.code} was not approved within ${started.expiresInSeconds} s; press Pair again for a new one`);
      throw err;
    }
    if (status.status === 'approved') return status.token;
  }
}
