// Headless Chromium with WebGL but no GPU: ANGLE on SwiftShader (Chromium's software renderer), which
// headless Chromium only uses when asked (--enable-unsafe-swiftshader, since Chromium 137 no longer a
// silent fallback). For the 3-D mannequin editor's browser tests.
import { chromium, type Browser } from 'playwright-core';

export function launchWithWebgl(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
