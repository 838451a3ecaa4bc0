// One HTTP call to the bridge, shared by KirieClient (with the token) and pairing (before there is one).
// A refusal comes back as the KirieApiError the bridge sent; no answer at all as status 0, 'unreachable'.
import { type ApiErrorBody, API_PREFIX, KirieApiError } from './protocol.js';
import type { FetchLike, ResponseLike } from './transport.js';

export interface CallOptions {
  token?: string;
  body?: string | Uint8Array;
  contentType?: string;
}

export async function callBridge(fetchImpl: FetchLike, base: string, method: string, path: string, options: CallOptions = {}): Promise<ResponseLike> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.contentType) headers['content-type'] = options.contentType;
  let response;
  try {
    response = await fetchImpl(`${base}${API_PREFIX}${path}`, { method, headers, ...(options.body !== undefined ? { body: options.body } : {}) });
  } catch (err) {
    throw new KirieApiError(0, 'unreachable', `the Kirie bridge at ${base} is not reachable (${err instanceof Error ? err.message : String(err)}); is \`kirie serve\` running?`);
  }
  if (!response.ok) {
    const text = await response.text();
    let parsed: ApiErrorBody | null = null;
    try {
      parsed = JSON.parse(text) as ApiErrorBody;
    } catch {
      // not a bridge error body: report the raw text
    }
    const e = parsed?.error;
    throw new KirieApiError(response.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${response.status}: ${text.slice(0, 200)}`, e?.field);
  }
  return response;
}
