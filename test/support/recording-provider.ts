import { setTimeout as sleep } from 'node:timers/promises';
import { userError, type ProviderError } from '../../src/domain/errors';
import { EMPTY_KPIS, type InvoiceDetails, type ProviderInvoiceRef } from '../../src/domain/invoice';
import { money } from '../../src/domain/money';
import type { InvoiceProvider } from '../../src/providers/provider';

export interface FakeInput {
  orderId: string;
  amount: string;
}

/** Provider invoice ids are unique at a provider, so across every test that uses this one. */
let nextProviderId = 1000;

/** A fake provider (as Salla) that records every call, so the service and reconciler tests can count what reached it. */
export class RecordingProvider implements InvoiceProvider<FakeInput> {
  readonly code = 'SALLA' as const;
  creates: FakeInput[] = [];
  finds: FakeInput[] = [];
  /** What the next creates do: throw, or wait, before creating. */
  failures: ProviderError[] = [];
  delayMs = 0;
  /** What the next lookups throw (a provider that cannot be asked). */
  findFailures: ProviderError[] = [];
  existing: InvoiceDetails[] = [];

  validate(input: FakeInput) {
    return input.amount.startsWith('-') ? [userError('INVALID_INPUT', 'amount must not be negative', ['amount'])] : [];
  }
  orderIdOf(input: FakeInput) {
    return input.orderId;
  }
  async create(input: FakeInput): Promise<InvoiceDetails[]> {
    this.creates.push(input);
    if (this.delayMs) await sleep(this.delayMs);
    const failure = this.failures.shift();
    if (failure) throw failure;
    const made = details(String(nextProviderId++), input);
    this.existing.push(made);
    return [made];
  }
  async findCreated(input: FakeInput): Promise<InvoiceDetails[]> {
    this.finds.push(input);
    const failure = this.findFailures.shift();
    if (failure) throw failure;
    return this.existing.filter((d) => d.header.orderId === input.orderId);
  }
  contentFinal(header: InvoiceDetails['header']) {
    return header.status !== 'DRAFT';
  }
  async loadDetails(refs: readonly ProviderInvoiceRef[]) {
    return refs.map((r) => this.existing.find((d) => d.header.providerInvoiceId === r.providerInvoiceId) ?? new Error('not found'));
  }
}

export const details = (id: string, input: FakeInput): InvoiceDetails => ({
  header: {
    provider: 'SALLA',
    providerInvoiceId: id,
    orderId: input.orderId,
    number: `INV-${id}`,
    kind: 'INVOICE',
    status: 'ISSUED',
    issueDate: '2026-11-22',
    dueDate: null,
    currencyCode: 'SAR',
    subtotal: null,
    taxTotal: null,
    total: money(input.amount, 'SAR'),
    documentUrl: null,
  },
  lines: [],
  taxes: [],
  kpis: EMPTY_KPIS,
});

