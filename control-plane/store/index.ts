export { openSqliteStore, openStore, migrate, type Db, type StoreOptions } from './open-store.js';
export { GroupedTransactions, type GroupCollector, type Unit } from './grouped-transactions.js';
export {
  dialectOf,
  escapeLike,
  forWrite,
  inLockOrder,
  likeInsensitive,
  runOnce,
  valuesOf,
  type StoreDialect,
} from './dialect.js';
export type * from './schema.js';
export { concurrentWriters, pgConnectionString } from './postgres-store.js';
export type { InstancePluginTable, PluginVersionTable } from './plugin-tables.js';
