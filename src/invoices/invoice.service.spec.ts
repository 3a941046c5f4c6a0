import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderError, userError } from '../domain/errors';
import type { Database } from '../ledger/database';
import { Ledger } from '../ledger/ledger';
import { SyncStore } from '../ledger/sync-store';
import { ProviderRegistry } from '../providers/registry';
import { details, RecordingProvider, type FakeInput } from '../../test/support/recording-provider';
import { openTestDatabase, storeName } from '../../test/support/store';
import { fingerprint } from '../domain/fingerprint';
import { InvoiceService, type CreateInvoiceCommand } from './invoice.service';

const fingerprintOf = (input: FakeInput) => fingerprint({ provider: 'SALLA', input });

const command = (input: FakeInput, idempotencyKey?: string): CreateInvoiceCommand<FakeInput> => ({
  tenantId: 'tenant-a',
  provider: 'SALLA',
  branch: 'salla',
  input,
  recordedInput: input,
  idempotencyKey,
});

const unavailable = (disposition: 'retryable' | 'indeterminate') =>
  new ProviderError([userError('PROVIDER_UNAVAILABLE', 'down')], disposition, 'http:503');

describe(`InvoiceService (${storeName()})`, () => {
  let db: Database;
  let provider: RecordingProvider;
  let service: InvoiceService;
  let order = 0;
  const nextOrder = () => `order-${++order}`;

  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db.close());
  beforeEach(() => {
    provider = new RecordingProvider();
    service = new InvoiceService(new Ledger(db), new ProviderRegistry([provider]), { pollMs: 5 });
  });

  it('answers bad input with userErrors under the branch, recording and sending nothing', async () => {
    const before = await db.query<{ n: string }>('SELECT count(*) AS n FROM invoice_attempts');
    const out = await service.create(command({ orderId: nextOrder(), amount: '-1' }, 'k-bad'));
    expect(out.userErrors).toEqual([expect.objectContaining({ code: 'INVALID_INPUT', field: ['salla', 'amount'] })]);
    expect(provider.creates).toHaveLength(0);
    expect(await db.query('SELECT count(*) AS n FROM invoice_attempts')).toEqual(before);
  });

  it('returns the same invoice for a retry with the same key and input, calling the provider once', async () => {
    const input = { orderId: nextOrder(), amount: '10.50' };
    const first = await service.create(command(input, 'k-retry'));
    const again = await service.create(command({ amount: '10.50', orderId: input.orderId }, 'k-retry'));
    expect(first.userErrors).toEqual([]);
    expect(again.invoices.map((i) => i.id)).toEqual(first.invoices.map((i) => i.id));
    expect(again.invoices[0]!.total.amount.toFixed(2)).toBe('10.50');
    expect(provider.creates).toHaveLength(1);
  });

  it('refuses the same key with a different input as IDEMPOTENCY_CONFLICT, without calling the provider', async () => {
    const orderId = nextOrder();
    await service.create(command({ orderId, amount: '1' }, 'k-conflict'));
    const out = await service.create(command({ orderId, amount: '2' }, 'k-conflict'));
    expect(out.userErrors).toEqual([expect.objectContaining({ code: 'IDEMPOTENCY_CONFLICT', field: ['idempotencyKey'] })]);
    expect(provider.creates).toHaveLength(1);
  });

  it('makes one provider call for concurrent requests with one key, and gives all the same invoice', async () => {
    provider.delayMs = 30;
    const input = { orderId: nextOrder(), amount: '5' };
    const outs = await Promise.all(Array.from({ length: 20 }, () => service.create(command(input, 'k-concurrent'))));
    expect(provider.creates).toHaveLength(1);
    expect(new Set(outs.map((o) => o.invoices[0]?.id)).size).toBe(1);
  });

  it('coordinates through the ledger across service instances (replicas): one provider call', async () => {
    provider.delayMs = 50;
    const replica = new InvoiceService(new Ledger(db), new ProviderRegistry([provider]), { pollMs: 5 });
    const input = { orderId: nextOrder(), amount: '7' };
    const [a, b] = await Promise.all([service.create(command(input, 'k-replicas')), replica.create(command(input, 'k-replicas'))]);
    expect(provider.creates).toHaveLength(1);
    expect(a.invoices[0]!.id).toBe(b.invoices[0]!.id);
  });

  it('creates a new invoice per call when no key is given', async () => {
    const input = { orderId: nextOrder(), amount: '3' };
    await service.create(command(input));
    await service.create(command(input));
    expect(provider.creates).toHaveLength(2);
  });

  it('replays a final refusal without calling again', async () => {
    provider.failures.push(new ProviderError([userError('ALREADY_INVOICED', 'exists', ['orderId'])], 'final', 'http:422'));
    const input = { orderId: nextOrder(), amount: '4' };
    const first = await service.create(command(input, 'k-final'));
    const again = await service.create(command(input, 'k-final'));
    expect(first.userErrors).toEqual([expect.objectContaining({ code: 'ALREADY_INVOICED', field: ['salla', 'orderId'] })]);
    expect(again.userErrors).toEqual(first.userErrors);
    expect(provider.creates).toHaveLength(1);
  });

  it('tries again after a failure that left nothing at the provider', async () => {
    provider.failures.push(unavailable('retryable'));
    const input = { orderId: nextOrder(), amount: '6' };
    const first = await service.create(command(input, 'k-retryable'));
    const again = await service.create(command(input, 'k-retryable'));
    expect(first.userErrors[0]!.code).toBe('PROVIDER_UNAVAILABLE');
    expect(again.invoices).toHaveLength(1);
    expect(provider.creates).toHaveLength(2);
    expect(provider.finds).toHaveLength(0);
  });

  it('after an outcome it could not know, asks the provider before creating and never duplicates', async () => {
    const input = { orderId: nextOrder(), amount: '8' };
    // The provider created the invoice but the answer was lost (a 5xx or a timeout after the fact).
    provider.failures.push(unavailable('indeterminate'));
    provider.create = async function (this: RecordingProvider, i: FakeInput) {
      this.creates.push(i);
      const made = details('lost-1', i);
      this.existing.push(made);
      throw this.failures.shift()!;
    }.bind(provider);
    const first = await service.create(command(input, 'k-unknown'));
    expect(first.userErrors[0]!.code).toBe('PROVIDER_UNAVAILABLE');
    const attempt = await new Ledger(db).findAttempt('tenant-a', 'k-unknown');
    expect(attempt).toMatchObject({ state: 'unknown', disposition: 'indeterminate' });

    const again = await service.create(command(input, 'k-unknown'));
    expect(again.userErrors).toEqual([]);
    expect(again.invoices.map((i) => i.providerInvoiceId)).toEqual(['lost-1']);
    expect(provider.creates).toHaveLength(1);
    expect(provider.finds).toHaveLength(1);
  });

  it('answers IN_PROGRESS when a concurrent attempt outlasts the wait, and the result once it lands', async () => {
    const slow = new InvoiceService(new Ledger(db), new ProviderRegistry([provider]), { pollMs: 5, waitMs: 20 });
    provider.delayMs = 200;
    const input = { orderId: nextOrder(), amount: '9' };
    const running = service.create(command(input, 'k-slow'));
    await sleep(20);
    const waiting = await slow.create(command(input, 'k-slow'));
    expect(waiting.userErrors).toEqual([expect.objectContaining({ code: 'IN_PROGRESS' })]);
    const done = await running;
    expect((await slow.create(command(input, 'k-slow'))).invoices[0]!.id).toBe(done.invoices[0]!.id);
    expect(provider.creates).toHaveLength(1);
  });

  it('a provider that acts but issues no invoice is a final refusal: a retry does not act again', async () => {
    provider.create = async function (this: RecordingProvider, i: FakeInput) {
      this.creates.push(i);
      return [];
    }.bind(provider);
    const input = { orderId: nextOrder(), amount: '12' };
    const first = await service.create(command(input, 'k-nothing'));
    const again = await service.create(command(input, 'k-nothing'));
    expect(first.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_REFUSED', field: ['salla'] })]);
    expect(again.userErrors).toEqual(first.userErrors);
    expect(provider.creates).toHaveLength(1);
  });

  it("an invoice its provider's webhook recorded EXTERNAL before the create's success was stored is answered as ours, also on a retry", async () => {
    const create = provider.create.bind(provider);
    // Zuora's Invoice Posted (Salla's invoice.created) for the invoice this create made, processed before the create returns.
    provider.create = async (i: FakeInput) => {
      const made = await create(i);
      await new SyncStore(db).recordExternal(made.map((d) => ({ tenantId: 'tenant-a', record: { header: d.header, content: null, kpis: d.kpis }, readAt: new Date() })));
      return made;
    };
    const input = { orderId: nextOrder(), amount: '13' };
    const out = await service.create(command(input, 'k-found-first'));
    expect(out.userErrors).toEqual([]);
    expect(out.invoices.map((i) => i.origin)).toEqual(['CREATED_HERE']);
    const rows = await db.query<{ id: string; origin: string }>('SELECT id, origin FROM invoices WHERE order_id = $1', [input.orderId]);
    expect(rows).toEqual([{ id: out.invoices[0]!.id, origin: 'CREATED_HERE' }]);
    const again = await service.create(command(input, 'k-found-first'));
    expect(again.invoices.map((i) => [i.id, i.origin])).toEqual([[out.invoices[0]!.id, 'CREATED_HERE']]);
    expect(provider.creates).toHaveLength(1);
  });

  it('scopes keys per tenant', async () => {
    const input = { orderId: nextOrder(), amount: '11' };
    await service.create(command(input, 'k-tenant'));
    await service.create({ ...command(input, 'k-tenant'), tenantId: 'tenant-b' });
    expect(provider.creates).toHaveLength(2);
  });

  describe('an attempt has one owner at a time', () => {
    const attemptOf = async (key: string) => (await new Ledger(db).findAttempt('tenant-a', key))!;
    /** Makes the fake's next create wait for `release`, and tells when it has started. */
    const holdNextCreate = () => {
      let started!: () => void;
      let release!: (outcome?: Error) => void;
      const hasStarted = new Promise<void>((r) => (started = r));
      const create = provider.create.bind(provider);
      provider.create = async (i: FakeInput) => {
        provider.create = create;
        const outcome = new Promise<Error | undefined>((r) => (release = r));
        started();
        const err = await outcome;
        if (err) {
          provider.creates.push(i);
          throw err;
        }
        return create(i);
      };
      return { hasStarted, release: (outcome?: Error) => release(outcome) };
    };

    it('a slow provider call keeps its lease alive: no one can take the attempt over while it runs', async () => {
      const held = new InvoiceService(new Ledger(db), new ProviderRegistry([provider]), { pollMs: 5, leaseMs: 1_000 });
      const gate = holdNextCreate();
      const running = held.create(command({ orderId: nextOrder(), amount: '5' }, 'k-held'));
      await gate.hasStarted;
      const a = await attemptOf('k-held');
      // Three lease lengths pass; every retake finds the lease renewed.
      for (let i = 0; i < 5; i++) {
        await sleep(600);
        expect(await new Ledger(db).retake(a.id, ['pending'], 1_000)).toBeNull();
      }
      gate.release();
      expect((await running).userErrors).toEqual([]);
      expect(provider.creates).toHaveLength(1);
    });

    it("an owner's late refusal never overwrites what a newer owner recorded: it answers the attempt as it stands", async () => {
      const ledger = new Ledger(db);
      const gate = holdNextCreate();
      const input = { orderId: nextOrder(), amount: '6' };
      const late = service.create(command(input, 'k-late'));
      await gate.hasStarted;
      // The owner is presumed dead (its lease forced out); a newer owner takes over and records the invoice.
      const a = await attemptOf('k-late');
      await db.query(`UPDATE invoice_attempts SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [a.id]);
      const newer = (await ledger.retake(a.id, ['pending'], 60_000))!;
      const [recorded] = await ledger.succeed(newer.id, 'tenant-a', [details(`late-${input.orderId}`, input).header]);
      gate.release(new ProviderError([userError('ALREADY_INVOICED', 'already invoiced')], 'final', 'http:422'));
      const answer = await late;
      expect(answer.userErrors).toEqual([]);
      expect(answer.invoices.map((i) => i.id)).toEqual([recorded!.id]);
      expect(await attemptOf('k-late')).toMatchObject({ state: 'succeeded', providerInvoiceIds: [`late-${input.orderId}`] });
      expect((await service.create(command(input, 'k-late'))).invoices.map((i) => i.id)).toEqual([recorded!.id]);
    });

    it('an attempt released by a sweep while its owner was still sending is looked up before the retry creates', async () => {
      const ledger = new Ledger(db);
      const input = { orderId: nextOrder(), amount: '8' };
      const { attempt } = await ledger.claim({ tenantId: 'tenant-a', idempotencyKey: 'k-released', provider: 'SALLA', orderId: input.orderId, inputFingerprint: fingerprintOf(input), input, leaseMs: -1000 });
      // The sweep takes it over, finds nothing yet, and releases it...
      const swept = (await ledger.retake(attempt.id, ['pending'], 60_000))!;
      expect(await service.settle(swept, command(input, 'k-released'), provider)).toBe('released');
      // ...then the owner it thought dead lands its create at the provider.
      provider.existing.push(details(`landed-${input.orderId}`, input));
      const retry = await service.create(command(input, 'k-released'));
      expect(retry.invoices.map((i) => i.providerInvoiceId)).toEqual([`landed-${input.orderId}`]);
      expect(provider.creates).toHaveLength(0);
    });

    it('an owner whose attempt was taken over during a long lookup does not create', async () => {
      const ledger = new Ledger(db);
      const short = new InvoiceService(ledger, new ProviderRegistry([provider]), { pollMs: 5, leaseMs: 300 });
      const input = { orderId: nextOrder(), amount: '9' };
      provider.failures.push(unavailable('indeterminate'));
      await short.create(command(input, 'k-taken'));
      const a = await attemptOf('k-taken');
      let looked!: () => void;
      const lookingUp = new Promise<void>((r) => (looked = r));
      const find = provider.findCreated.bind(provider);
      provider.findCreated = async (i: FakeInput) => {
        looked();
        await sleep(250);
        return find(i);
      };
      const retry = short.create(command(input, 'k-taken'));
      await lookingUp;
      // Someone else takes the attempt over while the lookup runs (as after a lost lease).
      await db.query(`UPDATE invoice_attempts SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [a.id]);
      expect(await ledger.retake(a.id, ['pending'], 60_000)).not.toBeNull();
      const answer = await retry;
      expect(provider.creates).toHaveLength(1); // the first, failed try only
      expect(answer.userErrors).toEqual([expect.objectContaining({ code: 'IN_PROGRESS' })]);
    });

    it("crash repair never takes another tenant's invoice, even for the same order at a shared provider account", async () => {
      const input = { orderId: nextOrder(), amount: '7' };
      const other = await service.create({ ...command(input, 'k-other-tenant'), tenantId: 'tenant-b' });
      expect(other.invoices).toHaveLength(1);
      // Tenant A's attempt for the same order ends unknown (its create never reached the provider); its retry looks
      // the order up and finds only B's invoice, which is not A's: A's own create follows.
      provider.failures.push(unavailable('indeterminate'));
      await service.create(command(input, 'k-mine'));
      const mine = await service.create(command(input, 'k-mine'));
      expect(mine.invoices).toHaveLength(1);
      expect(mine.invoices[0]!.providerInvoiceId).not.toBe(other.invoices[0]!.providerInvoiceId);
      expect(provider.creates).toHaveLength(3);
    });
  });
});
