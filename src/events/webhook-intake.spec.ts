import pino from 'pino';
import type { EventLog } from '../ledger/event-log';
import { sallaWebhooks } from '../providers/salla/salla.webhooks';
import { zuoraSignature, zuoraWebhooks } from '../providers/zuora/zuora.webhooks';
import { WebhookIntake, type WebhookIntakeOptions } from './webhook-intake';

const DEPLOYMENT = 'the-deployment-zuora-secret';
const C = 'tenant-c-own-secret-0123456789';
const D = 'tenant-d-own-secret-9876543210';
const raw = Buffer.from(JSON.stringify({ event: 'InvoicePosted', invoiceId: '8a90e08282f4ed040182f67bab2902ff' }));
const signed = (secret: string, tenant?: string) => ({ 'x-zuora-signature': zuoraSignature(raw, secret), 'zuora-notification-id': 'n-1', ...(tenant ? { 'x-zuora-tenant-id': tenant } : {}) });

/** The intake over a log that keeps what it is asked to record. */
function intake(options: Partial<WebhookIntakeOptions>) {
  const recorded: Array<{ key: string; tenantId: string | null }> = [];
  const log = {
    record: async (_provider: string, key: string, _event: string, _body: string, tenantId: string | null = null) => {
      const fresh = !recorded.some((r) => r.key === key);
      if (fresh) recorded.push({ key, tenantId });
      return { id: key, fresh };
    },
  } as unknown as EventLog;
  const woken: string[] = [];
  const it = new WebhookIntake({ ZUORA: zuoraWebhooks, SALLA: sallaWebhooks }, log, { secrets: {}, logger: pino({ level: 'silent' }), wake: (p) => void woken.push(p), ...options });
  return { it, recorded, woken };
}

/** Tenants c and d connected to Zuora tenant 1003 with their own secrets; d also to 1004. */
const accountSecrets = async (_code: string, account: string) =>
  account === '1003' ? [{ tenantId: 'c', secret: C }, { tenantId: 'd', secret: D }] : account === '1004' ? [{ tenantId: 'd', secret: D }] : [];

describe('WebhookIntake: whose secret verifies a delivery', () => {
  it("verifies a delivery naming no account with the deployment's secret, recorded for no tenant", async () => {
    const { it: i, recorded, woken } = intake({ secrets: { ZUORA: DEPLOYMENT }, accountSecrets });
    expect((await i.receive('zuora', raw, signed(DEPLOYMENT))).status).toBe(200);
    expect(recorded).toEqual([{ key: 'notification:n-1', tenantId: null }]);
    expect(woken).toEqual(['ZUORA']);
    expect((await i.receive('zuora', raw, signed(C))).status).toBe(401);
  });

  it("verifies a delivery naming its Zuora tenant with that tenant's connections' secrets only, recorded for the tenant whose secret matches", async () => {
    const { it: i, recorded } = intake({ secrets: { ZUORA: DEPLOYMENT }, accountSecrets });
    expect((await i.receive('zuora', raw, signed(D, '1003'))).status).toBe(200);
    expect(recorded).toEqual([{ key: 'tenant:1:d:notification:n-1', tenantId: 'd' }]);
    // Another tenant's delivery with the same notification id is its own record.
    expect((await i.receive('zuora', raw, signed(C, '1003'))).body).toEqual({ received: true, duplicate: false });
    expect(recorded.map((r) => r.tenantId)).toEqual(['d', 'c']);
    // The same again: a redelivery.
    expect((await i.receive('zuora', raw, signed(C, '1003'))).body).toEqual({ received: true, duplicate: true });
    // c's secret under an account c is not connected to, a header naming nothing, an account nobody connected, no signature.
    for (const headers of [signed(C, '1004'), signed(C, 'one'), signed(C, '1099'), { 'x-zuora-tenant-id': '1003' }]) {
      expect((await i.receive('zuora', raw, headers)).status).toBe(401);
    }
    expect(recorded).toHaveLength(2);
    // The deployment's own secret with the header (an operator's template): the deployment's, as without it.
    expect((await i.receive('zuora', raw, signed(DEPLOYMENT, '1003'))).status).toBe(200);
    expect(recorded[2]).toEqual({ key: 'notification:n-1', tenantId: null });
  });

  it('reads the account\'s secrets again once before refusing: a secret changed moments ago on another replica is not refused from a stale cache', async () => {
    const asked: boolean[] = [];
    // The cache still holds c's old secret; the ledger holds the one c reconnected with elsewhere.
    const { it: i, recorded } = intake({
      accountSecrets: async (_code, _account, fresh) => {
        asked.push(fresh);
        return [{ tenantId: 'c', secret: fresh ? C : 'the-old-secret-of-tenant-c' }];
      },
    });
    expect((await i.receive('zuora', raw, signed(C, '1003'))).status).toBe(200);
    expect(asked).toEqual([false, true]);
    expect(recorded.map((r) => r.tenantId)).toEqual(['c']);
    // A forgery asks for the cached secrets, then fresh ones (which TenantProviders grants at most every 0.5 s per account), then 401.
    asked.length = 0;
    expect((await i.receive('zuora', raw, signed(D, '1003'))).status).toBe(401);
    expect(asked).toEqual([false, true]);
    expect(recorded).toHaveLength(1);
  });

  it("is open where tenants' secrets exist even without the deployment's; a provider with neither has no endpoint", async () => {
    const { it: i, recorded } = intake({ accountSecrets });
    expect(i.accepts('zuora')).toBe(true);
    expect((await i.receive('zuora', raw, signed(DEPLOYMENT))).status).toBe(401);
    expect((await i.receive('zuora', raw, signed(D, '1004'))).status).toBe(200);
    expect(recorded).toEqual([{ key: 'tenant:1:d:notification:n-1', tenantId: 'd' }]);
    // Salla's app signs for every store with the app's one secret: no account header, so no endpoint without it.
    expect(i.accepts('salla')).toBe(false);
    expect((await i.receive('salla', raw, {})).status).toBe(404);
  });

  it("never applies an account event (tokens delivered or revoked) signed with a tenant's own secret: only the deployment's app may say that", async () => {
    const applied: string[] = [];
    const accountEvents = { ...zuoraWebhooks, accountEventOf: () => ({ kind: 'revoked' as const, accountId: '1003', reason: 'uninstalled' }) };
    const log = { record: async () => ({ id: 'x', fresh: true }) } as unknown as EventLog;
    const i = new WebhookIntake({ ZUORA: accountEvents }, log, {
      secrets: { ZUORA: DEPLOYMENT },
      accountSecrets,
      logger: pino({ level: 'silent' }),
      wake: () => undefined,
      onAccountEvent: async (_code, event) => {
        applied.push(event.accountId);
        return 1;
      },
    });
    expect((await i.receive('zuora', raw, signed(C, '1003'))).status).toBe(400);
    expect(applied).toEqual([]);
    expect((await i.receive('zuora', raw, signed(DEPLOYMENT))).status).toBe(200);
    expect(applied).toEqual(['1003']);
  });

  it("without tenant connections (no accountSecrets) the header is not read: the deployment's secret decides", async () => {
    const { it: i, recorded } = intake({ secrets: { ZUORA: DEPLOYMENT } });
    expect((await i.receive('zuora', raw, signed(DEPLOYMENT, '1003'))).status).toBe(200);
    expect((await i.receive('zuora', raw, signed(C, '1003'))).status).toBe(401);
    expect(recorded).toEqual([{ key: 'notification:n-1', tenantId: null }]);
    expect(intake({}).it.accepts('zuora')).toBe(false);
  });
});
