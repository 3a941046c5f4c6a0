import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MoneyParseError } from '../../domain/money';
import { overdueOf, statusOf, toDetails } from './exsited.mapper';
import { exsitedInvoiceEnvelope, type ExsitedInvoice } from './exsited.wire';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'exsited');

/** An invoice as Exsited answers it: tax-inclusive prices, part paid and past due, every amount a string. */
const invoice = (): ExsitedInvoice =>
  exsitedInvoiceEnvelope.parse({
    invoice: {
      status: 'ACTIVE',
      id: 'INV-0042',
      type: 'INVOICE',
      currency: { uuid: 'c-1', name: 'AUD', link: 'https://api.exsited.com/api/v3/settings/currencies/c-1' },
      issue_date: '2024-05-10',
      due_date: '2024-05-24T00:00:00Z',
      subtotal: '580.75',
      tax: '58.07',
      total: '638.82',
      paid: '200.00',
      due: '438.82',
      payment_status: 'PARTIALLY_PAID',
      discount_amount: '15.98',
      price_tax_inclusive: 'true',
      invoice_note: '',
      account_id: 'ACC-000101',
      order_id: 'ORD-8N3Q5R',
      kpis: { outstanding: '438.82', overdue: '438.82', last_payment_date: '2024-05-12', payment_applied: '200.00', credit_applied: '0.00', voided_on: '' },
      lines: [
        { subtotal: '450.00', total: '495.00', tax: { amount: '45.00', uuid: 't-1', code: 'GST', rate: '10', link: '' }, item_id: 'TRAINING-BARISTA', item_order_quantity: '1', item_uom: 'Seat' },
        { subtotal: '130.75', total: '143.82', tax: { amount: '13.07', uuid: 't-1', code: 'GST', rate: '10', link: '' }, item_id: 'CUPSET-CERAMIC', item_order_quantity: '4', item_uom: 'Set' },
      ],
    },
  }).invoice;

const amounts = (m: { amount: { toFixed(n?: number): string }; currencyCode: string } | null) => (m ? `${m.amount.toFixed(2)} ${m.currencyCode}` : null);

describe("Exsited's invoice, normalised", () => {
  it('reads the header: id as number, dates, exact string amounts in the currency object\'s ISO code', () => {
    const d = toDetails(invoice());
    expect(d.header).toMatchObject({
      provider: 'EXSITED',
      providerInvoiceId: 'INV-0042',
      number: 'INV-0042',
      orderId: 'ORD-8N3Q5R',
      kind: 'INVOICE',
      status: 'PARTIALLY_PAID',
      issueDate: '2024-05-10',
      dueDate: '2024-05-24',
      currencyCode: 'AUD',
      documentUrl: null,
    });
    expect([amounts(d.header.subtotal), amounts(d.header.taxTotal), amounts(d.header.total)]).toEqual(['580.75 AUD', '58.07 AUD', '638.82 AUD']);
  });

  it('reads lines without inventing what Exsited does not send (no name, no unit price on its invoice lines)', () => {
    const [first, second] = toDetails(invoice()).lines;
    expect(first).toMatchObject({ description: null, sku: 'TRAINING-BARISTA', unitPrice: null });
    expect(second!.quantity.toFixed()).toBe('4');
    expect([amounts(second!.subtotal), amounts(second!.taxTotal), amounts(second!.total)]).toEqual(['130.75 AUD', '13.07 AUD', '143.82 AUD']);
    expect(second!.taxes).toEqual([expect.objectContaining({ name: null, code: 'GST' })]);
    expect(second!.taxes[0]!.ratePercent!.toFixed()).toBe('10');
    // Net and tax add up to the line's total, exactly, on tax-inclusive prices too.
    for (const l of toDetails(invoice()).lines) expect(l.subtotal!.amount.plus(l.taxTotal!.amount).equals(l.total!.amount)).toBe(true);
  });

  it('uses a line\'s name and unit price when Exsited sends them', () => {
    const inv = invoice();
    inv.lines![0] = { ...inv.lines![0]!, item_name: 'Barista training', item_price: '495.00' };
    expect(toDetails(inv).lines[0]).toMatchObject({ description: 'Barista training' });
    expect(amounts(toDetails(inv).lines[0]!.unitPrice)).toBe('495.00 AUD');
  });

  it('sums the lines\' taxes per code and rate for the invoice', () => {
    const inv = invoice();
    inv.lines!.push({ subtotal: '85.00', total: '85.00', tax: { amount: '0.00', code: 'ZERO', rate: '0' }, item_id: 'FREIGHT', item_order_quantity: '1' });
    const taxes = toDetails(inv).taxes.map((t) => [t.code, t.ratePercent?.toFixed(), amounts(t.amount)]);
    expect(taxes).toEqual([
      ['GST', '10', '58.07 AUD'],
      ['ZERO', '0', '0.00 AUD'],
    ]);
  });

  it('without lines, the header tax is the one tax line; no tax, no tax line', () => {
    expect(toDetails({ ...invoice(), lines: [] }).taxes.map((t) => [t.code, t.ratePercent, amounts(t.amount)])).toEqual([[null, null, '58.07 AUD']]);
    expect(toDetails({ ...invoice(), lines: [], tax: '0.00' }).taxes).toEqual([]);
  });

  it('reads the KPIs that come with the invoice', () => {
    const { kpis } = toDetails(invoice());
    expect({ ...kpis, outstanding: amounts(kpis.outstanding), paid: amounts(kpis.paid), creditApplied: amounts(kpis.creditApplied) }).toEqual({
      outstanding: '438.82 AUD',
      paid: '200.00 AUD',
      overdue: true,
      lastPaymentDate: '2024-05-12',
      creditApplied: '0.00 AUD',
    });
    const fresh = toDetails({ ...invoice(), kpis: { outstanding: '638.82', overdue: '0.00', last_payment_date: '', payment_applied: '0.00', credit_applied: '0.00' } }).kpis;
    expect([fresh.overdue, fresh.lastPaymentDate]).toEqual([false, null]);
    expect(toDetails({ ...invoice(), kpis: null, due: '', paid: null }).kpis).toEqual({ outstanding: null, paid: null, overdue: null, lastPaymentDate: null, creditApplied: null });
  });

  it.each([
    ['ACTIVE', 'UNPAID', 'ISSUED'],
    ['ACTIVE', 'PARTIALLY_PAID', 'PARTIALLY_PAID'],
    ['ACTIVE', 'Partially Paid', 'PARTIALLY_PAID'],
    ['ACTIVE', 'PAID', 'PAID'],
    ['DRAFT', 'UNPAID', 'DRAFT'],
    ['CANCELLED', 'PAID', 'VOID'],
    ['VOIDED', '', 'VOID'],
    ['VOIDED', 'UNPAID', 'VOID'],
    ['SOMETHING_NEW', null, 'ISSUED'],
  ])('status %s with payment status %s is %s', (status, paymentStatus, expected) => {
    expect(statusOf(status, paymentStatus)).toBe(expected);
  });

  it('overdue: an amount past due, or a flag', () => {
    expect([overdueOf('12.50'), overdueOf('0.00'), overdueOf(''), overdueOf(null), overdueOf(true), overdueOf('false')]).toEqual([true, false, null, null, true, false]);
  });

  it("accepts the seed's example as Exsited's shape, but refuses its placeholder amounts rather than guessing", () => {
    const { body } = JSON.parse(readFileSync(join(FIXTURES, 'response.200.create-invoice.json'), 'utf8'));
    const parsed = exsitedInvoiceEnvelope.safeParse(body);
    expect(parsed.success).toBe(true);
    expect(() => toDetails(parsed.data!.invoice)).toThrow(MoneyParseError);
  });

  it('refuses a currency it cannot tell', () => {
    expect(() => toDetails({ ...invoice(), currency: { name: 'Australian dollars' } })).toThrow(/currency/);
  });
});
