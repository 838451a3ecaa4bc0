// What the panel tells the user for each way the bridge can be out of reach.
import { describe, expect, it } from 'vitest';
import { KirieApiError } from '@kirie/core/client/protocol';
import { connectionHelp } from '../src/connection.js';

const URL = 'http://127.0.0.1:7860';
const unreachable = new KirieApiError(0, 'unreachable', 'the Kirie bridge at … is not reachable (Failed to fetch)');

describe('connectionHelp', () => {
  it('wrong token: how to get the right one', () => {
    expect(connectionHelp(new KirieApiError(401, 'unauthorized', 'wrong token'), URL, null)).toMatch(/^The bridge at http:\/\/127\.0\.0\.1:7860 refused the token\. Press Pair with bridge, or run `npx kirie token`/);
  });

  it('nothing answers where the browser has no local-network gate or allows it: start the bridge, nothing about the browser', () => {
    for (const permission of [null, 'granted'] as const) {
      expect(connectionHelp(unreachable, URL, permission)).toBe('No Kirie bridge answers at http://127.0.0.1:7860. Start it in a terminal with `npx kirie serve` and leave that window open, then press Check.');
    }
  });

  it('nothing answers and the local-network permission is not granted: both causes, and what to do about each', () => {
    for (const permission of ['denied', 'prompt'] as const) {
      const text = connectionHelp(new KirieApiError(0, 'events_unavailable', 'could not open the event stream'), URL, permission)!;
      expect(text).toMatch(/^No Kirie bridge answers at .* If it is running, the browser is blocking the plugin from reaching this computer \(local network access\)\. Figma in a browser: allow figma\.com "Apps on device" \/ "Local network access" .* or use the Figma desktop app\.$/);
    }
  });

  it('other errors are not about the connection', () => {
    expect(connectionHelp(new Error('select a frame first'), URL, 'denied')).toBeNull();
    expect(connectionHelp(new KirieApiError(400, 'invalid_request', 'steps must be ≤ 150', 'steps'), URL, 'denied')).toBeNull();
  });
});
