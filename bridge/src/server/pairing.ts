// The bridge's side of pairing (core/src/client/pairing.ts says why it is safe): a short-lived book of
// waiting requests, its three routes, and approval typed into the bridge's own terminal.
import { randomBytes, randomInt } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX, KirieApiError } from '@kirie/core/client/protocol';
import { normalisePairingCode, PAIRING_CODE_ALPHABET, PAIRING_CODE_LENGTH, PAIRING_TTL_SECONDS, type PairingApproved, type PairingStarted, type PairingStatus } from '@kirie/core/client/pairing';

/** Requests that may wait at once: enough for a few panels, too few to flood the user's prompt. */
export const MAX_PENDING_PAIRINGS = 4;

// The name is printed in the bridge's terminal: no control characters (escape sequences could rewrite it).
export const PairingRequestBody = z.strictObject({
  client: z
    .string()
    .trim()
    .min(1, 'client must name the asker, e.g. "Photoshop"')
    .max(40, 'client must be at most 40 characters')
    .regex(/^[^\p{Cc}\p{Cf}]*$/u, 'client must be plain text, without control characters'),
});
export const PairingApprovalBody = z.strictObject({ code: z.string().max(32, 'code must be at most 32 characters') });
export const PairingStartedBody = z.object({ id: z.string(), code: z.string(), expiresInSeconds: z.number().int() });
export const PairingStatusBody = z.discriminatedUnion('status', [
  z.object({ status: z.literal('pending'), expiresInSeconds: z.number().int() }),
  z.object({ status: z.literal('approved'), token: z.string() }),
]);
export const PairingApprovedBody = z.object({ client: z.string() });

interface Pending {
  client: string;
  code: string;
  expiresAt: number;
  approved: boolean;
}

export class PairingBook {
  private readonly pending = new Map<string, Pending>();
  /** Told of each new request, e.g. to ask in the terminal for its code. */
  onRequest: (client: string) => void = () => {};

  constructor(
    private readonly token: string,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = PAIRING_TTL_SECONDS * 1000,
  ) {}

  request(client: string): PairingStarted {
    this.prune();
    if (this.pending.size >= MAX_PENDING_PAIRINGS) {
      throw new KirieApiError(429, 'busy', `${MAX_PENDING_PAIRINGS} pairing requests are already waiting for approval; try again once they are approved or expire (${PAIRING_TTL_SECONDS / 60} minutes)`);
    }
    const taken = new Set([...this.pending.values()].map((p) => p.code));
    let code: string;
    do code = Array.from({ length: PAIRING_CODE_LENGTH }, () => PAIRING_CODE_ALPHABET[randomInt(PAIRING_CODE_ALPHABET.length)]).join('');
    while (taken.has(code));
    const id = randomBytes(32).toString('hex');
    this.pending.set(id, { client, code, expiresAt: this.now() + this.ttlMs, approved: false });
    this.onRequest(client);
    return { id, code, expiresInSeconds: this.ttlMs / 1000 };
  }

  /** The token only once, after approval; then the request is gone. */
  status(id: string): PairingStatus {
    this.prune();
    const entry = this.pending.get(id);
    if (!entry) throw new KirieApiError(404, 'not_found', 'no pairing request with this id: it expired or its token was already given; ask again', 'id');
    if (!entry.approved) return { status: 'pending', expiresInSeconds: Math.ceil((entry.expiresAt - this.now()) / 1000) };
    this.pending.delete(id);
    return { status: 'approved', token: this.token };
  }

  approve(typed: string): PairingApproved {
    this.prune();
    const code = normalisePairingCode(typed);
    const entry = [...this.pending.values()].find((p) => p.code === code && !p.approved);
    if (!entry) throw new KirieApiError(404, 'not_found', `no pairing request waits with code "${code}": type the code the plugin's panel shows (codes expire after ${PAIRING_TTL_SECONDS / 60} minutes)`, 'code');
    entry.approved = true;
    return { client: entry.client };
  }

  private prune(): void {
    const now = this.now();
    for (const [id, entry] of this.pending) if (entry.expiresAt <= now) this.pending.delete(id);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    pairing: PairingBook;
  }
}

/** The body as `schema` reads it, or a 400 naming the first field that is wrong. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new KirieApiError(400, 'invalid_request', `${issue.path.join('.') || 'body'}: ${issue.message}`, issue.path.join('.') || 'body');
}

/** Asking and polling are public (the asker has no token yet); approving needs the token. */
export function registerPairing(app: FastifyInstance, token: string): void {
  const book = new PairingBook(token);
  app.decorate('pairing', book);
  app.post(`${API_PREFIX}/pair`, { config: { public: true } }, async (request): Promise<PairingStarted> => book.request(parseBody(PairingRequestBody, request.body).client));
  app.get<{ Params: { id: string } }>(`${API_PREFIX}/pair/:id`, { config: { public: true } }, async (request): Promise<PairingStatus> => book.status(request.params.id));
  app.post(`${API_PREFIX}/pair/approve`, async (request): Promise<PairingApproved> => book.approve(parseBody(PairingApprovalBody, request.body).code));
}

/** Lines typed into the bridge's terminal approve the request with that code. */
export function approveFromTerminal(book: PairingBook, input: NodeJS.ReadableStream, log: (line: string) => void): () => void {
  book.onRequest = (client) => log(`${client} asks to pair: type the code its panel shows here and press Enter (or run \`npx kirie pair CODE\`)`);
  const lines = createInterface({ input });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    try {
      log(`paired: ${book.approve(line).client} now has the token`);
    } catch (err) {
      log((err as Error).message);
    }
  });
  return () => lines.close();
}
