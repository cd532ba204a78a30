export { openSqliteStore, openStore, migrate, type Db, type StoreOptions } from './open-store.js';
export { dialectOf, escapeLike, likeInsensitive, valuesOf, type StoreDialect } from './dialect.js';
export type * from './schema.js';
