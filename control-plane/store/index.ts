export { openSqliteStore, migrate, type Db } from './open-store.js';
export type * from './schema.js';
