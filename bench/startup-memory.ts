import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';

/**
 * Start-up time and idle memory of `npm start` (dist/src/server/main.js, every provider on its sandbox emulator): the
 * server is spawned as `npm start` runs it, timed until its log says 'invoicing subgraph ready', left idle
 * BENCH_IDLE_SECONDS (default 10), then its VmRSS (and its peak so far, VmHWM) is read from /proc and it is stopped.
 * On the embedded store twice on one fresh data folder (the first start creates it, the second finds it, as every
 * later `npm start` does); on PostgreSQL in a schema of its own, dropped after with its job schema.
 * `node dist/bench/startup-memory.js` alone (BENCH_STORES=pglite or postgres for one), or scenario (f) of `npm run bench`.
 */
export interface StartupMemory {
  variant: string;
  /** From spawn to the 'invoicing subgraph ready' line, in ms. */
  readyMs: number;
  /** Resident set after the idle wait, and its peak since spawn, in MiB. */
  rssMb: number;
  peakMb: number;
}

const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const MAIN = join(__dirname, '..', 'src', 'server', 'main.js');

function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** One start, idle wait and stop of the server with `store` (the store's variables only: the rest is left unset). */
async function startOnce(variant: string, store: Record<string, string>): Promise<StartupMemory> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  // As `npm start` runs it: no NODE_ENV (so every provider gets its sandbox emulator) and the store given here only.
  for (const name of ['NODE_ENV', 'DATABASE_URL', 'DATABASE_SCHEMA', 'PGLITE_DATA_DIR']) delete env[name];
  Object.assign(env, store);
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      let tail = '';
      child.once('exit', (code) => reject(new Error(`the server (${variant}) exited with ${code} before it was ready`)));
      child.stdout!.on('data', (chunk: Buffer) => {
        tail += chunk.toString('utf8');
        if (tail.includes('invoicing subgraph ready')) resolve(Number(process.hrtime.bigint() - started) / 1e6);
        tail = tail.slice(-100);
      });
    });
    await sleep(IDLE_SECONDS * 1000);
    return { variant, readyMs, ...memoryOf(child.pid!) };
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The embedded store (a new data folder, then the same folder again) unless `pglite` is false, and PostgreSQL given its URL. */
export async function measureStartups(pgUrl: string | null, pglite = true): Promise<StartupMemory[]> {
  const results: StartupMemory[] = [];
  if (pglite) {
    const dir = mkdtempSync(join(tmpdir(), 'startup-memory-'));
    try {
      const store = { PGLITE_DATA_DIR: join(dir, 'pglite') };
      results.push(await startOnce('embedded PGlite, new data folder', store));
      results.push(await startOnce('embedded PGlite, existing data folder', store));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (pgUrl) {
    const schema = `startup_probe_${process.pid}`;
    try {
      results.push(await startOnce('PostgreSQL', { DATABASE_URL: pgUrl, DATABASE_SCHEMA: schema }));
    } finally {
      const pool = new Pool({ connectionString: pgUrl, max: 1 });
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_jobs CASCADE`).finally(() => pool.end());
    }
  }
  return results;
}

export const describeStartup = (r: StartupMemory): string =>
  `${r.variant}: ready ${(r.readyMs / 1000).toFixed(2)} s after spawn, ${r.rssMb.toFixed(0)} MB resident after ${IDLE_SECONDS} s idle (peak ${r.peakMb.toFixed(0)} MB)`;

if (require.main === module) {
  const stores = new Set((process.env.BENCH_STORES ?? 'pglite,postgres').split(',').map((s) => s.trim()));
  const pgUrl = stores.has('postgres') ? (process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test') : null;
  void (async () => {
    for (const r of await measureStartups(pgUrl, stores.has('pglite'))) process.stdout.write(`${describeStartup(r)}\n`);
  })().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
