// Figma main thread entry: the only place the `figma` global and `__html__` are read.
import type { PluginApi } from './figma-api.js';
import { createFigmaHost } from './host.js';
import { createMessageHandler } from './main.js';
import type { MainToUi, UiToMain } from './messages.js';

declare const figma: PluginApi;
declare const __html__: string;

const host = createFigmaHost(figma);
const post = (message: MainToUi) => figma.ui.postMessage(message);
const handle = createMessageHandler(host, post);

// themeColors: Figma adds its --figma-color-* CSS variables (light or dark) to the UI iframe.
figma.showUI(__html__, { width: 320, height: 640, themeColors: true, title: 'Kirie' });
figma.ui.onmessage = (message) => void handle(message as UiToMain);
figma.on('selectionchange', () => post({ type: 'selection', ...host.describeSelection() }));
post({ type: 'selection', ...host.describeSelection() });
void host.loadSettings().then((settings) => post({ type: 'settings', settings }));
void host.loadPrefs().then((prefs) => post({ type: 'prefs', prefs }));
