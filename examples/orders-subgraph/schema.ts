/** The development orders subgraph's SDL: it owns Order, which the invoicing subgraph extends with `invoices`. */
export const ORDERS_SDL = /* GraphQL */ `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])

"""An order at one of the billing providers' sandboxes."""
type Order @key(fields: "id") {
  """The order's id at its provider (what Invoice.order.id holds)."""
  id: ID!
  """The order number shown to customers."""
  number: String!
  """The billing provider that holds the order (SALLA, SALESFORCE, ZUORA, EXSITED, COMMERCE)."""
  provider: String!
  """The order's total including tax, as an exact decimal string."""
  total: String!
  """ISO 4217 currency of the total."""
  currencyCode: String!
  """When the order was placed (ISO 8601)."""
  createdAt: String!
}

type Query {
  """One order by id."""
  order(id: ID!): Order
  """
  A page of orders, newest first; optionally of one provider. Items are nullable on purpose: an order's fields
  come from several subgraphs, and when one of them fails for one order (its provider is down), only that order
  is null and the rest of the page still answers.
  """
  orders(provider: String, first: Int = 50, offset: Int = 0): [Order]!
}
`;
