import { Directive, Field, InputType } from 'type-graphql';
import { userError, type UserError } from '../../domain/errors';
import type { CreateInvoiceCommand } from '../invoice.service';
import { SallaInvoiceInput } from './salla-invoice.input';

const MAX_IDEMPOTENCY_KEY = 255;

/**
 * One branch per provider; exactly one must be given (`@oneOf`, enforced by GraphQL validation before any
 * resolver runs). Adding a provider adds one branch here and one case in toCommand.
 */
@Directive('@oneOf')
@InputType('CreateInvoiceInput', { description: 'Exactly one provider\'s branch, carrying that provider\'s own options.' })
export class CreateInvoiceInput {
  @Field(() => SallaInvoiceInput, { nullable: true, description: 'Create the invoice at Salla.' })
  salla?: SallaInvoiceInput | null;

  /** The service command for the chosen branch, or the userErrors of input that cannot be decoded. */
  toCommand(tenantId: string, idempotencyKey: string | null | undefined): CreateInvoiceCommand | { userErrors: UserError[] } {
    if (idempotencyKey != null && (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY)) {
      return { userErrors: [userError('INVALID_INPUT', `idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY} characters.`, ['idempotencyKey'])] };
    }
    if (this.salla) {
      const mapped = this.salla.toDomain();
      if ('userErrors' in mapped) return mapped;
      return { tenantId, provider: 'SALLA', branch: 'salla', input: mapped.input, recordedInput: mapped.recorded, idempotencyKey };
    }
    // Unreachable through GraphQL (oneOf), kept for direct callers.
    return { userErrors: [userError('INVALID_INPUT', 'Give exactly one provider branch.', null)] };
  }
}
