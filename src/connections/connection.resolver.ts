import { Arg, Ctx, Directive, Field, Mutation, ObjectType, Query, Resolver, registerEnumType } from 'type-graphql';
import type { UserError } from '../domain/errors';
import type { ProviderCode } from '../domain/invoice';
import { InvoiceProviderEnum } from '../graphql/enums';
import { DateTimeScalar } from '../graphql/scalars';
import { InvoiceUserErrorType } from '../invoices/invoice.payload';
import type { Context } from '../server/context';
import { ConnectProviderInput, type ConnectionDefaults } from './connection.inputs';
import type { ConnectionView, TenantProviders } from './tenant-providers';

/** What the connection resolvers use, per request. */
export interface ConnectionsContext extends ConnectionDefaults {
  tenants: TenantProviders;
}

export enum ConnectionStatusEnum {
  CONNECTED = 'CONNECTED',
  NEEDS_REAUTHORIZATION = 'NEEDS_REAUTHORIZATION',
  DISCONNECTED = 'DISCONNECTED',
}
registerEnumType(ConnectionStatusEnum, {
  name: 'ConnectionStatus',
  description: 'Whether a provider connection acts for the tenant.',
  valuesConfig: {
    CONNECTED: { description: 'Creates, reads, refreshes and sync use it.' },
    NEEDS_REAUTHORIZATION: { description: 'The provider refused its credentials (revoked, uninstalled, expired): nothing uses it until connectProvider gives new ones.' },
    DISCONNECTED: { description: 'disconnectProvider erased its credentials; the invoices made through it stay in the ledger.' },
  },
});

export enum ConnectionSourceEnum {
  TENANT = 'TENANT',
  DEPLOYMENT = 'DEPLOYMENT',
}
registerEnumType(ConnectionSourceEnum, {
  name: 'ConnectionSource',
  description: 'Who made a connection.',
  valuesConfig: {
    TENANT: { description: 'The tenant, with connectProvider.' },
    DEPLOYMENT: { description: "The deployment's operator (the environment's account): the default of a single-tenant deployment." },
  },
});

@ObjectType('ProviderConnection', { simpleResolvers: true, description: "A tenant's connection to one provider account. Never carries its credentials." })
export class ProviderConnectionType {
  @Field(() => InvoiceProviderEnum, { description: 'The provider the account is at.' })
  provider!: ProviderCode;

  @Field(() => ConnectionStatusEnum, { description: 'Whether it acts for the tenant now.' })
  status!: ConnectionStatusEnum;

  @Field(() => ConnectionSourceEnum, { description: "Who made it: the tenant (connectProvider), or the deployment's operator." })
  source!: ConnectionSourceEnum;

  @Field(() => String, { nullable: true, description: "The account's id at the provider (a Salla store id, a Zuora tenant id, a Salesforce org id), where it tells." })
  accountId!: string | null;

  @Field(() => String, { nullable: true, description: "The account's name at the provider, where it tells." })
  accountName!: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When connectProvider stored it.' })
  connectedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When its tokens run out unless renewed, where the provider says (Salla).' })
  expiresAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'Why the provider last refused it.' })
  lastError!: string | null;
}

@ObjectType('ConnectProviderPayload', { simpleResolvers: true, description: 'The outcome of connectProvider: the stored connection, or why nothing was stored.' })
export class ConnectProviderPayload {
  @Field(() => ProviderConnectionType, { nullable: true, description: 'The stored connection; null when userErrors is not empty.' })
  connection!: ConnectionView | null;

  @Field(() => [InvoiceUserErrorType], { description: 'Why nothing was stored: bad input, or the provider refused the credentials (CREDENTIALS_REFUSED).' })
  userErrors!: UserError[];
}

@ObjectType('DisconnectProviderPayload', { simpleResolvers: true, description: 'The outcome of disconnectProvider.' })
export class DisconnectProviderPayload {
  @Field(() => ProviderConnectionType, { nullable: true, description: 'The connection, now DISCONNECTED; null when the tenant had none.' })
  connection!: ConnectionView | null;

  @Field(() => [InvoiceUserErrorType], { description: 'Expected failures; empty on success (disconnecting twice is not one).' })
  userErrors!: UserError[];
}

@Resolver()
export class ConnectionResolver {
  @Query(() => [ProviderConnectionType], {
    description: "The caller's tenant's provider connections, and the deployment's accounts that act for it. Needs the connections:read scope. Costs one ledger read.",
  })
  async providerConnections(@Ctx() ctx: Context): Promise<ConnectionView[]> {
    return ctx.connections.tenants.list(ctx.tenantId);
  }

  @Directive('@cost(weight: 100)')
  @Mutation(() => ConnectProviderPayload, {
    description:
      "Connects the caller's tenant to its own account at one provider: the credentials are checked with the provider (one or two calls) and stored encrypted, replacing any earlier connection to that provider. Needs the connections:write scope.",
  })
  async connectProvider(@Arg('input', () => ConnectProviderInput, { description: "One provider's branch, with the tenant's credentials for it." }) input: ConnectProviderInput, @Ctx() ctx: Context): Promise<ConnectProviderPayload> {
    const checked = input.toCredentials(ctx.connections);
    if ('userErrors' in checked) return { connection: null, userErrors: checked.userErrors };
    if ('awaiting' in checked) {
      const awaiting = await ctx.connections.tenants.expectAccount(ctx.tenantId, checked.awaiting.provider, checked.awaiting.accountId, ['input', checked.branch]);
      return 'userErrors' in awaiting ? { connection: null, userErrors: awaiting.userErrors } : { connection: awaiting.connection, userErrors: [] };
    }
    const outcome = await ctx.connections.tenants.connect(ctx.tenantId, checked.credentials, ['input', checked.branch]);
    return 'userErrors' in outcome ? { connection: null, userErrors: outcome.userErrors } : { connection: outcome.connection, userErrors: [] };
  }

  @Mutation(() => DisconnectProviderPayload, {
    description: "Erases the caller's tenant's credentials for the provider; its invoices stay readable from the ledger. Needs the connections:write scope.",
  })
  async disconnectProvider(@Arg('provider', () => InvoiceProviderEnum, { description: 'The provider whose connection to end.' }) provider: ProviderCode, @Ctx() ctx: Context): Promise<DisconnectProviderPayload> {
    return { connection: await ctx.connections.tenants.disconnect(ctx.tenantId, provider), userErrors: [] };
  }
}
