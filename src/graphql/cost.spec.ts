import 'reflect-metadata';
import { Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { CostEstimator } from './cost';
import { buildFederatedSchema } from './federated-schema';

/** The estimates of Apollo Router's static_estimated strategy, worked out by hand for this schema's @cost/@listSize. */
describe('CostEstimator', () => {
  let estimator: CostEstimator;
  beforeAll(async () => {
    estimator = new CostEstimator((await buildFederatedSchema()).schema, { defaultListSize: 10 });
  });
  const estimate = (query: string, variables: Record<string, unknown> = {}) => {
    const doc = parse(query);
    const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    const fragments = new Map(doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
    return estimator.estimate(op, fragments, variables);
  };
  const orders = (n: number) => Array.from({ length: n }, (_, i) => ({ __typename: 'Order', id: String(i) }));

  it('objects cost 1, scalars 0, a list its assumed size times its items, @cost replaces the weight', () => {
    // invoice 1 + total 1 + lines (20 × (10 + total 1)) + kpis (10 + paid 1)
    expect(estimate('{ invoice(id: "x") { id total { amount } lines { quantity total { amount } } kpis { paid { amount } } } }').cost).toBe(1 + 1 + 20 * 11 + 11);
  });

  it('a list without @listSize is assumed 10 long', () => {
    // lines: 20 × (10 + taxes (10 × (1 + amount 1)))
    expect(estimate('{ invoice(id: "x") { lines { taxes { amount { amount } } } } }').cost).toBe(1 + 20 * (10 + 10 * 2));
  });

  it('_entities counts the representations sent, literal or variable, and they add up across aliases and fragments', () => {
    const q = 'query ($r: [_Any!]!) { a: _entities(representations: $r) { ...O } b: _entities(representations: $r) { ...O } } fragment O on _Entity { ... on Order { invoices { id } } }';
    // Each: 7 × (Order 1 + invoices 3 × 1)
    expect(estimate(q, { r: orders(7) })).toEqual({ cost: 2 * 7 * 4, representations: 14 });
    expect(estimate('{ _entities(representations: [{ __typename: "Order", id: "1" }, { __typename: "Order", id: "2" }]) { __typename } }')).toEqual({ cost: 2, representations: 2 });
  });

  it('a mutation costs 10 more, and its input is priced as sent: 1 per input object', () => {
    const f = { orderLineItemId: 'x', quantity: '1', fulfillmentDate: '2024-01-01' };
    const q = 'mutation ($i: CreateInvoiceInput!) { createInvoice(input: $i) { userErrors { code } } }';
    // 10 + createInvoice (@cost 100 + userErrors 10 × 1) + input (1 + zuora (1 + n fulfillments × 1))
    expect(estimate(q, { i: { zuora: { fulfillments: [f, f, f] } } }).cost).toBe(10 + 100 + 10 + 1 + 1 + 3);
    expect(estimate(q, { i: { zuora: { fulfillments: Array.from({ length: 500 }, () => f) } } }).cost).toBe(10 + 100 + 10 + 1 + 1 + 500);
    expect(estimate('mutation { createInvoice(input: { commerce: { orderId: "x" } }) { userErrors { code } } }').cost).toBe(10 + 100 + 10 + 2);
  });

  it('honours @skip and @include with literals and variables', () => {
    const q = 'query ($no: Boolean!) { invoice(id: "x") { lines @include(if: $no) { quantity } kpis @skip(if: true) { overdue } } }';
    expect(estimate(q, { no: false }).cost).toBe(1);
    expect(estimate(q, { no: true }).cost).toBe(1 + 20 * 10);
  });

  it('scores a fragment spread many times once: a fragment fan-out costs a walk of the document, not of its expansion', () => {
    let doc = 'fragment F0 on Invoice { id }';
    for (let i = 1; i <= 40; i++) doc += ` fragment F${i} on Invoice { ...F${i - 1} ...F${i - 1} }`;
    const started = performance.now();
    const { cost } = estimate(`{ invoice(id: "x") { ...F40 } } ${doc}`);
    expect(performance.now() - started).toBeLessThan(100);
    expect(cost).toBe(1);
  });

  it("a connection's slicing argument sizes its edges and nodes (sizedFields), 20 when none is given", () => {
    // invoices 1 + edges n × (edge 1 + node 1 + total 1) + nodes n × (1 + kpis (10 + paid 1)) + pageInfo 1
    const q = 'query ($n: Int) { invoices(first: $n) { edges { cursor node { id total { amount } } } nodes { kpis { paid { amount } } } pageInfo { endCursor } totalCount } }';
    expect(estimate(q, { n: 100 }).cost).toBe(1 + 100 * 3 + 100 * 12 + 1);
    expect(estimate(q, { n: 5 }).cost).toBe(1 + 5 * 3 + 5 * 12 + 1);
    expect(estimate(q).cost).toBe(1 + 20 * 3 + 20 * 12 + 1);
    expect(estimate('{ invoices(last: 40) { nodes { id } } }').cost).toBe(1 + 40);
    // The same fragment under two page sizes is priced for each.
    expect(estimate('{ a: invoices(first: 2) { ...P } b: invoices(first: 30) { ...P } } fragment P on InvoiceConnection { nodes { total { amount } } }').cost).toBe(1 + 2 * 2 + 1 + 30 * 2);
    // A negative size is refused by the resolver; here it must not make the rest of the operation cheaper.
    expect(estimate('{ invoices(first: -1000) { nodes { id } } invoice(id: "x") { id } }').cost).toBe(1 + 0 + 1);
  });

  it('survives a hostile variable where a list size is expected', () => {
    expect(estimate('query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }', { r: 'not a list' }).representations).toBe(1);
    expect(estimate('query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }', {}).representations).toBe(0);
  });
});
