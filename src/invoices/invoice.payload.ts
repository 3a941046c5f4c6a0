import { Field, Int, ObjectType } from 'type-graphql';
import type { UserError } from '../domain/errors';
import { InvoiceErrorCodeEnum } from '../graphql/enums';
import { InvoiceType } from './invoice.type';

@ObjectType('InvoiceUserError', { simpleResolvers: true, description: 'An expected reason why createInvoice created nothing: bad input, a provider\'s refusal, or a provider outage.' })
export class InvoiceUserErrorType {
  @Field(() => [String], { nullable: true, description: 'Path to the input field at fault, from the input\'s root (e.g. ["salla", "url"]); null when no one field is.' })
  field!: string[] | null;

  @Field(() => InvoiceErrorCodeEnum, { description: 'What went wrong, for programs.' })
  code!: string;

  @Field({ description: 'What went wrong, in English, for people.' })
  message!: string;

  @Field(() => String, { nullable: true, description: 'The provider\'s own error code (with the field it named), verbatim.' })
  providerCode?: string | null;

  @Field(() => String, { nullable: true, description: 'The provider\'s own message, verbatim.' })
  providerMessage?: string | null;

  @Field(() => Int, { nullable: true, description: 'Seconds the provider asked us to wait before retrying (rate limits).' })
  retryAfterSeconds?: number | null;
}

@ObjectType('CreateInvoicePayload', { simpleResolvers: true, description: 'The outcome of createInvoice: the invoices created, or why none was.' })
export class CreateInvoicePayload {
  @Field(() => InvoiceType, { nullable: true, description: 'The first (usually the only) invoice created; null when userErrors is not empty.' })
  invoice!: InvoiceType | null;

  @Field(() => [InvoiceType], { description: 'Every invoice this request created (one provider call can bill several).' })
  invoices!: InvoiceType[];

  @Field(() => [InvoiceUserErrorType], { description: 'Expected failures; empty on success.' })
  userErrors!: UserError[];
}
