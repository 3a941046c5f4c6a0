import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { zuoraSignature } from '../../providers/zuora/zuora.webhooks';

/**
 * The Zuora emulator's callout notifications, sent as a tenant configured by our contract (zuora.webhooks.ts) would
 * send them: a JSON body, `X-Zuora-Signature` = hex HMAC-SHA256 of the body under the secret, and the headers Zuora
 * adds to every callout (https://docs.zuora.com/en/zuora-platform/extensibility/events-and-notifications/notifications/callout-notification-overview):
 * `Zuora-Notification-Id` (the same on every try of one notification), `Zuora-Request-Id` (a hyphenless uuid, new on
 * every try) and `X-Amzn-Trace-Id` (derived from it).
 *
 * Retries follow Zuora's rules -- only HTTP 200 is a success; 1xx, 403, 408, 429, 5xx and no answer at all are retried;
 * any other status is a failure that is not retried -- but not its schedule: ASSUMPTION, Zuora retries on its own
 * (configurable) schedule, by default three times 30 minutes apart; the sandbox retries a few times after short
 * delays so that a test or a local run sees the retry at once. Sends run in the background, never inside the control
 * that caused them; `idle()` waits for them.
 *
 * Self-contained on purpose: a shared outbox for every emulator is being built elsewhere; this one can fold into it.
 */

export interface ZuoraCalloutConfig {
  url: string;
  secret: string;
}

/** One notification and what became of it; headers are those of its latest try. */
export interface ZuoraCalloutDelivery {
  event: string;
  notificationId: string;
  body: string;
  headers: Record<string, string>;
  /** The latest try's HTTP status, or null when it had no answer (refused, reset, timed out); null before the first. */
  status: number | null;
  attempts: number;
  state: 'pending' | 'delivered' | 'failed';
  /** Why the latest try had no answer. */
  error?: string;
}

export interface ZuoraCalloutOptions {
  /** Waits before each retry; default 50, 200 and 500 ms (three retries, as many as Zuora's default). */
  retryDelaysMs?: readonly number[];
  /** How long a try may take; default 5 s (Zuora allows 25: 10 to connect, 15 for the data). */
  timeoutMs?: number;
}

/** Zuora retries a callout answered with these, or not answered (a "negative" response code). */
export function zuoraRetriesStatus(status: number | null): boolean {
  return status === null || (status >= 100 && status < 200) || status === 403 || status === 408 || status === 429 || status >= 500;
}

export class ZuoraCalloutSender {
  private config: ZuoraCalloutConfig | null = null;
  private readonly log: ZuoraCalloutDelivery[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly timers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private readonly retryDelaysMs: readonly number[];
  private readonly timeoutMs: number;
  private generation = 0;

  constructor(options: ZuoraCalloutOptions = {}) {
    this.retryDelaysMs = options.retryDelaysMs ?? [50, 200, 500];
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Where callouts go and the HMAC secret; null stops sending (nothing is queued meanwhile). */
  configure(config: ZuoraCalloutConfig | null): void {
    if (config !== null && (!/^https?:\/\//.test(config.url) || config.secret.length === 0)) throw new Error('a callout needs an http(s) URL and a secret');
    this.config = config === null ? null : { ...config };
  }

  get configured(): boolean {
    return this.config !== null;
  }

  /** Every notification sent since the last clear, oldest first (copies). */
  get deliveries(): ZuoraCalloutDelivery[] {
    return this.log.map((d) => ({ ...d, headers: { ...d.headers } }));
  }

  /** Sends one notification in the background; nothing when unconfigured. */
  send(event: string, body: Record<string, unknown>): void {
    const config = this.config;
    if (!config) return;
    const delivery: ZuoraCalloutDelivery = { event, notificationId: randomBytes(16).toString('hex'), body: JSON.stringify(body), headers: {}, status: null, attempts: 0, state: 'pending' };
    this.log.push(delivery);
    const run = this.deliver(delivery, config, this.generation).finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Resolves when every send started so far has been delivered or given up (retries included). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Forgets the log; sends in flight finish, and retries still waiting are dropped. */
  clear(): void {
    this.cancelRetries();
    this.log.length = 0;
  }

  /** Drops the retries still waiting (their deliveries stay `failed`); called when the emulator stops. */
  cancelRetries(): void {
    this.generation += 1;
    for (const t of this.timers) {
      clearTimeout(t.timer);
      t.wake();
    }
    this.timers.clear();
  }

  private async deliver(delivery: ZuoraCalloutDelivery, config: ZuoraCalloutConfig, generation: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const requestId = randomUUID().replace(/-/g, '');
      delivery.headers = {
        'Content-Type': 'application/json',
        'Zuora-Notification-Id': delivery.notificationId,
        'Zuora-Request-Id': requestId,
        'X-Amzn-Trace-Id': `Root=1-${requestId.slice(0, 8)}-${requestId.slice(8, 32)}`,
        'X-Zuora-Signature': zuoraSignature(delivery.body, config.secret),
      };
      delivery.attempts += 1;
      const answer = await this.post(config.url, delivery.headers, delivery.body);
      delivery.status = answer.status;
      if (answer.error) delivery.error = answer.error;
      else delete delivery.error;
      if (answer.status === 200) {
        delivery.state = 'delivered';
        return;
      }
      const wait = this.retryDelaysMs[attempt];
      if (!zuoraRetriesStatus(answer.status) || wait === undefined || generation !== this.generation) {
        delivery.state = 'failed';
        return;
      }
      await this.sleep(wait);
      if (generation !== this.generation) {
        delivery.state = 'failed';
        return;
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = { timer: setTimeout(() => { this.timers.delete(entry); resolve(); }, ms), wake: resolve };
      this.timers.add(entry);
    });
  }

  /** One POST on a fresh connection (no keep-alive: nothing lingers after the emulator stops). */
  private post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number | null; error?: string }> {
    return new Promise((resolve) => {
      const target = new URL(url);
      const transport = target.protocol === 'https:' ? https : http;
      const req = transport.request(target, { method: 'POST', agent: false, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' }, timeout: this.timeoutMs }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? null }));
        res.on('error', (err) => resolve({ status: null, error: err.message }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) => resolve({ status: null, error: err.message }));
      req.end(body);
    });
  }
}
