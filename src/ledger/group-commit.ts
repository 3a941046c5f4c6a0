import DataLoader from 'dataloader';
import type { SpanContext } from '@opentelemetry/api';
import { groupCommitBatchSize } from '../telemetry/metrics';
import { activeSpanContext, inRootSpan } from '../telemetry/tracing';

export interface GroupCommitOptions {
  /** Items per statement at most. Default 100. */
  maxBatchSize?: number;
  /**
   * How long the next batch waits for the one in flight before it goes anyway, so that one slow or stuck statement
   * (a lock held elsewhere, a dead connection) cannot hold up every later write of the process. Default 25 ms.
   */
  maxWaitMs?: number;
  /** The write's name, the label of its batch-size metric. */
  name?: string;
}

/**
 * Group commit for one kind of ledger write: while a batch is in flight, the writes that arrive queue up and go
 * together, as one statement, when it lands (or after `maxWaitMs`). An idle ledger writes at once (no added
 * latency); a busy one writes in batches as large as the load, which is where each statement's fixed cost (a round
 * trip, a commit, PGlite's protocol work) stops growing with the number of concurrent creates.
 *
 * `many` writes a batch in one statement and answers in the items' order. If it throws, every item is written
 * again on its own by `one`, so that one bad item cannot fail the writes that happened to share its batch; `stats`
 * counts such fallbacks.
 */
export class GroupCommit<In, Out> {
  private inFlight: Promise<unknown> | null = null;
  private readonly loader: DataLoader<In, Out>;
  private readonly name: string;
  /** The spans of the writes waiting for the next batch, in order (tracing on only): the batch's span links them. */
  private readonly waiting: Array<SpanContext | undefined> = [];

  constructor(
    one: (item: In) => Promise<Out>,
    many: (items: readonly In[]) => Promise<Out[]>,
    readonly stats = { batches: 0, items: 0, fallbacks: 0 },
    options: GroupCommitOptions = {},
  ) {
    const maxWaitMs = options.maxWaitMs ?? 25;
    this.name = options.name ?? 'unnamed';
    this.loader = new DataLoader<In, Out>(
      (items) => {
        const written = this.writeBatch(items, one, many);
        const landed: Promise<unknown> = written.finally(() => {
          if (this.inFlight === landed) this.inFlight = null;
        });
        this.inFlight = landed;
        return written;
      },
      {
        cache: false,
        maxBatchSize: options.maxBatchSize ?? 100,
        // The next batch is dispatched when the one in flight lands (or has taken too long); with nothing in flight,
        // once the event loop has taken in the I/O that is ready (setImmediate), so that requests arriving together
        // write together. PGlite needs the latter: it runs in this thread, so nothing arrives while it writes.
        batchScheduleFn: (dispatch) => {
          if (!this.inFlight) return void setImmediate(dispatch);
          let sent = false;
          const once = () => {
            if (sent) return;
            sent = true;
            clearTimeout(timer);
            dispatch();
          };
          const timer = setTimeout(once, maxWaitMs);
          void this.inFlight.then(once, once);
        },
      },
    );
  }

  /** Queues one write; resolves with its result once its batch has committed. */
  write(item: In): Promise<Out> {
    this.waiting.push(activeSpanContext());
    return this.loader.load(item);
  }

  private async writeBatch(items: readonly In[], one: (item: In) => Promise<Out>, many: (items: readonly In[]) => Promise<Out[]>): Promise<Array<Out | Error>> {
    this.stats.batches++;
    this.stats.items += items.length;
    groupCommitBatchSize.observe({ write: this.name }, items.length);
    // A batch serves many requests: its statements go in a trace of their own, linked to each request's span,
    // rather than into whichever request's context happened to dispatch it.
    const links = this.waiting.splice(0, items.length).filter((c): c is SpanContext => c !== undefined);
    const write = async (): Promise<Array<Out | Error>> => {
      if (items.length === 1) return [await one(items[0]!).catch(asError)];
      try {
        return await many(items);
      } catch {
        this.stats.fallbacks++;
        return Promise.all(items.map((item) => one(item).catch(asError)));
      }
    };
    return links.length === 0 ? write() : inRootSpan(`group commit ${this.name}`, { 'invoicing.batch.size': items.length }, write, links);
  }
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
