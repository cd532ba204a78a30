// aliyun-service: the agent (see bin/aliyun-service-main.ts for the flags).
import { hideBin } from 'yargs/helpers';
import { main } from './aliyun-service-main.js';

void main(hideBin(process.argv));
