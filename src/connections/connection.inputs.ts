import { Directive, Field, InputType } from 'type-graphql';
import { userError, type UserError } from '../domain/errors';
import type { ProviderCode } from '../domain/invoice';
import { textProblem } from '../domain/text';
import { DateTimeScalar } from '../graphql/scalars';
import { baseUrlProblem, type ConnectionCredentials } from './credentials';

/** Tokens and secrets: opaque to us, bounded, single-line. */
const SECRET = { maxLength: 4096 } as const;
const ID_TEXT = { maxLength: 512 } as const;

@InputType('SallaConnectionInput', {
  description:
    "A Salla store's tokens, as Salla's app.store.authorize event delivers them to the app (or a fixed access token); or, with storeId alone, the store this tenant will install the app on: its tokens are then taken from that event at POST /webhooks/salla.",
})
export class SallaConnectionInput {
  @Field(() => String, { nullable: true, description: "The store's access token; leave it out (with storeId) to wait for the store's app.store.authorize." })
  accessToken?: string | null;

  @Field(() => String, { nullable: true, description: "The store's id at Salla (the event's `merchant`): whose app.store.authorize events connect this tenant." })
  storeId?: string | null;

  @Field(() => String, { nullable: true, description: "The store's refresh token: access tokens are then renewed with the app's client (SALLA_CLIENT_ID) and refresh tokens rotated, once across replicas." })
  refreshToken?: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the access token expires (the event\'s `expires`).' })
  expiresAt?: Date | null;

  @Field(() => String, { nullable: true, description: "The Merchant API's base URL; default the deployment's (SALLA_BASE_URL, or its sandbox)." })
  baseUrl?: string | null;
}

@InputType('ZuoraConnectionInput', { description: "An OAuth client of the tenant's Zuora tenant (Settings > Administration > Manage Users > OAuth Clients)." })
export class ZuoraConnectionInput {
  @Field({ description: "The OAuth client's id." })
  clientId!: string;

  @Field({ description: "The OAuth client's secret: stored encrypted, never returned." })
  clientSecret!: string;

  @Field(() => String, { nullable: true, description: "The tenant's REST endpoint (e.g. https://rest.zuora.com); default the deployment's." })
  baseUrl?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The HMAC secret key (16 to 256 characters) of the tenant's callout templates that point at POST /webhooks/zuora with the header X-Zuora-Tenant-Id naming this Zuora tenant: its callouts are then verified with it and applied for this tenant alone. Stored encrypted, never returned; without it the tenant's callouts are refused.",
  })
  webhookSecret?: string | null;
}

@InputType('SalesforceConnectionInput', { description: "A connected app of the tenant's Salesforce org with the client credentials flow enabled." })
export class SalesforceConnectionInput {
  @Field({ description: "The OAuth client's id." })
  clientId!: string;

  @Field({ description: "The OAuth client's secret: stored encrypted, never returned." })
  clientSecret!: string;

  @Field(() => String, { nullable: true, description: "The org's My Domain URL (https://<domain>.my.salesforce.com); default the deployment's." })
  instanceUrl?: string | null;
}

@InputType('ExsitedConnectionInput', { description: "An OAuth client of the tenant's Exsited account." })
export class ExsitedConnectionInput {
  @Field({ description: "The OAuth client's id." })
  clientId!: string;

  @Field({ description: "The OAuth client's secret: stored encrypted, never returned." })
  clientSecret!: string;

  @Field(() => String, { nullable: true, description: 'The redirect URI the Exsited app was registered with, if any.' })
  redirectUri?: string | null;

  @Field(() => String, { nullable: true, description: "The account's API origin; default the deployment's." })
  baseUrl?: string | null;
}

@InputType('CommerceConnectionInput', { description: "An access token of the tenant's Commerce API." })
export class CommerceConnectionInput {
  @Field({ description: 'The access token, sent as the `accessToken` header.' })
  accessToken!: string;

  @Field({ description: 'The ISO 4217 currency its amounts are in (they carry none).' })
  currency!: string;

  @Field(() => String, { nullable: true, description: "The API's base URL; default the deployment's." })
  baseUrl?: string | null;
}

const BRANCHES = ['salesforce', 'salla', 'zuora', 'exsited', 'commerce'] as const;

/** Where a connection input's base URL defaults to, and whether http on loopback is allowed (sandboxes). */
export interface ConnectionDefaults {
  baseUrls: Partial<Record<ProviderCode, string>>;
  allowLoopbackHttp: boolean;
}

@Directive('@oneOf')
@InputType('ConnectProviderInput', { description: "Exactly one provider's branch, with what that provider needs to act for the tenant." })
export class ConnectProviderInput {
  @Field(() => SalesforceConnectionInput, { nullable: true, description: "Connect the tenant's Salesforce org." })
  salesforce?: SalesforceConnectionInput | null;

  @Field(() => SallaConnectionInput, { nullable: true, description: "Connect the tenant's Salla store." })
  salla?: SallaConnectionInput | null;

  @Field(() => ZuoraConnectionInput, { nullable: true, description: "Connect the tenant's Zuora tenant." })
  zuora?: ZuoraConnectionInput | null;

  @Field(() => ExsitedConnectionInput, { nullable: true, description: "Connect the tenant's Exsited account." })
  exsited?: ExsitedConnectionInput | null;

  @Field(() => CommerceConnectionInput, { nullable: true, description: "Connect the tenant's Commerce API." })
  commerce?: CommerceConnectionInput | null;

  /** The credentials of the one branch, checked (lengths, control characters, URLs), or why they cannot be used. Pure. */
  toCredentials(defaults: ConnectionDefaults): { credentials: ConnectionCredentials; branch: string } | { awaiting: { provider: ProviderCode; accountId: string }; branch: string } | { userErrors: UserError[] } {
    const named = BRANCHES.filter((b) => this[b] !== undefined && this[b] !== null);
    if (named.length !== 1) {
      return { userErrors: [userError('INVALID_INPUT', `Name exactly one provider in input: one of ${BRANCHES.join(', ')} (${named.length === 0 ? 'it names none' : `it names ${named.join(' and ')}`}).`, ['input'])] };
    }
    const branch = named[0]!;
    const errors: UserError[] = [];
    const text = (field: string, value: string | null | undefined, rule: { maxLength: number }, required = true): string | undefined => {
      if (value === null || value === undefined) {
        if (required) errors.push(userError('INVALID_INPUT', `${field} is required.`, ['input', branch, field]));
        return undefined;
      }
      const problem = value.length === 0 ? 'is empty' : textProblem(value, rule);
      if (problem) errors.push(userError('INVALID_INPUT', `${field} ${problem}.`, ['input', branch, field]));
      return value;
    };
    const url = (field: string, value: string | null | undefined, code: ProviderCode): string => {
      const given = value ?? defaults.baseUrls[code];
      if (!given) {
        errors.push(userError('INVALID_INPUT', `${field} is required: this deployment has no ${code} base URL of its own.`, ['input', branch, field]));
        return '';
      }
      const problem = textProblem(given, { maxLength: 2048 }) ?? baseUrlProblem(given, defaults.allowLoopbackHttp);
      if (problem) errors.push(userError('INVALID_INPUT', `${field} ${problem}.`, ['input', branch, field]));
      return given.replace(/\/+$/, '');
    };
    let credentials: ConnectionCredentials;
    if (this.salla && (this.salla.accessToken === null || this.salla.accessToken === undefined)) {
      const storeId = this.salla.storeId;
      if (storeId === null || storeId === undefined || !/^[1-9]\d{0,17}$/.test(storeId)) {
        return { userErrors: [userError('INVALID_INPUT', 'Give accessToken, or storeId alone (a Salla store id: digits) to wait for its app.store.authorize.', ['input', branch, storeId == null ? 'accessToken' : 'storeId'])] };
      }
      if (this.salla.refreshToken != null) return { userErrors: [userError('INVALID_INPUT', 'refreshToken goes with accessToken.', ['input', branch, 'refreshToken'])] };
      return { awaiting: { provider: 'SALLA', accountId: storeId }, branch };
    } else if (this.salla) {
      const s = this.salla;
      if (s.storeId != null && !/^[1-9]\d{0,17}$/.test(s.storeId)) errors.push(userError('INVALID_INPUT', 'storeId must be a Salla store id (digits).', ['input', branch, 'storeId']));
      credentials = {
        provider: 'SALLA',
        baseUrl: url('baseUrl', s.baseUrl, 'SALLA'),
        accessToken: text('accessToken', s.accessToken, SECRET)!,
        ...(s.refreshToken != null ? { refreshToken: text('refreshToken', s.refreshToken, SECRET)! } : {}),
        ...(s.expiresAt ? { expiresAt: s.expiresAt.toISOString() } : {}),
      };
    } else if (this.zuora) {
      const z = this.zuora;
      const webhookSecret = text('webhookSecret', z.webhookSecret, { maxLength: 256 }, false);
      if (webhookSecret !== undefined && webhookSecret.length < 16) errors.push(userError('INVALID_INPUT', 'webhookSecret must be at least 16 characters.', ['input', branch, 'webhookSecret']));
      credentials = {
        provider: 'ZUORA',
        baseUrl: url('baseUrl', z.baseUrl, 'ZUORA'),
        clientId: text('clientId', z.clientId, ID_TEXT)!,
        clientSecret: text('clientSecret', z.clientSecret, SECRET)!,
        ...(webhookSecret !== undefined ? { webhookSecret } : {}),
      };
    } else if (this.salesforce) {
      const f = this.salesforce;
      credentials = { provider: 'SALESFORCE', instanceUrl: url('instanceUrl', f.instanceUrl, 'SALESFORCE'), clientId: text('clientId', f.clientId, ID_TEXT)!, clientSecret: text('clientSecret', f.clientSecret, SECRET)! };
    } else if (this.exsited) {
      const x = this.exsited;
      const redirectUri = text('redirectUri', x.redirectUri, { maxLength: 2048 }, false);
      credentials = { provider: 'EXSITED', baseUrl: url('baseUrl', x.baseUrl, 'EXSITED'), clientId: text('clientId', x.clientId, ID_TEXT)!, clientSecret: text('clientSecret', x.clientSecret, SECRET)!, ...(redirectUri ? { redirectUri } : {}) };
    } else {
      const c = this.commerce!;
      const currency = c.currency.trim().toUpperCase();
      if (!/^[A-Z]{3}$/.test(currency)) errors.push(userError('INVALID_INPUT', 'currency must be an ISO 4217 code of three letters.', ['input', branch, 'currency']));
      credentials = { provider: 'COMMERCE', baseUrl: url('baseUrl', c.baseUrl, 'COMMERCE'), accessToken: text('accessToken', c.accessToken, SECRET)!, currency };
    }
    return errors.length > 0 ? { userErrors: errors } : { credentials, branch };
  }
}
