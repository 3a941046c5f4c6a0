import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { statusOf, toDetails, toHeader } from './salla.mapper';
import { sallaInvoiceEnvelope } from './salla.wire';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'salla');
const example1 = () => {
  const file = readdirSync(FIXTURES).find((f) => f.startsWith('response.200.example-1.'))!;
  return sallaInvoiceEnvelope.parse(JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')).body).data;
};

describe("Salla's invoice, normalised", () => {
  it("reads the documentation's example: symbols to SAR, numbers and strings to exact decimals", () => {
    const d = toDetails(example1());
    expect(d.header).toMatchObject({
      provider: 'SALLA',
      providerInvoiceId: '1333835642',
      orderId: '1371877152',
      number: '2sdfs435d',
      kind: 'INVOICE',
      status: 'ISSUED',
      issueDate: '2022-03-23',
      dueDate: null,
      currencyCode: 'SAR',
    });
    // The create example says `sub_total`, the read schema `subtotal`: both are read.
    expect(d.header.subtotal!.amount.toFixed(2)).toBe('999.00');
    expect(d.header.total.amount.toFixed(2)).toBe('7789.00');
    expect(d.header.taxTotal!.amount.toFixed(2)).toBe('35.30');
    expect(d.taxes).toEqual([expect.objectContaining({ ratePercent: expect.anything() })]);
    expect(d.taxes[0]!.ratePercent!.toFixed()).toBe('10');

    const [line] = d.lines;
    expect(line!.description).toBe('فستان فراولة');
    expect(line!.unitPrice!.amount.toFixed(2)).toBe('90.50');
    expect(line!.taxes[0]!.ratePercent!.toFixed(2)).toBe('15.00');
    expect(line!.total!.amount.toFixed(2)).toBe('104.08');
    expect(line!.subtotal!.amount.toFixed(2)).toBe('90.50');
    expect(d.kpis).toEqual({ outstanding: null, paid: null, overdue: null, lastPaymentDate: null, creditApplied: null });
  });

  it('reads a credit note as CREDIT_NOTE', () => {
    expect(toHeader({ ...example1(), type: 'Credit Note' }).kind).toBe('CREDIT_NOTE');
  });

  it('refuses an invoice whose currency it cannot tell rather than guessing', () => {
    expect(() => toHeader({ ...example1(), total: { amount: 1, currency: '¤' } })).toThrow(/currency/);
  });
});

describe("statusOf: a Salla invoice's status comes from its order (payment lives on the order)", () => {
  const order = (slug: string, payment_method = 'credit_card', is_pending_payment?: boolean) => ({ id: 1, status: { slug }, payment_method, is_pending_payment });
  const tax = { type: 'Tax Invoice' };
  it.each([
    ['payment_pending', 'credit_card', undefined, 'ISSUED'],
    ['under_review', 'credit_card', undefined, 'PAID'],
    ['under_review', 'bank', undefined, 'ISSUED'],
    ['in_progress', 'mada', undefined, 'PAID'],
    ['a_store_own_status', 'apple_pay', true, 'ISSUED'],
    ['a_store_own_status', 'apple_pay', false, 'PAID'],
    ['shipped', 'cod', undefined, 'ISSUED'],
    ['delivered', 'cod', undefined, 'PAID'],
    ['completed', 'COD', undefined, 'PAID'],
    ['canceled', 'credit_card', undefined, 'VOID'],
    ['restored', 'cod', undefined, 'VOID'],
    ['restoring', 'credit_card', undefined, 'PAID'],
  ] as const)('order %s paid by %s (pending: %s): %s', (slug, method, pending, status) => {
    expect(statusOf(tax, order(slug, method, pending))).toBe(status);
  });
  it('a credit note is ISSUED whatever its order; so is an invoice whose order was not read', () => {
    expect(statusOf({ type: 'Credit Note' }, order('canceled'))).toBe('ISSUED');
    expect(statusOf(tax, null)).toBe('ISSUED');
  });
  it('ISSUED for every recorded tax invoice and credit note read without its order', () => {
    const files = readdirSync(FIXTURES).filter((f) => /^response\.200\..*\.json$/.test(f));
    const invoices = files.flatMap((f) => {
      const parsed = sallaInvoiceEnvelope.safeParse(JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')).body);
      return parsed.success ? [parsed.data.data] : [];
    });
    expect(invoices.length).toBeGreaterThan(0);
    for (const inv of invoices) expect(statusOf(inv)).toBe('ISSUED');
  });
});
