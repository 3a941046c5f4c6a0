import { Directive, Field, InputType } from 'type-graphql';
import { userError, type UserError } from '../../domain/errors';
import { textProblem } from '../../domain/text';
import type { ProviderCode } from '../../domain/invoice';
import type { CreateInvoiceCommand } from '../invoice.service';
import { CommerceInvoiceInput } from './commerce-invoice.input';
import { ExsitedInvoiceInput } from './exsited-invoice.input';
import { SalesforceInvoiceInput } from './salesforce-invoice.input';
import { SallaInvoiceInput } from './salla-invoice.input';
import { ZuoraInvoiceInput } from './zuora-invoice.input';

const MAX_IDEMPOTENCY_KEY = 255;

/** What every branch's toDomain returns. */
type Mapped = { input: unknown; recorded: Record<string, unknown> } | { userErrors: UserError[] };

/** The input's branches, in the order the schema lists them. */
const BRANCHES = ['salesforce', 'salla', 'zuora', 'exsited', 'commerce'] as const;

/**
 * One branch per provider; exactly one must be given. The SDL says `@oneOf`, so routers that implement it refuse a
 * request naming zero or two; toCommand checks it again as a userError for those that do not (see
 * federated-schema.ts). Adding a provider adds one branch here, in BRANCHES and one case in toCommand.
 */
@Directive('@oneOf')
@InputType('CreateInvoiceInput', { description: 'Exactly one provider\'s branch, carrying that provider\'s own options.' })
export class CreateInvoiceInput {
  @Field(() => SalesforceInvoiceInput, { nullable: true, description: 'Create the invoice of a fulfillment order at Salesforce Order Management.' })
  salesforce?: SalesforceInvoiceInput | null;

  @Field(() => SallaInvoiceInput, { nullable: true, description: 'Create the invoice at Salla.' })
  salla?: SallaInvoiceInput | null;

  @Field(() => ZuoraInvoiceInput, { nullable: true, description: 'Create fulfillments at Zuora and bill them: one call can create several invoices and credit memos.' })
  zuora?: ZuoraInvoiceInput | null;

  @Field(() => ExsitedInvoiceInput, { nullable: true, description: 'Create the invoice at Exsited.' })
  exsited?: ExsitedInvoiceInput | null;

  @Field(() => CommerceInvoiceInput, { nullable: true, description: 'Create the invoice at the Commerce API.' })
  commerce?: CommerceInvoiceInput | null;

  /** The service command for the chosen branch, or the userErrors of input that cannot be decoded. */
  toCommand(tenantId: string, idempotencyKey: string | null | undefined): CreateInvoiceCommand | { userErrors: UserError[] } {
    const keyProblem = idempotencyKey == null ? null : idempotencyKey.length === 0 ? 'is empty' : textProblem(idempotencyKey, { maxLength: MAX_IDEMPOTENCY_KEY });
    if (keyProblem) {
      return { userErrors: [userError('INVALID_INPUT', `idempotencyKey ${keyProblem}: it must be 1 to ${MAX_IDEMPOTENCY_KEY} characters of text without control characters.`, ['idempotencyKey'])] };
    }
    const named = BRANCHES.filter((b) => this[b] !== undefined);
    if (named.length !== 1 || this[named[0]!] === null) {
      const got = named.length === 0 ? 'it names none' : named.length === 1 ? `${named[0]} is null` : `it names ${named.join(' and ')}`;
      return { userErrors: [userError('INVALID_INPUT', `Name exactly one provider in input: one of ${BRANCHES.join(', ')} (${got}).`, ['input'])] };
    }
    const command = (provider: ProviderCode, branch: string, mapped: Mapped): CreateInvoiceCommand | { userErrors: UserError[] } =>
      'userErrors' in mapped ? mapped : { tenantId, provider, branch, input: mapped.input, recordedInput: mapped.recorded, idempotencyKey };
    if (this.salesforce) return command('SALESFORCE', 'salesforce', this.salesforce.toDomain());
    if (this.salla) return command('SALLA', 'salla', this.salla.toDomain());
    if (this.zuora) return command('ZUORA', 'zuora', this.zuora.toDomain());
    if (this.exsited) return command('EXSITED', 'exsited', this.exsited.toDomain());
    if (this.commerce) return command('COMMERCE', 'commerce', this.commerce.toDomain());
    throw new Error(`createInvoice branch ${named[0]} has no case in toCommand`);
  }
}
