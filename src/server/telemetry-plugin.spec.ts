import { parse, type OperationDefinitionNode } from 'graphql';
import { operationLabel, userErrorCodes } from './telemetry-plugin';

const op = (doc: string) => parse(doc).definitions[0] as OperationDefinitionNode;

describe('operationLabel (bounded by the schema: the type and first root field, never the client\u2019s name)', () => {
  it.each([
    ['mutation AnyNameAtAll { createInvoice(input: {}) { invoice { id } } }', 'mutation createInvoice'],
    ['query { a: _entities(representations: []) { __typename } }', 'query _entities'],
    ['{ invoices { edges { cursor } } }', 'query invoices'],
    ['query { ...F } fragment F on Query { invoices { edges { cursor } } }', 'query (fragment)'],
  ])('%s → %s', (doc, label) => expect(operationLabel(op(doc))).toBe(label));
  it('says invalid for a request that never resolved an operation', () => expect(operationLabel(undefined)).toBe('invalid'));
});

describe('userErrorCodes', () => {
  it('collects the codes of every payload, once each, sorted', () => {
    expect(userErrorCodes({ a: { userErrors: [{ code: 'ORDER_NOT_FOUND' }, { code: 'ALREADY_INVOICED' }] }, b: { userErrors: [{ code: 'ALREADY_INVOICED' }] } })).toEqual(['ALREADY_INVOICED', 'ORDER_NOT_FOUND']);
  });
  it.each([[null], [undefined], ['x'], [{ a: null }], [{ a: { userErrors: 'no' } }], [{ a: { userErrors: [null, { code: 5 }] } }], [{ a: [] }]])('finds none in %j', (data) => {
    expect(userErrorCodes(data)).toEqual([]);
  });
});
