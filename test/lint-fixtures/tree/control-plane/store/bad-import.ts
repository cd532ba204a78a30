// Deliberately broken: the control plane must not import the agent.
import { y } from '../../agent/shared/index.js';
export const z = y;
