/// <reference lib="dom" />
// What to tell the user when the UI cannot talk to the bridge. Three causes look different to the user but
// alike to fetch: no bridge running, a wrong token (401), and a browser that blocks a web page (figma.com)
// from reaching 127.0.0.1. Chrome's Local Network Access asks the user before a public site reaches the
// loopback address space; denied, or not delegated to the plugin's cross-origin iframe, the fetch fails as if
// nothing listened (developer.chrome.com/docs/modern-web-guidance/guides/security/local-network-access).
import { KirieApiError } from '@kirie/core/client/protocol';

/**
 * The permission's state where the browser reports it: 'loopback-network' (Chrome 142+), earlier
 * 'local-network-access'; browsers that know neither name throw, which means "no such gate here".
 */
export async function localNetworkPermission(): Promise<PermissionState | null> {
  const permissions = (globalThis.navigator as Navigator | undefined)?.permissions;
  if (!permissions) return null;
  for (const name of ['loopback-network', 'local-network-access']) {
    try {
      return (await permissions.query({ name } as unknown as PermissionDescriptor)).state;
    } catch {
      // unknown permission name in this browser: try the next
    }
  }
  return null;
}

const START = 'Start it in a terminal with `npx kirie serve` and leave that window open';
const BROWSER = 'Figma in a browser: allow figma.com "Apps on device" / "Local network access" when Chrome asks (or in its site settings, the icon left of the address bar) and run the plugin again, or use the Figma desktop app';

/** A message saying exactly what to do, or null when the error is not about the connection. */
export function connectionHelp(err: unknown, url: string, permission: PermissionState | null): string | null {
  if (!(err instanceof KirieApiError)) return null;
  if (err.status === 401) return `The bridge at ${url} refused the token. Press Pair with bridge, or run \`npx kirie token\` in a terminal, paste what it prints into Bridge → Token, and press Save.`;
  if (err.code !== 'unreachable' && err.code !== 'events_unavailable') return null;
  const start = `No Kirie bridge answers at ${url}. ${START}, then press Check.`;
  // 'denied' is also what a cross-origin iframe reads where nobody delegated the permission, blocked or not.
  if (permission === 'granted' || permission === null) return start;
  return `${start} If it is running, the browser is blocking the plugin from reaching this computer (local network access). ${BROWSER}.`;
}
