// Every verify kind Kirie knows, tried in order against each case file.
import type { VerifyKind } from '../types.js';
import { componentsKind } from './components.js';

export const verifyKinds: VerifyKind[] = [componentsKind];
