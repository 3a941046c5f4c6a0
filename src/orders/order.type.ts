import { Directive, Field, ID, ObjectType } from 'type-graphql';

/**
 * The order entity, owned by the orders subgraph. This subgraph only knows its key and contributes
 * `invoices` (OrderResolver).
 */
@Directive('@key(fields: "id")')
@Directive('@cacheControl(maxAge: 86400, scope: PRIVATE)')
@ObjectType('Order', { simpleResolvers: true, description: 'An order, owned by the orders subgraph; this subgraph adds its invoices.' })
export class OrderType {
  @Field(() => ID, {
    description:
      'The order\'s id at its provider: the Salla, Exsited or Commerce order id, the Salesforce OrderSummary id, or the Zuora order number.',
  })
  id!: string;
}

/** The root Order's field resolvers take, as it is: an interface, so that type-graphql does not copy it into a new OrderType (see InvoiceRoot). */
export interface OrderRoot extends OrderType {}
