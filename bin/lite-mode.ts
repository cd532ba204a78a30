// Imported first by the on-instance entry points (bin/multicall.ts, bin/aliyun-service.ts,
// bin/assist-daemon.ts): V8's lite mode trades peak JavaScript speed, which a mostly idle agent
// does not need, for memory (about 9 MiB less resident after load; docs/benchmarks.md). Set at
// run time because the single executable refuses V8 flags in NODE_OPTIONS; the earlier the
// better, since code compiled before it keeps what it allocated.
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--lite-mode');
