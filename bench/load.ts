import autocannon from 'autocannon';

export interface LoadResult {
  /** Requests answered within the load's time. */
  requests: number;
  /** Requests sent, including those still unanswered when the load stopped (the system under test still serves them). */
  sent: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export interface LoadOptions {
  url: string;
  /** A fixed JSON body, or a function making each request's body (unique ids for creates). */
  body: string | (() => string);
  /**
   * After each POST, a GET of this path (built from the POST's answer) on the same connection: a create followed by
   * its read-back. Rates and latencies are then per pair, not per HTTP request.
   */
  thenGet?: (answer: string) => string;
  connections?: number;
  durationSec?: number;
  /** Stop after this many requests instead of after `durationSec` (for loads that use up a finite fixture). */
  amount?: number;
  headers?: Record<string, string>;
}

/** A bounded load on loopback with autocannon: a fixed number of connections for a fixed time. */
export function load(o: LoadOptions): Promise<LoadResult> {
  const headers = { 'content-type': 'application/json', ...o.headers };
  return new Promise((resolve, reject) => {
    autocannon(
      ({
        url: o.url,
        method: 'POST',
        connections: o.connections ?? 10,
        duration: o.durationSec ?? 5,
        ...(o.amount ? { amount: o.amount } : {}),
        headers,
        ...(o.thenGet
          ? {
              requests: [
                {
                  setupRequest: (req: Record<string, unknown>) => ({ ...req, method: 'POST', headers, body: typeof o.body === 'string' ? o.body : o.body() }),
                  onResponse: (_status: number, body: string, context: Record<string, unknown>) => {
                    context.next = o.thenGet!(body);
                  },
                },
                {
                  setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => ({ ...req, method: 'GET', headers: o.headers ?? {}, body: undefined, path: context.next }),
                },
              ],
            }
          : typeof o.body === 'string'
          ? { body: o.body }
          : {
              requests: [
                {
                  setupRequest: (req: Record<string, unknown>) => ({ ...req, method: 'POST', headers, body: (o.body as () => string)() }),
                },
              ],
            }),
      } as autocannon.Options),
      (err, r) => {
        if (err) return reject(err);
        const per = o.thenGet ? 2 : 1;
        resolve({
          requests: r.requests.total / per,
          // Not in @types/autocannon; present in autocannon 8's result.
          sent: ((r.requests as { sent?: number }).sent ?? r.requests.total) / per,
          rps: r.requests.average / per,
          p50: r.latency.p50,
          p99: r.latency.p99,
          errors: r.errors + r.timeouts,
          non2xx: r.non2xx,
        });
      },
    );
  });
}

/** One warm-up round so JIT and connection pools are hot before measuring. */
export async function warm(o: LoadOptions): Promise<void> {
  await load({ ...o, durationSec: 1 });
}
