// The ports a plugin may reach the bridge on. Photoshop (UXP manifest v5 `requiredPermissions.network.domains`)
// and Figma (`networkAccess.allowedDomains`) allow requests only to the origins their manifests list, and
// neither takes a port wildcard: UXP's manifest documents domains as "an array of strings or 'all'", with
// wildcards only for subdomains (https://developer.adobe.com/photoshop/uxp/2022/guides/uxp_guide/uxp-misc/manifest-v5/,
// AdobeDocs/uxp-photoshop src/pages/guides/uxp_guide/uxp-misc/manifest-v5/index.md). So both manifests list
// this small range origin by origin (plugins/shared/test/manifest-ports.test.ts keeps them equal to it),
// the panels refuse other ports, and `kirie serve --port` warns outside it.

export const BRIDGE_PORTS = { first: 7860, last: 7869 } as const;

export const DEFAULT_BRIDGE_PORT = BRIDGE_PORTS.first;

/** "7860–7869", for messages. */
export const BRIDGE_PORT_RANGE = `${BRIDGE_PORTS.first}–${BRIDGE_PORTS.last}`;

export function isBridgePort(port: number): boolean {
  return Number.isInteger(port) && port >= BRIDGE_PORTS.first && port <= BRIDGE_PORTS.last;
}

/** Every origin the manifests must allow: http and ws, 127.0.0.1 and localhost, each port of the range. */
export function bridgeOrigins(): string[] {
  const origins: string[] = [];
  for (const scheme of ['http', 'ws']) {
    for (const host of ['127.0.0.1', 'localhost']) {
      for (let port: number = BRIDGE_PORTS.first; port <= BRIDGE_PORTS.last; port++) origins.push(`${scheme}://${host}:${port}`);
    }
  }
  return origins;
}
