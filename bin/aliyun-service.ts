// aliyun-service: the agent (see bin/aliyun-service-main.ts for the flags).
import './lite-mode.js';
import { main } from './aliyun-service-main.js';

void main(process.argv.slice(2));
