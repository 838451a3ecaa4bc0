// The panels' "Pair with bridge" against a real bridge: the code shown is the one to type, the token comes
// after it was typed into the bridge's terminal; a port the manifests do not allow is refused before asking.
import { PassThrough } from 'node:stream';
import { expect, it } from 'vitest';
import { approveFromTerminal } from '../../../bridge/src/server/pairing.js';
import { ScriptedRunner, startTestBridge } from '../../../bridge/test/server/harness.js';
import { pairingInstructions, pairPanel } from '../src/pairing.js';

it('shows where to type the code, and gets the token only after it was typed in the bridge terminal', async () => {
  const bridge = await startTestBridge({ runner: new ScriptedRunner(), portInRange: true });
  const terminal = new PassThrough();
  const stop = approveFromTerminal(bridge.app.pairing, terminal, () => {});
  try {
    const shown: string[] = [];
    let token: string | undefined;
    const paired = pairPanel({ url: `${bridge.url}/`, client: 'Figma', pollMs: 20, show: (text) => shown.push(text) }).then((t) => (token = t));
    while (shown.length === 0) await new Promise((r) => setTimeout(r, 10));
    const code = /^Pairing code ([A-Z0-9]{6})\./.exec(shown[0]!)![1]!;
    expect(shown).toEqual([pairingInstructions(code)]);
    expect(shown[0]).toContain(`run \`npx kirie pair ${code}\``);
    await new Promise((r) => setTimeout(r, 200));
    expect(token).toBeUndefined();
    terminal.write(`${code}\n`);
    expect(await paired).toBe(bridge.token);
  } finally {
    stop();
    await bridge.dispose();
  }
});

it('refuses a port outside the manifests before asking anything', async () => {
  const fetch = async () => {
    throw new Error('must not be called');
  };
  await expect(pairPanel({ url: 'http://127.0.0.1:9000', client: 'Photoshop', fetch, show: () => {} })).rejects.toThrow(/port 9000 is not one the plugin may connect to/);
});
