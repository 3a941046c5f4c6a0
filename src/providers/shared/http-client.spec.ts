import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient, TransportError } from './http-client';

describe('HttpClient', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    // Answers at once, then trickles its body a byte at a time: never idle for long, never done.
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      const timer = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('gives up on an answer that trickles in under the per-chunk timeout, at the total timeout', async () => {
    const client = new HttpClient({ baseUrl: base, headers: () => ({}), timeoutMs: 200, totalTimeoutMs: 600 });
    const started = Date.now();
    const err = await client.request('GET', '/slow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).kind).toBe('timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
