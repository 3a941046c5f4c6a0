import { ProviderError, userError, type FailureDisposition } from '../../domain/errors';
import { CIRCUIT_OPEN, ProviderResilience, RATE_LIMIT_GATE, type ResilienceOptions } from './resilience';
import { providerFailure } from '../../../test/support/provider-failure';

const outage = (disposition: FailureDisposition = 'retryable') => new ProviderError([userError('PROVIDER_UNAVAILABLE', 'down')], disposition, 'http:503');
const refusal = () => new ProviderError([userError('PROVIDER_REFUSED', 'no', null, { providerMessage: 'no such invoice' })], 'final', 'http:404');
const limited = (retryAfterSeconds: number | null) =>
  new ProviderError([userError('RATE_LIMITED', 'slow down', null, { providerCode: '429', providerMessage: 'Too Many Attempts.', retryAfterSeconds })], 'retryable', 'http:429');

/** A fake exchange: answers from a script, one entry per try (the last one repeats), and counts the tries. */
function exchange(...script: Array<Error | string>) {
  const fn = Object.assign(
    async () => {
      const step = script[Math.min(fn.tries, script.length - 1)]!;
      fn.tries++;
      if (step instanceof Error) throw step;
      return step;
    },
    { tries: 0 },
  );
  return fn;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ProviderResilience', () => {
  let clock: number;
  const policies = (extra: Partial<ResilienceOptions> = {}) =>
    new ProviderResilience({ provider: 'Acme', initialDelayMs: 1, maxDelayMs: 5, now: () => clock, ...extra });
  beforeEach(() => {
    clock = Date.parse('2024-05-01T00:00:00Z');
  });

  describe('circuit breaker', () => {
    it('opens after `breakerThreshold` failed calls; then fails fast, retryable, without calling', async () => {
      const p = policies({ breakerThreshold: 3, readRetries: 0 });
      const down = exchange(outage());
      for (let i = 0; i < 3; i++) await providerFailure(p.read(down));
      expect([p.circuit, down.tries]).toEqual(['open', 3]);

      const err = await providerFailure(p.write(down));
      expect(down.tries).toBe(3);
      expect(err).toMatchObject({ disposition: 'retryable', cause_: CIRCUIT_OPEN });
      expect(err.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', message: expect.stringContaining('Acme'), retryAfterSeconds: 30 })]);
    });

    it('half-opens after `halfOpenAfterMs`: one trial call; success closes it, failure opens it again', async () => {
      // The breaker runs on the real clock. The cool-down is long enough that a stall of a loaded machine between
      // the failed trial and the next call cannot end it (which would let that call through, not fail fast).
      const p = policies({ breakerThreshold: 1, readRetries: 0, halfOpenAfterMs: 1_000 });
      await providerFailure(p.read(exchange(outage())));
      expect(p.circuit).toBe('open');
      await sleep(1_100);
      const still = exchange(outage());
      expect((await providerFailure(p.read(still))).cause_).toBe('http:503');
      expect([p.circuit, still.tries]).toEqual(['open', 1]);
      expect((await providerFailure(p.read(exchange('ok')))).cause_).toBe(CIRCUIT_OPEN);

      await sleep(1_100);
      const back = exchange('ok');
      // The trial and a call that waits for it both get through once it succeeds.
      expect(await Promise.all([p.read(back), p.read(back)])).toEqual(['ok', 'ok']);
      expect([p.circuit, back.tries]).toEqual(['closed', 2]);
    });

    it('counts outages only: refusals and rate limits neither open it, and a refusal resets the count', async () => {
      const p = policies({ breakerThreshold: 3, readRetries: 0 });
      for (let i = 0; i < 10; i++) await providerFailure(p.read(exchange(refusal())));
      for (let i = 0; i < 10; i++) await providerFailure(p.read(exchange(limited(0))));
      expect(p.circuit).toBe('closed');
      await providerFailure(p.read(exchange(outage())));
      await providerFailure(p.read(exchange(outage())));
      expect((await providerFailure(p.read(exchange(refusal())))).cause_).toBe('http:404');
      await providerFailure(p.read(exchange(outage())));
      await providerFailure(p.read(exchange(outage())));
      expect(p.circuit).toBe('closed');
      await providerFailure(p.read(exchange(outage())));
      expect(p.circuit).toBe('open');
    });

    it('counts a call once, after its retries', async () => {
      const p = policies({ breakerThreshold: 2, readRetries: 2 });
      const down = exchange(outage());
      await providerFailure(p.read(down));
      expect([p.circuit, down.tries]).toEqual(['closed', 3]);
      await providerFailure(p.read(down));
      expect([p.circuit, down.tries]).toEqual(['open', 6]);
    });

    it('is per instance: a new one starts closed', async () => {
      const p = policies({ breakerThreshold: 1, readRetries: 0 });
      await providerFailure(p.read(exchange(outage())));
      expect(p.circuit).toBe('open');
      expect(await policies({ breakerThreshold: 1 }).read(exchange('ok'))).toBe('ok');
    });
  });

  describe('rate-limit gate', () => {
    it('after a Retry-After, sends nothing until it passes, and says how long is left with the provider\'s words', async () => {
      const p = policies();
      const first = await providerFailure(p.write(exchange(limited(30))));
      expect(first.userErrors[0]).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 30 });

      clock += 12_000;
      const blocked = exchange('ok');
      const err = await providerFailure(p.read(blocked));
      expect(blocked.tries).toBe(0);
      expect(err).toMatchObject({ disposition: 'retryable', cause_: RATE_LIMIT_GATE });
      expect(err.userErrors).toEqual([expect.objectContaining({ code: 'RATE_LIMITED', retryAfterSeconds: 18, providerCode: '429', providerMessage: 'Too Many Attempts.' })]);
      expect((await providerFailure(p.write(blocked))).userErrors[0]!.retryAfterSeconds).toBe(18);
      expect(blocked.tries).toBe(0);

      clock += 18_000;
      expect(await p.write(blocked)).toBe('ok');
      expect(blocked.tries).toBe(1);
    });

    it('a rate limit without a delay shuts it for the cool-down, and the caller is told that delay', async () => {
      const p = policies({ rateLimitCooldownSeconds: 300 });
      const first = await providerFailure(p.read(exchange(limited(null))));
      expect(first.userErrors[0]).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 300, providerMessage: 'Too Many Attempts.' });
      expect(first.cause_).toBe('http:429');
      clock += 299_000;
      expect(p.rateLimitedFor()).toBe(1);
      clock += 1_000;
      expect(p.rateLimitedFor()).toBe(0);
    });

    it('a Retry-After of 0 shuts nothing', async () => {
      const p = policies({ readRetries: 0 });
      await providerFailure(p.read(exchange(limited(0))));
      expect(await p.read(exchange('ok'))).toBe('ok');
    });
  });

  describe('retries', () => {
    it('a read is retried on a retryable failure, a write is not', async () => {
      const p = policies();
      const flaky = exchange(outage(), 'ok');
      expect(await p.read(flaky)).toBe('ok');
      expect(flaky.tries).toBe(2);

      const write = exchange(outage(), 'ok');
      await providerFailure(p.write(write));
      expect(write.tries).toBe(1);
      const unknown = exchange(outage('indeterminate'), 'ok');
      await providerFailure(p.write(unknown));
      expect(unknown.tries).toBe(1);
    });

    it('a read gives up after readRetries, and never retries a refusal', async () => {
      const p = policies({ readRetries: 2 });
      const down = exchange(outage());
      await providerFailure(p.read(down));
      expect(down.tries).toBe(3);
      const refused = exchange(refusal(), 'ok');
      await providerFailure(p.read(refused));
      expect(refused.tries).toBe(1);
    });

    it('a repeatable write is retried on an unknown outcome, at most repeatableWriteRetries times', async () => {
      const p = policies({ repeatableWriteRetries: 1 });
      const lost = exchange(outage('indeterminate'), 'ok');
      expect(await p.write(lost, { repeatable: true })).toBe('ok');
      expect(lost.tries).toBe(2);
      const gone = exchange(outage('indeterminate'));
      await providerFailure(p.write(gone, { repeatable: true }));
      expect(gone.tries).toBe(2);
      const refused = exchange(refusal(), 'ok');
      await providerFailure(p.write(refused, { repeatable: true }));
      expect(refused.tries).toBe(1);
    });

    it('a short Retry-After on a read is waited out, then the read is retried', async () => {
      const p = policies({ now: Date.now, maxWaitSeconds: 2 });
      const once = exchange(limited(1), 'ok');
      const started = Date.now();
      expect(await p.read(once)).toBe('ok');
      expect(once.tries).toBe(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    });

    it('a longer Retry-After than maxWaitSeconds is returned at once', async () => {
      const p = policies({ maxWaitSeconds: 2 });
      const long = exchange(limited(3), 'ok');
      const started = Date.now();
      const err = await providerFailure(p.read(long));
      expect([long.tries, err.userErrors[0]!.retryAfterSeconds]).toEqual([1, 3]);
      // Not waited: far below the 3 s it would take (a generous bound, for a loaded machine).
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });

  it('keeps at most readConcurrency reads in flight', async () => {
    const p = policies({ readConcurrency: 2 });
    let inFlight = 0;
    let peak = 0;
    const slow = async () => {
      peak = Math.max(peak, ++inFlight);
      await sleep(10);
      inFlight--;
      return 'ok';
    };
    expect(await Promise.all(Array.from({ length: 6 }, () => p.read(slow)))).toHaveLength(6);
    expect(peak).toBe(2);
  });
});
