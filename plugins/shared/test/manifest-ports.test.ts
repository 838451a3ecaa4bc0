// Both manifests allow exactly the bridge's port range (core/src/client/ports.ts), origin by origin: UXP and
// Figma take no port wildcards, so a port missing here is a port the panel can never reach.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { bridgeOrigins } from '@kirie/core/client/ports';

const plugins = join(import.meta.dirname, '../..');
const manifest = (host: string) => JSON.parse(readFileSync(join(plugins, host, 'manifest.json'), 'utf8'));

it('lists every origin of the port range in the Photoshop and Figma manifests, and nothing else', () => {
  const origins = bridgeOrigins();
  expect(origins).toHaveLength(40);
  expect(origins).toContain('ws://localhost:7869');
  expect(manifest('photoshop').requiredPermissions.network.domains).toEqual(origins);
  expect(manifest('figma').networkAccess.allowedDomains).toEqual(origins);
  expect(manifest('figma').networkAccess.devAllowedDomains).toEqual(origins);
});
