// Deliberately broken: the executor must not know the task layer or the protocol.
import { something } from '../tasks/runner.js';
export const x = something;
