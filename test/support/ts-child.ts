import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const REGISTER = path.join(ROOT, 'test/support/swc-register.js');

/** A log line of the child (pino JSON), or its plain text. */
export type LogLine = Record<string, unknown> & { msg?: string };

/** A TypeScript entry of this repository running in a real child process, as `npm start` would run it. */
export interface TsChild {
  proc: ChildProcess;
  /** Every JSON log line so far. */
  logs: LogLine[];
  /** Everything written to stdout that was not a log line. */
  text(): string;
  /** Resolves with the first log line (already seen or to come) that matches; rejects after timeoutMs (default 60 s). */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node -r swc-register <entry>` with exactly `env` (plus PATH): no build step, no inherited configuration.
 * stderr is kept for the failure message of a child that exits unexpectedly.
 */
export function spawnTs(entry: string, env: Record<string, string>): TsChild {
  const proc = spawn(process.execPath, ['--enable-source-maps', '-r', REGISTER, path.join(ROOT, entry)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const plain: string[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let buffered = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        plain.push(line);
      }
    }
    for (const wake of waiters) wake();
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  let done = false;
  const exited = once(proc, 'exit').then(([code, signal]) => {
    done = true;
    if (buffered) plain.push(buffered);
    for (const wake of waiters) wake();
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  return {
    proc,
    logs,
    text: () => plain.join('\n'),
    exited,
    // 60 s by default: a child compiles every source with SWC, uncached, before it logs anything, and on a
    // loaded CI machine that alone can take tens of seconds.
    waitForLog: (match, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no such log line from ${entry} within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
        const finish = (err?: Error, line?: LogLine) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve(line!);
        };
        const check = () => {
          const line = logs.find(match);
          if (line) finish(undefined, line);
          else if (done) finish(new Error(`${entry} exited; stderr: ${stderr.slice(-2000)}`));
        };
        waiters.add(check);
        check();
      }),
  };
}

/**
 * The environment of a subgraph process as deployed (production, any free port, JSON logs at info) on the suite's
 * store: a schema of its own on DATABASE_URL, else an in-memory embedded store. Providers are the caller's to add.
 */
export function deployedEnv(schema: string): Record<string, string> {
  const store: Record<string, string> = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
  return { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', NODE_ENV: 'production', ...store };
}

/** The subgraph as `npm start` runs it (src/server/main.ts), in a child process with exactly `env`; resolves once it listens. */
export async function startSubgraphProcess(env: Record<string, string>): Promise<{ child: TsChild; url: string }> {
  const child = spawnTs('src/server/main.ts', env);
  const ready = await child.waitForLog((l) => l.msg === 'invoicing subgraph ready');
  return { child, url: String(ready.url) };
}

/** Stops children as a deployment would (SIGTERM) and waits until each has exited. */
export async function stopProcesses(children: readonly TsChild[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      child.proc.kill('SIGTERM');
      await child.exited;
    }),
  );
}

/** Reads until `ok` holds (every 200 ms); throws with the last value after `withinMs`. For what other processes do. */
export async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, withinMs: number, what: string): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() - started > withinMs) throw new Error(`${what}: not within ${withinMs} ms: ${JSON.stringify(v).slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
