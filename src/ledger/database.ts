import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Pool, types, type PoolClient } from 'pg';
import { statement } from '../telemetry/statements';

// Keep int8 and numeric as strings: amounts and counts must not pass through a float.
types.setTypeParser(types.builtins.INT8, (v) => v);
types.setTypeParser(types.builtins.NUMERIC, (v) => v);

/** Waiting for a lock took longer than the caller allowed. */
export class LockTimeoutError extends Error {
  constructor(name: string) {
    super(`timed out waiting for the lock ${name}`);
    this.name = 'LockTimeoutError';
  }
}

/** Something that runs SQL: the database itself or one transaction. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements, without parameters (migrations). */
  exec(script: string): Promise<void>;
}

/**
 * The ledger's store: the embedded PGlite (default) or a PostgreSQL server (DATABASE_URL). Both speak the same
 * SQL; the ledger is written once against this interface.
 */
export interface Database extends Sql {
  readonly kind: 'pglite' | 'postgres';
  /** Queries run since start, for tests and benchmarks that prove batching. */
  readonly stats: { queries: number };
  /** Runs fn in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Runs fn holding a cluster-wide lock on `name` (replicas migrate, or refresh a shared token, one at a time), with
   * the lock's own connection (a transaction, on PostgreSQL), which fn gets. Waits for the lock at most `waitMs`
   * (default: as long as it takes), then fails with LockTimeoutError.
   */
  withLock<T>(name: string, fn: (sql: Sql) => Promise<T>, options?: { waitMs?: number }): Promise<T>;
  /** A server's connection pool as it stands (PostgreSQL); absent on the embedded store, which has one connection. */
  poolStats?(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

/**
 * The embedded store's PostgreSQL settings: PGlite's own (single-user mode, fsync off, no parallel workers; see
 * PGlite.defaultStartParams in @electric-sql/pglite's src/pglite.ts, which `startParams` replaces, hence the
 * spread) and a smaller shared_buffers. initdb leaves PostgreSQL's default, 128MB, and PGlite's backend holds its
 * shared memory inside its WebAssembly memory, resident from the start: 128 MB of the process before the first
 * query, for a ledger whose working set is a few MB (measured on 0.5.16: 291 MB resident for PGlite alone, 176 MB
 * with 16MB). Pages beyond it are read back from the data folder, which the OS caches; bench (c)'s creates and the
 * ledger's writes alone run as fast (BENCHMARKS.md, "Start-up and idle memory"). PGlite's other memory option,
 * `initialMemory`, can only raise its WebAssembly memory's initial 128 MB (the module declares that minimum), and
 * only pages PostgreSQL touches are resident anyway. A `-c` here overrides the data folder's postgresql.conf.
 */
const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/**
 * Creates the embedded store's data folder when it has none yet (no PG_VERSION, PGlite's own test), in a child
 * process that exits after. PGlite runs initdb in a second, throw-away PGlite instance beside initdb's own
 * WebAssembly module, copies that instance's whole heap (src/initdb.ts: `HEAPU8.slice()`) and moves the new folder
 * over as a tar (src/pglite.ts, `pgliteForInitDb`): PGlite alone held 760 MB resident after creating a folder,
 * against 290 MB for the same folder opened by a fresh process; closing that instance, collecting and reopening in
 * the same process still left 440 MB (a worker thread, 310). In a child, all of it goes back to the system when the
 * child exits; a first start takes about a second longer (the child's own start and a second open). `memory://` (tests, benchmarks) has no folder to hand over: it
 * still runs initdb in-process.
 */
async function createDataDir(dataDir: string): Promise<void> {
  const dir = resolve(dataDir);
  if (existsSync(join(dir, 'PG_VERSION'))) return;
  const pglite = require.resolve('@electric-sql/pglite');
  const script = `require(${JSON.stringify(pglite)}).PGlite.create(process.env.PGLITE_CREATE_DIR).then((db) => db.close())`;
  const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, PGLITE_CREATE_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('exit', done);
  });
  if (code !== 0) throw new Error(`creating the PGlite data folder ${dir} failed (exit ${code}): ${stderr.trim()}`);
}

export class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  readonly stats = { queries: 0 };

  private constructor(private readonly db: PGlite) {}

  /** The PGlite instance itself, for the job queue, which shares its one connection. */
  get pglite(): PGlite {
    return this.db;
  }

  /** `dataDir` is a folder, or `memory://` for a store that lives and dies with the process. */
  static async open(dataDir: string): Promise<PgliteDatabase> {
    if (dataDir !== 'memory://') await createDataDir(dataDir);
    const db = await PGlite.create(dataDir === 'memory://' ? undefined : dataDir, { startParams: PGLITE_START_PARAMS });
    return new PgliteDatabase(db);
  }

  async query<T>(text: string, params: unknown[] = []): Promise<T[]> {
    this.stats.queries++;
    return (await statement('pglite', text, () => this.db.query<T>(text, params))).rows;
  }

  async exec(script: string): Promise<void> {
    this.stats.queries++;
    await statement('pglite', script, () => this.db.exec(script));
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) =>
      fn({
        query: async <R>(text: string, params: unknown[] = []) => {
          this.stats.queries++;
          return (await statement('pglite', text, () => tx.query<R>(text, params))).rows;
        },
        exec: async (script: string) => {
          this.stats.queries++;
          await statement('pglite', script, () => tx.exec(script));
        },
      }),
    );
  }

  private readonly locks = new Map<string, Promise<unknown>>();

  // One process owns a PGlite data folder, so only its own callers can contend: they queue per name. Not in a
  // transaction: PGlite's would stop every other query of the process for as long as fn runs.
  async withLock<T>(name: string, fn: (sql: Sql) => Promise<T>, options: { waitMs?: number } = {}): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    // Those who come later wait for everyone before them: the holders, and this caller whether it runs or gives up.
    const mine = Promise.all([previous, finished]);
    this.locks.set(name, mine);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (options.waitMs === undefined) await previous;
      else await Promise.race([previous, new Promise((_, reject) => (timer = setTimeout(() => reject(new LockTimeoutError(name)), options.waitMs)))]);
      return await fn(this);
    } finally {
      clearTimeout(timer);
      done();
      void mine.then(() => this.locks.get(name) === mine && this.locks.delete(name));
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

export interface PostgresOptions {
  connectionString: string;
  /** A schema to work in (tests isolate themselves this way); created if missing. */
  schema?: string;
  maxConnections?: number;
}

export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly stats = { queries: 0 };

  private constructor(private readonly pool: Pool) {}

  static async open(options: PostgresOptions): Promise<PostgresDatabase> {
    if (options.schema && !/^[a-z_][a-z0-9_]*$/.test(options.schema)) throw new Error(`invalid schema name ${options.schema}`);
    const pool = new Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      options: options.schema ? `-c search_path=${options.schema}` : undefined,
    });
    // An idle client's network error must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    if (options.schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
    return new PostgresDatabase(pool);
  }

  async query<T>(text: string, params: unknown[] = []): Promise<T[]> {
    this.stats.queries++;
    return (await statement('postgres', text, () => this.pool.query(text, params))).rows as T[];
  }

  async exec(script: string): Promise<void> {
    this.stats.queries++;
    await statement('postgres', script, () => this.pool.query(script));
  }

  /** The pool's connections as they stand, for `GET /metrics`. */
  poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>, before?: (tx: PoolClient) => Promise<void>): Promise<T> {
    const client = await this.pool.connect();
    // pg-pool listens for a checked-out connection's errors no more: without this, a connection the server drops
    // while we hold it (a restart, a failover) would crash the process. Its pending query fails instead.
    const ignore = () => undefined;
    client.on('error', ignore);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      if (before) await before(client);
      const result = await fn(this.clientSql(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      client.off('error', ignore);
      // A connection that could not even roll back is discarded, not returned to the pool.
      client.release(broken);
    }
  }

  async withLock<T>(name: string, fn: (sql: Sql) => Promise<T>, options: { waitMs?: number } = {}): Promise<T> {
    return this.transaction(fn, async (client) => {
      if (options.waitMs !== undefined) await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(options.waitMs))}`);
      try {
        // A transaction's advisory lock: released by COMMIT or ROLLBACK, whatever happens to fn.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
      } catch (err) {
        throw (err as { code?: string }).code === '55P03' ? new LockTimeoutError(name) : err;
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private clientSql(client: PoolClient): Sql {
    return {
      query: async <R>(text: string, params: unknown[] = []) => {
        this.stats.queries++;
        return (await statement('postgres', text, () => client.query(text, params))).rows as R[];
      },
      exec: async (script: string) => {
        this.stats.queries++;
        await statement('postgres', script, () => client.query(script));
      },
    };
  }
}
