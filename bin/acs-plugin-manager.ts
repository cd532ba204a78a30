// acs-plugin-manager: the plugin manager (see bin/acs-plugin-manager-main.ts for the flags).
import { main } from './acs-plugin-manager-main.js';

void main(process.argv.slice(2));
