import { Agent, request as httpRequest } from 'node:http';
import { EmulatorServer, parseMultipart, type EmulatorServerOptions } from './emulator-server';

async function started(options?: EmulatorServerOptions, setup?: (s: EmulatorServer) => void): Promise<EmulatorServer> {
  const server = new EmulatorServer(options);
  server.get('/things/:id', (req) => ({ status: 200, body: { id: req.params.id, query: req.query } }));
  server.post('/things', (req) => ({ status: 201, headers: { 'x-handler': 'yes' }, body: { got: req.body } }));
  server.get('/things/:id/parts/:part', (req) => ({ status: 200, body: req.params }));
  setup?.(server);
  await server.start();
  return server;
}

const postJson = (url: string, body: unknown, init: RequestInit = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });

describe('EmulatorServer', () => {
  let server: EmulatorServer;
  afterEach(async () => {
    await server?.stop();
  });

  describe('lifecycle', () => {
    it('listens on a loopback port and reports its origin', async () => {
      server = await started();
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(server.listening).toBe(true);
      await server.stop();
      expect(server.listening).toBe(false);
      expect(() => server.url).toThrow(/not listening/);
    });

    it('refuses a second start', async () => {
      server = await started();
      await expect(server.start()).rejects.toThrow(/already listening/);
    });

    it('keeps connections alive between requests, and stop() closes them', async () => {
      server = await started();
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const get = () =>
        new Promise<{ reused: boolean; status: number }>((resolve, reject) => {
          const req = httpRequest(`${server.url}/things/1`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ reused: req.reusedSocket, status: res.statusCode ?? 0 }));
          });
          req.on('error', reject);
          req.end();
        });
      expect(await get()).toEqual({ reused: false, status: 200 });
      expect(await get()).toEqual({ reused: true, status: 200 });
      await server.stop(); // must not wait for the idle keep-alive socket
      agent.destroy();
    });
  });

  describe('routing', () => {
    it('matches method and path, with decoded :params and the query', async () => {
      server = await started();
      const res = await fetch(`${server.url}/things/a%20b?x=1&y=2&y=3`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ id: 'a b', query: { x: '1', y: ['2', '3'] } });
      const deep = await fetch(`${server.url}/things/7/parts/wheel`);
      expect(await deep.json()).toEqual({ id: '7', part: 'wheel' });
    });

    it('parses a JSON body and sends the handler status and headers', async () => {
      server = await started();
      const res = await postJson(`${server.url}/things`, { a: 1 });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-handler')).toBe('yes');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ got: { a: 1 } });
    });

    it('answers an unknown path or method with a JSON 404 by default', async () => {
      server = await started();
      const unknownPath = await fetch(`${server.url}/nothing/here`);
      expect(unknownPath.status).toBe(404);
      expect(await unknownPath.json()).toEqual({ error: 'not found', method: 'GET', path: '/nothing/here' });
      const wrongMethod = await fetch(`${server.url}/things/1`, { method: 'DELETE' });
      expect(wrongMethod.status).toBe(404);
    });

    it('uses the notFound hook, inside the middleware', async () => {
      server = await started({ notFound: () => ({ status: 404, body: { mine: true } }) }, (s) =>
        s.use(async (_req, next) => {
          const res = await next();
          return { ...res, headers: { ...res.headers, 'x-mw': '1' } };
        }),
      );
      const res = await fetch(`${server.url}/nope`);
      expect(res.status).toBe(404);
      expect(res.headers.get('x-mw')).toBe('1');
      expect(await res.json()).toEqual({ mine: true });
    });

    it('lets middleware answer on its own and pass locals to handlers', async () => {
      server = await started(undefined, (s) => {
        s.use((req, next) => {
          if (req.header('authorization') !== 'Bearer ok') return { status: 401, body: { denied: true } };
          req.locals.user = 'u1';
          return next();
        });
        s.get('/me', (req) => ({ status: 200, body: { user: req.locals.user } }));
      });
      expect((await fetch(`${server.url}/me`)).status).toBe(401);
      const ok = await fetch(`${server.url}/me`, { headers: { authorization: 'Bearer ok' } });
      expect(await ok.json()).toEqual({ user: 'u1' });
    });

    it('answers malformed JSON with 400 by default, or through the badJson hook', async () => {
      server = await started();
      const bad = await fetch(`${server.url}/things`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: 'malformed JSON body' });
      await server.stop();

      server = await started({ badJson: () => ({ status: 422, body: { provider: 'shape' } }) });
      const hooked = await fetch(`${server.url}/things`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'nope' });
      expect(hooked.status).toBe(422);
      expect(await hooked.json()).toEqual({ provider: 'shape' });
      await server.stop();

      // undefined from the hook: the handler runs with no body
      server = await started({ badJson: () => undefined });
      const ignored = await fetch(`${server.url}/things`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[' });
      expect(ignored.status).toBe(201);
      expect(await ignored.json()).toEqual({});
    });

    it('survives a throwing handler and answers 500', async () => {
      server = await started(undefined, (s) =>
        s.get('/boom', () => {
          throw new Error('kaput');
        }),
      );
      const res = await fetch(`${server.url}/boom`);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: 'emulator internal error', message: 'kaput' });
      expect((await fetch(`${server.url}/things/1`)).status).toBe(200);
    });

    it('refuses a body over the limit with 413', async () => {
      server = await started({ maxBodyBytes: 10 });
      const res = await postJson(`${server.url}/things`, { long: 'x'.repeat(50) });
      expect(res.status).toBe(413);
      expect(server.calls.map((c) => c.status)).toEqual([413]);
    });

    it('gives raw bytes and parses multipart forms', async () => {
      server = await started(undefined, (s) =>
        s.post('/upload', async (req) => {
          const form = await parseMultipart(req);
          const file = form.files.doc!;
          return { status: 200, body: { fields: form.fields, name: file.filename, type: file.mimeType, bytes: file.data.toString('utf8'), raw: req.rawBody.length > 0 } };
        }),
      );
      const form = new FormData();
      form.set('kind', 'invoice');
      form.set('doc', new Blob([Buffer.from('%PDF-1.4 hello')], { type: 'application/pdf' }), 'a.pdf');
      const res = await fetch(`${server.url}/upload`, { method: 'POST', body: form });
      expect(await res.json()).toEqual({ fields: { kind: 'invoice' }, name: 'a.pdf', type: 'application/pdf', bytes: '%PDF-1.4 hello', raw: true });
    });
  });

  describe('faults', () => {
    it('answers with the fault status, headers and JSON body instead of the handler', async () => {
      server = await started();
      server.injectFault({ method: 'POST', path: '/things', status: 503, headers: { 'retry-after': 7 }, body: { down: true } });
      const res = await postJson(`${server.url}/things`, {});
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(await res.json()).toEqual({ down: true });
      // times defaults to 1: the next request reaches the handler
      expect((await postJson(`${server.url}/things`, {})).status).toBe(201);
    });

    it('sends a string body raw', async () => {
      server = await started();
      server.injectFault({ path: '/things', status: 502, body: '<html>Bad Gateway</html>' });
      const res = await fetch(`${server.url}/things/1`);
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toBe('<html>Bad Gateway</html>');
    });

    it('applies only to the matching method and path', async () => {
      server = await started();
      server.injectFault({ method: 'POST', path: /^\/things$/, status: 500 });
      expect((await fetch(`${server.url}/things/1`)).status).toBe(200);
      server.injectFault({ path: '/thing', status: 500 }); // a prefix on a segment boundary only
      expect((await fetch(`${server.url}/things/1`)).status).toBe(200);
      expect((await postJson(`${server.url}/things`, {})).status).toBe(500);
    });

    it('applies `times` times, then stops', async () => {
      server = await started();
      server.injectFault({ path: '/things', status: 500, times: 2 });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${server.url}/things/1`)).status);
      expect(statuses).toEqual([500, 500, 200]);
    });

    it('delays and then runs the real handler when the fault has only a delay', async () => {
      server = await started();
      server.injectFault({ path: '/things', delayMs: 150 });
      const t0 = Date.now();
      const res = await fetch(`${server.url}/things/9`);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: '9' });
    });

    it('delays a faulted answer too', async () => {
      server = await started();
      server.injectFault({ path: '/things', delayMs: 100, status: 504 });
      const t0 = Date.now();
      expect((await fetch(`${server.url}/things/1`)).status).toBe(504);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    });

    it('resets the connection', async () => {
      server = await started();
      server.injectFault({ path: '/things', reset: true });
      await expect(fetch(`${server.url}/things/1`)).rejects.toThrow();
      expect(server.calls).toHaveLength(1);
      expect(server.calls[0]).toMatchObject({ method: 'GET', path: '/things/1', status: 0 });
      expect((await fetch(`${server.url}/things/1`)).status).toBe(200);
    });

    it('afterHandler: lets the handler act, then answers with the fault or resets', async () => {
      let acted = 0;
      server = await started(undefined, (s) => s.post('/act', () => ({ status: 200, body: { acted: ++acted } })));
      server.injectFault({ path: '/act', afterHandler: true, status: 503, body: { lost: true } });
      const lost = await postJson(`${server.url}/act`, {});
      expect(lost.status).toBe(503);
      expect(await lost.json()).toEqual({ lost: true });
      expect(acted).toBe(1);

      server.injectFault({ path: '/act', afterHandler: true, reset: true });
      await expect(postJson(`${server.url}/act`, {})).rejects.toThrow();
      expect(acted).toBe(2);
      expect(server.calls.map((c) => c.status)).toEqual([503, 0]);
    });

    it('truncate: announces the whole body, sends half of it (the real answer with afterHandler), then cuts', async () => {
      let acted = 0;
      server = await started(undefined, (s) => s.post('/act', () => ({ status: 200, body: { acted: ++acted, padding: 'x'.repeat(200) } })));
      server.injectFault({ path: '/act', afterHandler: true, truncate: true });
      const res = await postJson(`${server.url}/act`, {});
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toThrow();
      expect(acted).toBe(1);
      expect(server.calls.map((c) => c.status)).toEqual([0]);
      expect((await postJson(`${server.url}/act`, {})).status).toBe(200);
    });

    it('setChaos: picks a fault for requests no staged fault matches, until cleared', async () => {
      server = await started();
      const seen: string[] = [];
      server.setChaos((method, path) => {
        seen.push(`${method} ${path}`);
        return path.endsWith('/2') ? { status: 502 } : undefined;
      });
      server.injectFault({ path: '/things/1', status: 418 });
      expect((await fetch(`${server.url}/things/1`)).status).toBe(418);
      expect((await fetch(`${server.url}/things/2`)).status).toBe(502);
      expect((await fetch(`${server.url}/things/3`)).status).toBe(200);
      expect(seen).toEqual(['GET /things/2', 'GET /things/3']);
      server.clearFaults();
      expect((await fetch(`${server.url}/things/2`)).status).toBe(200);
    });

    it('clearFaults drops staged faults', async () => {
      server = await started();
      server.injectFault({ status: 500, times: Infinity });
      expect((await fetch(`${server.url}/things/1`)).status).toBe(500);
      server.clearFaults();
      expect((await fetch(`${server.url}/things/1`)).status).toBe(200);
    });

    it('stop() does not wait for a pending delay', async () => {
      server = await started();
      server.injectFault({ delayMs: 60_000 });
      const pending = fetch(`${server.url}/things/1`);
      pending.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
      const t0 = Date.now();
      await server.stop();
      expect(Date.now() - t0).toBeLessThan(2_000);
      await expect(pending).rejects.toThrow('fetch failed');
      expect(server.calls.map((c) => c.status)).toEqual([0]);
    });
  });

  describe('call log', () => {
    it('records method, path, query, headers, body and status, before the client has its answer', async () => {
      server = await started();
      await postJson(`${server.url}/things?dry=1`, { n: 1 }, { headers: { 'content-type': 'application/json', 'x-trace': 'abc' } });
      expect(server.calls).toHaveLength(1);
      const [call] = server.calls;
      expect(call).toMatchObject({ method: 'POST', path: '/things', query: { dry: '1' }, body: { n: 1 }, status: 201 });
      expect(call!.headers['x-trace']).toBe('abc');
      expect(call!.at).toBeInstanceOf(Date);
    });

    it('counts calls by method and by path prefix or RegExp, and resets', async () => {
      server = await started();
      await fetch(`${server.url}/things/1`);
      await fetch(`${server.url}/things/2/parts/x`);
      await postJson(`${server.url}/things`, {});
      await fetch(`${server.url}/other`);
      expect(server.countCalls()).toBe(4);
      expect(server.countCalls('get')).toBe(3);
      expect(server.countCalls('POST', '/things')).toBe(1);
      expect(server.countCalls(undefined, '/things')).toBe(3);
      expect(server.countCalls(undefined, '/thing')).toBe(0);
      expect(server.countCalls('GET', /\/parts\//)).toBe(1);
      server.resetCalls();
      expect(server.countCalls()).toBe(0);
    });
  });
});

describe('resetCalls and requests still held', () => {
  it('does not log, after a reset, a request that began before it', async () => {
    const server = new EmulatorServer();
    server.post('/x', () => ({ status: 200, body: {} }));
    const origin = await server.start(0);
    try {
      server.injectFault({ method: 'POST', delayMs: 150 });
      const late = fetch(`${origin}/x`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      await new Promise((r) => setTimeout(r, 30));
      server.resetCalls();
      await late;
      expect(server.calls).toHaveLength(0);
      await fetch(`${origin}/x`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      expect(server.calls).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });
});
