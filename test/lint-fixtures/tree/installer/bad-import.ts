// Deliberately broken: the installer may use agent/shared and agent/config only.
export { registerInstance } from '../agent/identity/index.js';
