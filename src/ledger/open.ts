import { PgliteDatabase, PostgresDatabase, type Database } from './database';
import { migrate } from './migrate';

export interface StoreConfig {
  /** A PostgreSQL URL; when absent, the embedded PGlite store is used. */
  databaseUrl?: string;
  /** The embedded store's folder, or `memory://`. */
  dataDir: string;
  /** PostgreSQL schema to work in (tests use one each). */
  schema?: string;
}

/** Opens the configured store and brings its schema up to date. Called once at start. */
export async function openDatabase(config: StoreConfig): Promise<Database> {
  const db = config.databaseUrl
    ? await PostgresDatabase.open({ connectionString: config.databaseUrl, schema: config.schema })
    : await PgliteDatabase.open(config.dataDir);
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
