// What to tell a user whose panel cannot talk to the bridge: the two cases a first run meets (the bridge
// is not started; the token is missing or stale), each with the exact command that fixes it.
import { KirieApiError } from '@kirie/core/client/protocol';

const START_BRIDGE = 'npm start';
const START_BRIDGE_NPX = 'npx kirie serve';
const PRINT_TOKEN = 'npx kirie token';

/** The fix for a connection failure, or null when `err` is about something else. */
export function connectionHelp(err: unknown, url: string): string | null {
  if (!(err instanceof KirieApiError)) return null;
  if (err.status === 0 && err.code === 'unreachable') {
    return `Kirie's bridge is not running at ${url}. Start it in a terminal, in the Kirie folder: \`${START_BRIDGE}\` (or \`${START_BRIDGE_NPX}\`), leave it open, then try again.`;
  }
  if (err.status === 401) {
    return `The bridge at ${url} refused the token. In a terminal run \`${PRINT_TOKEN}\`, paste what it prints into Bridge ▸ Token, and press Save.`;
  }
  if (err.status === 0 && err.code === 'events_unavailable') {
    return `The bridge at ${url} answered but its event stream did not open (${err.message}). Check the token (\`${PRINT_TOKEN}\`) and that the URL is the one \`${START_BRIDGE_NPX}\` printed.`;
  }
  return null;
}
