// aliyun_assist_update: the updater (see bin/aliyun-assist-update-main.ts for the flags).
import { main } from './aliyun-assist-update-main.js';

void main(process.argv.slice(2));
