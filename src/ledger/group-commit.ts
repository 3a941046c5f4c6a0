import DataLoader from 'dataloader';

/**
 * Group commit for one kind of ledger write: while a batch is in flight, the writes that arrive queue up and go
 * together, as one statement, when it lands. An idle ledger writes at once (no added latency); a busy one writes
 * in batches as large as the load, which is where each statement's fixed cost (a round trip, a commit, PGlite's
 * protocol work) stops growing with the number of concurrent creates.
 *
 * `many` writes a batch in one statement and answers in the items' order. If it throws, every item is written
 * again on its own by `one`, so that one bad item cannot fail the writes that happened to share its batch.
 */
export class GroupCommit<In, Out> {
  private inFlight: Promise<unknown> | null = null;
  private readonly loader: DataLoader<In, Out>;

  constructor(
    one: (item: In) => Promise<Out>,
    many: (items: readonly In[]) => Promise<Out[]>,
    readonly stats = { batches: 0, items: 0 },
    maxBatchSize = 100,
  ) {
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
        maxBatchSize,
        // The next batch is dispatched when the one in flight lands; with nothing in flight, once the event loop has
        // taken in the I/O that is ready (setImmediate), so that requests arriving together write together. PGlite
        // needs the latter: it runs in this thread, so nothing can arrive while one of its writes is in flight.
        batchScheduleFn: (dispatch) => {
          if (this.inFlight) void this.inFlight.then(dispatch, dispatch);
          else setImmediate(dispatch);
        },
      },
    );
  }

  /** Queues one write; resolves with its result once its batch has committed. */
  write(item: In): Promise<Out> {
    return this.loader.load(item);
  }

  private async writeBatch(items: readonly In[], one: (item: In) => Promise<Out>, many: (items: readonly In[]) => Promise<Out[]>): Promise<Array<Out | Error>> {
    this.stats.batches++;
    this.stats.items += items.length;
    if (items.length === 1) return [await one(items[0]!).catch(asError)];
    try {
      return await many(items);
    } catch {
      return Promise.all(items.map((item) => one(item).catch(asError)));
    }
  }
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
