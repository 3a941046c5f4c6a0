import { fromPglite, PgBoss, type Job, type QueuePolicy } from 'pg-boss';
import type { Logger } from 'pino';
import { PgliteDatabase, type Database } from '../ledger/database';
import { inRootSpan } from '../telemetry/tracing';

/**
 * Background work shared by every replica, on pg-boss (https://pgboss.io): jobs live in the ledger's database, each
 * runs once across replicas (SKIP LOCKED), is retried with backoff, is taken over when the replica running it dies
 * (a missed heartbeat), and is counted by state for operators. On the embedded store the same queue runs in-process
 * on the same PGlite. Nothing else in the subgraph imports pg-boss.
 */

/** How a queue's jobs run. */
export interface QueueDefinition<T extends object> {
  /**
   * `standard` for one job per piece of work (a webhook delivery); `stately` for a chain that must never run twice at
   * once (a provider's sync pass: at most one queued and one active per singletonKey).
   */
  policy?: Extract<QueuePolicy, 'standard' | 'stately'>;
  /** Tries after the first before a job is marked failed; default 5. Backoff doubles from `retryDelaySeconds` (default 1). */
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** A job whose replica stops sending heartbeats this long is retried elsewhere; default the queue's JOB_HEARTBEAT_SECONDS. */
  heartbeatSeconds?: number;
  /** Jobs fetched at once; the handler gets them together (default 1). */
  batchSize?: number;
  /** Handlers this replica runs at once on the queue (default 1). */
  concurrency?: number;
  /** How often this queue's idle workers look for jobs; the queue's default otherwise (jobs sent with `wake` need not wait for it). */
  pollingIntervalSeconds?: number;
  /** Called with each fetched batch; throwing fails (and so retries) every job of the batch. */
  handler(jobs: Array<Job<T>>): Promise<void>;
}

/** Counts of a queue's jobs by state, for the operator (and GET /metrics). */
export interface QueueCounts {
  name: string;
  /** Waiting to run, as pg-boss counts them: those whose start is still to come (`deferred`) included. */
  queued: number;
  active: number;
  failed: number;
  deferred: number;
  /** Jobs not completed: queued, active and failed. */
  total: number;
}

export interface JobQueueOptions {
  logger: Logger;
  /** PostgreSQL schema for pg-boss's tables; default `pgboss`, or `<ledger schema>_jobs` when the ledger has one. */
  schema?: string;
  /** The ledger's DATABASE_URL, for pg-boss's own pool (and LISTEN/NOTIFY); needed on PostgreSQL. */
  connectionString?: string;
  /** How often idle workers look for jobs; default 0.5 s, pg-boss's minimum, so a webhook's work starts within it. */
  pollingIntervalSeconds?: number;
  /**
   * JOB_HEARTBEAT_SECONDS: a running job's replica proves it is alive this often; a job whose heartbeat stops (its
   * replica was killed) is retried by another replica within about one and a half of it. Default 30, at least 10.
   */
  heartbeatSeconds?: number;
}

/** JOB_HEARTBEAT_SECONDS's default. */
export const DEFAULT_HEARTBEAT_SECONDS = 30;

/** The subgraph's job queue: define queues and their workers, send jobs, count them, stop. */
export class JobQueue {
  private readonly names: string[] = [];
  private stopped = false;

  private constructor(
    private readonly boss: PgBoss,
    private readonly options: JobQueueOptions,
    private readonly schema: string,
  ) {}

  /** Opens pg-boss on the ledger's database (installing or migrating its schema once); called once at start. */
  static async open(db: Database, options: JobQueueOptions): Promise<JobQueue> {
    const schema = options.schema ?? 'pgboss';
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid job schema name ${schema}`);
    const heartbeat = options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS;
    // pg-boss finds jobs whose heartbeat stopped in its monitor pass (default every 60 s): half a heartbeat apart, a
    // dead replica's job is retried within 1.5 heartbeats.
    const monitor = Math.max(5, Math.floor(heartbeat / 2));
    const common = { schema, openTelemetry: { enabled: false }, instanceName: 'invoicing-subgraph', monitorIntervalSeconds: monitor, superviseIntervalSeconds: monitor } as const;
    let boss: PgBoss;
    if (db instanceof PgliteDatabase) {
      // The embedded store has one connection: pg-boss shares it, between the ledger's own statements.
      boss = new PgBoss({ ...common, db: fromPglite(db.pglite), backend: 'pglite' });
    } else {
      if (!options.connectionString) throw new Error('the job queue needs the ledger\u2019s connection string on PostgreSQL');
      boss = new PgBoss({ ...common, connectionString: options.connectionString, max: 4, application_name: 'invoicing-subgraph-jobs' });
    }
    // pg-boss reports failures of its own loops (a lost connection) here; they must not end the process.
    boss.on('error', (err: Error) => options.logger.warn({ err }, 'job queue error'));
    await boss.start();
    return new JobQueue(boss, options, schema);
  }

  /** Creates the queue if missing and starts this replica's worker on it. Called once per queue at start. */
  async define<T extends object>(name: string, definition: QueueDefinition<T>): Promise<void> {
    const settings = {
      policy: definition.policy ?? 'standard',
      retryLimit: definition.retryLimit ?? 5,
      retryDelay: definition.retryDelaySeconds ?? 1,
      retryBackoff: true,
      retryDelayMax: 300,
      heartbeatSeconds: definition.heartbeatSeconds ?? this.options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS,
      // Kept a day for the operator's counts and for looking into a failure; pg-boss deletes them after.
      deleteAfterSeconds: 86_400,
    };
    const existing = await this.boss.getQueue(name);
    if (!existing) await this.boss.createQueue(name, settings).catch(async (err: Error) => {
      // Another replica created it between the look and the create.
      if (!(await this.boss.getQueue(name))) throw err;
    });
    else await this.boss.updateQueue(name, { retryLimit: settings.retryLimit, retryDelay: settings.retryDelay, retryBackoff: true, retryDelayMax: settings.retryDelayMax, heartbeatSeconds: settings.heartbeatSeconds, deleteAfterSeconds: settings.deleteAfterSeconds });
    await this.boss.work<T>(
      name,
      { batchSize: definition.batchSize ?? 1, localConcurrency: definition.concurrency ?? 1, pollingIntervalSeconds: definition.pollingIntervalSeconds ?? this.options.pollingIntervalSeconds ?? 0.5 },
      async (jobs) => {
        try {
          // Each run is the root of a trace of its own: its provider calls and statements, and the trace id of its logs.
          await inRootSpan(`job ${name}`, { 'invoicing.job.queue': name, 'invoicing.job.count': jobs.length }, () => definition.handler(jobs));
        } catch (err) {
          this.options.logger.warn({ err, queue: name, jobs: jobs.length }, 'job failed; pg-boss retries it with backoff');
          throw err;
        }
      },
    );
    this.names.push(name);
  }

  /**
   * A recurring job, once across replicas per key: a `stately` queue where each run queues the next one `intervalMs`
   * later, and every replica offers a first one at start (refused while one is queued). A run that throws is logged
   * and the chain goes on (the next run is its retry); a replica that dies mid-run stops its heartbeat and the queue
   * retries the run on another replica, which continues the chain. Called once per queue at start.
   */
  async defineChain(name: string, keys: readonly string[], intervalMs: number, run: (key: string) => Promise<void>): Promise<void> {
    await this.define<{ key: string }>(name, {
      policy: 'stately',
      retryLimit: 3,
      // Keys run side by side: a slow one must not hold the others back.
      concurrency: Math.max(1, keys.length),
      handler: async ([job]) => {
        const { key } = job!.data;
        try {
          await run(key);
        } catch (err) {
          this.options.logger.warn({ err, queue: name, key }, 'recurring job failed; its next run tries again');
        }
        await this.send(name, { key }, { singletonKey: key, startAfterMs: intervalMs });
      },
    });
    for (const key of keys) await this.send(name, { key }, { singletonKey: key, startAfterMs: intervalMs });
  }

  /**
   * Queues a job; resolves to its id, or null when the queue's policy refused it (a `stately` queue already holding
   * one queued for this singletonKey). One insert.
   */
  async send(name: string, data: object, options: { singletonKey?: string; startAfterMs?: number; wake?: boolean } = {}): Promise<string | null> {
    const startAfter = options.startAfterMs ? new Date(Date.now() + options.startAfterMs) : undefined;
    const id = await this.boss.send(name, data, { singletonKey: options.singletonKey, startAfter });
    if (id && options.wake && !startAfter) this.wake(name);
    return id;
  }

  /**
   * Asks one of this replica's idle workers on the queue to fetch now rather than at its next poll (up to
   * `pollingIntervalSeconds` later): a job sent with `wake` starts within milliseconds. Another replica's worker may
   * still take it first (SKIP LOCKED); the woken one then finds nothing and sleeps again. Costs one fetch, no insert.
   */
  private wake(name: string): void {
    const idle = this.boss.getWipData().find((w) => w.name === name && w.state === 'active' && w.count === 0);
    if (idle) this.boss.notifyWorker(idle.id);
  }

  /**
   * Which of the given jobs of a queue have ended (completed, failed for good or cancelled; a job pg-boss already
   * deleted counts as ended). A job waiting for a retry has not. One lookup per id, for the few jobs a replica waits on.
   */
  async finished(name: string, ids: readonly string[]): Promise<string[]> {
    const ended = await Promise.all(
      ids.map(async (id) => {
        const [job] = await this.boss.findJobs(name, { id, limit: 1 });
        return !job || job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled';
      }),
    );
    return ids.filter((_, i) => ended[i]);
  }

  /**
   * Counts by state of the defined queues, read from the job table at the moment of asking (pg-boss's own queue
   * statistics are refreshed by its monitor, up to a minute late); for operators, GET /metrics and tests. One
   * aggregate over the jobs not completed (those kept for a day are not scanned).
   */
  async counts(): Promise<QueueCounts[]> {
    const { rows } = await this.boss.getDb().executeSql(
      `SELECT name,
              count(*) FILTER (WHERE state IN ('created', 'retry')) AS queued,
              count(*) FILTER (WHERE state IN ('created', 'retry') AND start_after > now()) AS deferred,
              count(*) FILTER (WHERE state = 'active') AS active,
              count(*) FILTER (WHERE state = 'failed') AS failed
         FROM ${this.schema}.job
        WHERE name = ANY($1::text[]) AND state IN ('created', 'retry', 'active', 'failed')
        GROUP BY name`,
      [this.names],
    );
    const byName = new Map((rows as Array<Record<string, string>>).map((r) => [r.name, r]));
    return this.names.map((name) => {
      const r = byName.get(name);
      const [queued, deferred, active, failed] = ['queued', 'deferred', 'active', 'failed'].map((k) => Number(r?.[k] ?? 0)) as [number, number, number, number];
      return { name, queued, active, failed, deferred, total: queued + active + failed };
    });
  }

  /**
   * Stops this replica taking new jobs (other replicas go on; `send` still works, so webhooks are still queued);
   * running jobs finish. The first step of a graceful stop.
   */
  async pause(): Promise<void> {
    await Promise.all(this.names.map((name) => this.boss.offWork(name, { wait: false }).catch(() => undefined)));
  }

  /** Stops fetching, waits up to `timeoutMs` for running jobs, then lets go (their heartbeats stop; another replica retries them). */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.boss.stop({ graceful: true, timeout: timeoutMs, close: true });
  }
}
