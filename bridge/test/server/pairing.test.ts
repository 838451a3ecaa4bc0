// Pairing: a panel without the token gets it only after the user approved the code it shows (by the
// token's owner: the API with the token, `kirie pair`, or the bridge's terminal); codes expire; few wait.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { KirieApiError } from '@kirie/core/client/protocol';
import { normalisePairingCode, pairWithBridge, PAIRING_CODE_ALPHABET, PAIRING_TTL_SECONDS } from '@kirie/core/client/pairing';
import { Command } from 'commander';
import { registerPairCommand } from '../../src/commands/pair.js';
import { approveFromTerminal, MAX_PENDING_PAIRINGS, PairingBook } from '../../src/server/pairing.js';
import { ScriptedRunner, startTestBridge } from './harness.js';

describe('PairingBook', () => {
  it('gives the token once, and only after the code was approved', () => {
    const book = new PairingBook('the-token');
    const { id, code, expiresInSeconds } = book.request('Photoshop');
    expect(code).toMatch(new RegExp(`^[${PAIRING_CODE_ALPHABET}]{6}$`));
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(expiresInSeconds).toBe(PAIRING_TTL_SECONDS);
    expect(book.status(id)).toEqual({ status: 'pending', expiresInSeconds: PAIRING_TTL_SECONDS });
    expect(book.approve(`${code.slice(0, 3).toLowerCase()}-${code.slice(3)}`)).toEqual({ client: 'Photoshop' });
    expect(book.status(id)).toEqual({ status: 'approved', token: 'the-token' });
    expect(() => book.status(id)).toThrow(/no pairing request with this id/);
  });

  it('refuses a wrong code and keeps the right one waiting', () => {
    const book = new PairingBook('t');
    const { id, code } = book.request('Figma');
    const wrong = code === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA';
    expect(() => book.approve(wrong)).toThrow(new KirieApiError(404, 'not_found', `no pairing request waits with code "${wrong}": type the code the plugin's panel shows (codes expire after 5 minutes)`, 'code'));
    expect(book.status(id).status).toBe('pending');
    book.approve(code);
    expect(() => book.approve(code)).toThrow(/no pairing request waits/);
  });

  it('forgets requests after their time, approved or not', () => {
    let now = 1_000_000;
    const book = new PairingBook('t', () => now);
    const waiting = book.request('Photoshop');
    const approved = book.request('Figma');
    book.approve(approved.code);
    now += PAIRING_TTL_SECONDS * 1000 - 1000;
    expect(book.status(waiting.id)).toEqual({ status: 'pending', expiresInSeconds: 1 });
    now += 1000;
    expect(() => book.status(waiting.id)).toThrow(/expired/);
    expect(() => book.status(approved.id)).toThrow(/expired/);
    expect(() => book.approve(waiting.code)).toThrow(/no pairing request waits/);
  });

  it(`lets ${MAX_PENDING_PAIRINGS} wait at once, each with its own code`, () => {
    let now = 0;
    const book = new PairingBook('t', () => now);
    const codes = new Set(Array.from({ length: MAX_PENDING_PAIRINGS }, () => book.request('a page').code));
    expect(codes.size).toBe(MAX_PENDING_PAIRINGS);
    expect(() => book.request('a page')).toThrow(expect.objectContaining({ status: 429, code: 'busy' }));
    now += PAIRING_TTL_SECONDS * 1000;
    expect(book.request('Photoshop').code).toHaveLength(6);
  });

  it('approves the code typed into the bridge terminal and says what happened', async () => {
    const book = new PairingBook('t');
    const input = new PassThrough();
    const said: string[] = [];
    const stop = approveFromTerminal(book, input, (line) => said.push(line));
    const { id, code } = book.request('Photoshop');
    expect(said).toEqual(['Photoshop asks to pair: type the code its panel shows here and press Enter (or run `npx kirie pair CODE`)']);
    input.write('nope\n');
    input.write(` ${code.toLowerCase()} \n`);
    await new Promise((r) => setImmediate(r));
    expect(said.slice(1)).toEqual([expect.stringMatching(/^no pairing request waits with code "NOPE"/), 'paired: Photoshop now has the token']);
    expect(book.status(id)).toEqual({ status: 'approved', token: 't' });
    stop();
  });

  it('reads codes as people type them', () => {
    expect(normalisePairingCode(' k7m-4qx ')).toBe('K7M4QX');
    expect(normalisePairingCode('k7m 4qx')).toBe('K7M4QX');
  });
});

describe('pairWithBridge against a running bridge', () => {
  it('shows the code, waits for the approval (which needs the token), and returns the token', async () => {
    const bridge = await startTestBridge({ runner: new ScriptedRunner() });
    try {
      let shown = '';
      const paired = pairWithBridge({ url: bridge.url, client: 'Photoshop', pollMs: 20, onCode: (code) => (shown = code) });
      while (!shown) await new Promise((r) => setTimeout(r, 10));
      // Before approval: polling says pending, and the approve route wants the token.
      await new Promise((r) => setTimeout(r, 100));
      const approveWithout = await fetch(`${bridge.url}/v1/pair/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: shown }) });
      expect(approveWithout.status).toBe(401);
      const approved = await fetch(`${bridge.url}/v1/pair/approve`, { method: 'POST', headers: { 'content-type': 'application/json', ...bridge.auth }, body: JSON.stringify({ code: shown }) });
      expect(await approved.json()).toEqual({ client: 'Photoshop' });
      expect(await paired).toBe(bridge.token);
      // The name is printed in the bridge's terminal: escape sequences are refused.
      const sneaky = await fetch(`${bridge.url}/v1/pair`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client: 'Photo\u001b[2Jshop' }) });
      expect(sneaky.status).toBe(400);
      expect(await sneaky.json()).toEqual({ error: { code: 'invalid_request', message: 'client: client must be plain text, without control characters', field: 'client' } });
    } finally {
      await bridge.dispose();
    }
  });

  it('stops polling when cancelled', async () => {
    const bridge = await startTestBridge({ runner: new ScriptedRunner() });
    try {
      const signal = { aborted: false };
      await expect(pairWithBridge({ url: bridge.url, client: 'Figma', pollMs: 20, signal, onCode: () => (signal.aborted = true) })).rejects.toThrow(/pairing cancelled/);
    } finally {
      await bridge.dispose();
    }
  });

  it('says the code expired when the bridge no longer knows the request', async () => {
    // The bridge's answers for a request that expired between two polls (as PairingBook words them).
    const answers = [
      { status: 200, body: { id: 'a'.repeat(64), code: 'K7M4QX', expiresInSeconds: 300 } },
      { status: 200, body: { status: 'pending', expiresInSeconds: 1 } },
      { status: 404, body: new KirieApiError(404, 'not_found', 'no pairing request with this id: it expired or its token was already given; ask again', 'id').body() },
    ];
    const fetch = async () => {
      const { status, body } = answers.shift()!;
      const text = JSON.stringify(body);
      return { ok: status < 300, status, headers: { get: () => 'application/json' }, json: async () => body, text: async () => text, arrayBuffer: async () => new ArrayBuffer(0) };
    };
    await expect(pairWithBridge({ url: 'http://127.0.0.1:7860', client: 'Figma', pollMs: 1, fetch, onCode: () => {} })).rejects.toThrow(
      new KirieApiError(404, 'pairing_expired', 'the code K7M4QX was not approved within 300 s; press Pair again for a new one'),
    );
    expect(answers).toHaveLength(0);
  });

  it('`kirie pair CODE` approves with the token from the bridge home, and names what it approved', async () => {
    const bridge = await startTestBridge({ runner: new ScriptedRunner() });
    const said: string[] = [];
    const log = console.log;
    try {
      let shown = '';
      const paired = pairWithBridge({ url: bridge.url, client: 'Figma', pollMs: 20, onCode: (code) => (shown = code) });
      while (!shown) await new Promise((r) => setTimeout(r, 10));
      console.log = (line: string) => said.push(line);
      const program = new Command('kirie').exitOverride();
      registerPairCommand(program);
      await program.parseAsync(['pair', shown.toLowerCase(), '--port', String(bridge.port), '--home', bridge.home], { from: 'user' });
      expect(said).toEqual(['paired: Figma now has the token']);
      expect(await paired).toBe(bridge.token);
      await expect(program.parseAsync(['pair', shown, '--port', String(bridge.port), '--home', bridge.home], { from: 'user' })).rejects.toThrow(/no pairing request waits with code/);
    } finally {
      console.log = log;
      await bridge.dispose();
    }
  });
});
