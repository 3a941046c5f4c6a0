import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST the receiver got: the raw body as sent (signatures are over these bytes), its JSON, and the headers. */
export interface ReceivedDelivery<B = any> {
  headers: IncomingHttpHeaders;
  raw: string;
  body: B;
}

/**
 * A tiny webhook receiver on a loopback port, for the emulators' webhook tests: logs every POST and answers the next
 * queued status (200 when none is queued), after `gate` when one is set (a receiver slow to acknowledge).
 */
export class WebhookReceiver<B = any> {
  readonly received: Array<ReceivedDelivery<B>> = [];
  readonly statuses: number[] = [];
  gate?: Promise<void>;
  url = '';
  private server?: Server;

  constructor(private readonly path: string) {}

  /** Listens on a free port; `url` is then where to send. */
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        this.received.push({ headers: req.headers, raw, body: JSON.parse(raw) as B });
        const status = this.statuses.shift() ?? 200;
        void Promise.resolve(this.gate).then(() => res.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":true}'));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.path}`;
  }

  stop(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Forgets what was received and queued, and opens the gate. */
  clear(): void {
    this.received.length = 0;
    this.statuses.length = 0;
    this.gate = undefined;
  }
}
