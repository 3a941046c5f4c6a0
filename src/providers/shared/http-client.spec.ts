import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { LosslessNumber } from 'lossless-json';
import { Decimal } from '../../domain/money';
import { HttpClient, TransportError, toJsonText } from './http-client';

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

describe('toJsonText: the JSON bodies of every provider', () => {
  it('writes what JSON.stringify writes for ordinary values', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => expect(toJsonText(v)).toBe(JSON.stringify(v))), { numRuns: 500 });
    // Beyond JSON: undefined members and holes, dates, boxed values, maps, typed arrays, null prototypes, -0, NaN.
    const anything = fc.anything({ withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true, withObjectString: true });
    fc.assert(fc.property(anything, (v) => expect(toJsonText(v)).toBe(JSON.stringify(v))), { numRuns: 500 });
    const mixed = { a: new Decimal('90.50'), b: [undefined, () => 1, Symbol('s')], c: undefined, d: new Date(0), e: Buffer.from('hi') };
    expect(toJsonText(mixed)).toBe(JSON.stringify(mixed));
  });

  it('writes a LosslessNumber as a JSON number with its own text', () => {
    expect(toJsonText({ sub_total: new LosslessNumber('90.50'), order_id: new LosslessNumber('12345678901234567890'), tax: 15 })).toBe(
      '{"sub_total":90.50,"order_id":12345678901234567890,"tax":15}',
    );
  });

  it('is what HttpClient sends', async () => {
    let received = '';
    let type: string | undefined;
    const echo = createServer((req, res) => {
      type = req.headers['content-type'];
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (received += chunk));
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    try {
      const client = new HttpClient({ baseUrl: `http://127.0.0.1:${(echo.address() as AddressInfo).port}`, headers: () => ({}) });
      await client.request('POST', '/x', { json: { total: new LosslessNumber('0.1'), name: 'a' } });
      expect(received).toBe('{"total":0.1,"name":"a"}');
      expect(type).toBe('application/json');
    } finally {
      await new Promise<void>((r) => echo.close(() => r()));
    }
  });
});
