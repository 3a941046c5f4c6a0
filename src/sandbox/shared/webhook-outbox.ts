import { Agent, request } from 'undici';

/**
 * An emulator's outgoing webhooks: each delivery is logged, POSTed in the background with retries, and can be held
 * back, released in a chosen order or sent again, so that a test can play the provider's delivery faults (late,
 * out of order, repeated) against a receiver. Provider-agnostic: the provider's emulator builds the body and the
 * headers (its envelope, its signature, any header made anew for each attempt) and decides which statuses count as
 * received and which are worth another try.
 */

export type WebhookDeliveryState = 'held' | 'sending' | 'delivered' | 'failed';

/** One delivery as the outbox sent it (or holds it): exactly the bytes and headers that went out. */
export interface WebhookDelivery {
  /** Its position in the log: what `redeliver` and `release` take. */
  readonly index: number;
  readonly event: string;
  readonly url: string;
  /** The raw body, as signed. */
  readonly body: string;
  /** The headers as sent by the latest attempt (before the first: those it will start from), in the case sent. */
  headers: Readonly<Record<string, string>>;
  /** For a replay, the index of the delivery it repeats. */
  readonly replayOf?: number;
  /** Attempts made so far (the first one and its retries). */
  attempts: number;
  /** The last attempt's HTTP status; 0 when it got no answer (refused, reset, timed out); null before any attempt. */
  status: number | null;
  /** Why the last attempt got no answer. */
  error?: string;
  state: WebhookDeliveryState;
}

export interface WebhookOutboxOptions {
  /** Waits before each retry; their count is the number of retries. Default [200, 1000, 3000]. */
  retryDelaysMs?: readonly number[];
  /** Per attempt, until the answer's headers and then between its body chunks. Default 30 s. */
  timeoutMs?: number;
  /** The statuses that end the retries as received. Default any 2xx. */
  accepted?: (status: number) => boolean;
  /** Whether a status that is not accepted is worth another try; no answer at all always is. Default every status. */
  retryable?: (status: number) => boolean;
  /** Headers made anew for each attempt (such as a request id that changes per try), set over the delivery's own. */
  attemptHeaders?: (delivery: WebhookDelivery) => Record<string, string>;
}

const DEFAULT_RETRY_DELAYS_MS = [200, 1000, 3000] as const;
const DEFAULT_TIMEOUT_MS = 30_000;

export class WebhookOutbox {
  /** Every delivery since the last `clear()`, oldest first; entries change in place as attempts finish. */
  readonly deliveries: WebhookDelivery[] = [];

  private readonly retryDelaysMs: readonly number[];
  private readonly timeoutMs: number;
  private readonly accepted: (status: number) => boolean;
  private readonly retryable: (status: number) => boolean;
  private readonly attemptHeaders?: (delivery: WebhookDelivery) => Record<string, string>;
  private holding = false;
  /** Sends and releases under way, so that `idle()` can wait for them. */
  private readonly work = new Set<Promise<void>>();
  /** Aborted by `clear()` and `close()`: attempts and retry waits of the log before end at once. */
  private abort = new AbortController();
  private agent?: Agent;

  constructor(options: WebhookOutboxOptions = {}) {
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.accepted = options.accepted ?? ((status) => status >= 200 && status < 300);
    this.retryable = options.retryable ?? (() => true);
    this.attemptHeaders = options.attemptHeaders;
  }

  /** Logs a delivery and sends it in the background (or holds it). Never throws for the receiver's failures. */
  enqueue(event: string, url: string, body: string, headers: Record<string, string>, replayOf?: number): WebhookDelivery {
    const delivery: WebhookDelivery = { index: this.deliveries.length, event, url, body, headers: { ...headers }, replayOf, attempts: 0, status: null, state: 'held' };
    this.deliveries.push(delivery);
    if (!this.holding) this.track(this.send(delivery));
    return delivery;
  }

  /** The same body and headers again, as a new log entry: a replay, as a receiver sees a provider's duplicate. */
  redeliver(index: number): WebhookDelivery {
    const original = this.deliveries[index];
    if (!original) throw new RangeError(`no webhook delivery ${index} (the log holds ${this.deliveries.length})`);
    return this.enqueue(original.event, original.url, original.body, { ...original.headers }, index);
  }

  /** From now on, deliveries wait in the log (state `held`) until `release()`. */
  hold(): void {
    this.holding = true;
  }

  /**
   * Ends the hold and sends the held deliveries one after another, each once the one before has settled (received,
   * or its retries spent): first those `order` names by index, in that order, then the rest in log order. Resolves
   * when the last has settled.
   */
  release(order: readonly number[] = []): Promise<void> {
    const held = this.deliveries.filter((d) => d.state === 'held');
    for (const index of order) {
      if (!held.some((d) => d.index === index)) throw new RangeError(`webhook delivery ${index} is not held`);
    }
    if (new Set(order).size !== order.length) throw new RangeError(`an index appears twice in ${JSON.stringify(order)}`);
    this.holding = false;
    const queue = [...order.map((i) => this.deliveries[i]!), ...held.filter((d) => !order.includes(d.index))];
    const signal = this.abort.signal;
    const chain = (async () => {
      for (const delivery of queue) {
        if (signal.aborted) return;
        await this.send(delivery);
      }
    })();
    this.track(chain);
    return chain;
  }

  /** Resolves once nothing is being sent or waiting for a retry. Held deliveries do not count: they wait for `release`. */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }

  /** Forgets the log and the held deliveries and ends the hold; attempts and retries under way stop unrecorded. */
  clear(): void {
    this.abort.abort();
    this.abort = new AbortController();
    this.deliveries.length = 0;
    this.holding = false;
  }

  /** Stops what is under way (the log stays) and closes the connections; a later delivery opens new ones. */
  async close(): Promise<void> {
    this.abort.abort();
    this.abort = new AbortController();
    await this.idle();
    const agent = this.agent;
    this.agent = undefined;
    await agent?.close();
  }

  private track(promise: Promise<void>): void {
    this.work.add(promise);
    void promise.finally(() => this.work.delete(promise));
  }

  /** The first attempt and the retries, until one is accepted, one is not worth retrying or the delays run out. Never rejects. */
  private async send(delivery: WebhookDelivery): Promise<void> {
    const signal = this.abort.signal;
    delivery.state = 'sending';
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) return;
      const outcome = await this.attempt(delivery, signal);
      // An attempt that a clear() or close() cut short tells nothing about the receiver.
      if (signal.aborted) return;
      delivery.attempts += 1;
      delivery.status = outcome.status;
      delivery.error = outcome.error;
      if (outcome.status !== 0 && this.accepted(outcome.status)) {
        delivery.state = 'delivered';
        return;
      }
      const wait = this.retryDelaysMs[attempt];
      if (wait === undefined || (outcome.status !== 0 && !this.retryable(outcome.status))) {
        delivery.state = 'failed';
        return;
      }
      await sleep(wait, signal);
    }
  }

  private async attempt(delivery: WebhookDelivery, signal: AbortSignal): Promise<{ status: number; error?: string }> {
    this.agent ??= new Agent({ keepAliveTimeout: 1_000 });
    if (this.attemptHeaders) delivery.headers = { ...delivery.headers, ...this.attemptHeaders(delivery) };
    try {
      const res = await request(delivery.url, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.body,
        dispatcher: this.agent,
        signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      // The answer's body is read and dropped, so that the connection can serve the next delivery.
      await res.body.dump();
      return { status: res.statusCode };
    } catch (err) {
      return { status: 0, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
