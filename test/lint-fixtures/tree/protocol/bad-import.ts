// Deliberately broken: protocol imports nothing of ours.
import { y } from '../agent/shared/index.js';
export const z = y;
