import { Decimal } from '../../domain/money';
import type { ZuoraCreateInput, ZuoraFulfillment } from './zuora.input';
import { validateZuoraInput } from './zuora.rules';

const fulfillment = (over: Partial<ZuoraFulfillment> = {}): ZuoraFulfillment => ({
  orderLineItemId: '4028828c82819b740182821bb23e15c4',
  quantity: new Decimal(5),
  fulfillmentDate: '2024-05-01',
  billTargetDate: null,
  fulfillmentType: 'Delivery',
  state: 'SentToBilling',
  externalId: null,
  trackingNumber: null,
  carrier: null,
  description: null,
  ...over,
});
const input = (fulfillments: ZuoraFulfillment[], options: Partial<ZuoraCreateInput['processingOptions']> = {}): ZuoraCreateInput => ({
  fulfillments,
  processingOptions: { runBilling: true, collectPayment: false, documentDate: null, targetDate: null, ...options },
});
const fields = (i: ZuoraCreateInput) => validateZuoraInput(i).map((e) => e.field?.join('.'));

describe('validateZuoraInput: what Zuora would refuse without a lookup, before any call', () => {
  it("accepts the seed's request: two deliveries of one line item, billed and paid", () => {
    expect(validateZuoraInput(input([fulfillment(), fulfillment()], { collectPayment: true, documentDate: '2022-01-01', targetDate: '2022-01-01' }))).toEqual([]);
  });

  it('accepts returns, other states next to a billed one, and decimal quantities', () => {
    expect(fields(input([fulfillment({ fulfillmentType: 'Return' }), fulfillment({ state: 'Booked', quantity: new Decimal('2.5') })]))).toEqual([]);
  });

  it('points each bad fulfillment field at its index', () => {
    const errs = fields(input([fulfillment(), fulfillment({ orderLineItemId: 'O-00000101', quantity: new Decimal(0) }), fulfillment({ quantity: new Decimal('-1') })]));
    expect(errs).toEqual(['fulfillments.1.orderLineItemId', 'fulfillments.1.quantity', 'fulfillments.2.quantity']);
  });

  it('refuses a quantity a JSON number cannot carry exactly', () => {
    expect(fields(input([fulfillment({ quantity: new Decimal('1.234567890123456') })]))).toEqual(['fulfillments.0.quantity']);
    expect(fields(input([fulfillment({ quantity: new Decimal('123456789.012345') })]))).toEqual([]);
  });

  it('needs something to bill: runBilling, and a fulfillment sent to billing', () => {
    expect(validateZuoraInput(input([fulfillment()], { runBilling: false }))).toEqual([expect.objectContaining({ code: 'INVALID_INPUT', field: ['processingOptions', 'runBilling'] })]);
    expect(fields(input([fulfillment({ state: 'Booked' }), fulfillment({ state: 'Executing' })]))).toEqual(['fulfillments']);
    expect(fields(input([]))).toEqual(['fulfillments']);
  });

  it('refuses a fulfillment the target date would leave unbilled', () => {
    expect(fields(input([fulfillment({ billTargetDate: '2024-06-01' })], { targetDate: '2024-05-31' }))).toEqual(['fulfillments.0.billTargetDate']);
    expect(fields(input([fulfillment({ billTargetDate: '2024-05-31' })], { targetDate: '2024-05-31' }))).toEqual([]);
    // Not billed anyway: its date does not matter.
    expect(fields(input([fulfillment(), fulfillment({ state: 'Booked', billTargetDate: '2024-06-01' })], { targetDate: '2024-05-31' }))).toEqual([]);
  });
});
