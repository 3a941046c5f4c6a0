import { Directive, Field, ObjectType } from 'type-graphql';
import { formatMoneyAmount, type Money } from '../domain/money';
import { DecimalScalar } from './scalars';

@Directive('@cacheControl(inheritMaxAge: true)')
@ObjectType('Money', { simpleResolvers: true, description: 'An exact amount of money in one currency.' })
export class MoneyType {
  @Field(() => DecimalScalar, { description: 'The amount as an exact decimal string, with at least the currency\'s minor digits ("90.50").' })
  amount!: string;

  @Field({ description: 'ISO 4217 currency code, such as SAR.' })
  currencyCode!: string;
}

export function presentMoney(m: Money): MoneyType;
export function presentMoney(m: Money | null): MoneyType | null;
export function presentMoney(m: Money | null): MoneyType | null {
  return m ? { amount: formatMoneyAmount(m), currencyCode: m.currencyCode } : null;
}
