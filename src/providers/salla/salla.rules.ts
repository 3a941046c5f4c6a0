import { userError, type UserError } from '../../domain/errors';
import { textProblem } from '../../domain/text';
import type { SallaCreateInput } from './salla.input';

/** Salla's PDFs are uploaded in one multipart request; keep them well under its upload limit. */
export const SALLA_MAX_PDF_BYTES = 10 * 1024 * 1024;

/**
 * Salla's order ids are positive integers of 9 or 10 digits in every documented example. The id goes out as its own
 * digits (a JSON integer), so a leading zero would be invalid JSON, and "0123" would name the same order as "123"
 * under another ledger key. 15 digits leave ample room above the documented ids while staying below 2^53, so that the
 * `order_id` Salla answers with, a JSON number, still reads back exactly.
 */
const SALLA_ORDER_ID = /^[1-9]\d{0,14}$/;

/**
 * Assumption: Salla publishes no lengths for invoice_number and url; these bound what we send (a number printed on
 * an invoice, a link as browsers and servers commonly take it).
 */
const INVOICE_NUMBER = { maxLength: 255 };
const URL_TEXT = { maxLength: 2_048 };

const AMOUNT_FIELDS = ['subTotal', 'total', 'shippingCost', 'cashOnDeliveryCost', 'taxPercent', 'taxValue'] as const;
const DATA_REQUIRED = ['invoiceNumber', 'subTotal', 'total', 'shippingCost', 'cashOnDeliveryCost'] as const;

/**
 * Salla's documented create rules, checked before anything is recorded or sent, so that bad input costs no
 * provider call. Salla checks them again (the emulator and the real API answer 422); this is the same list.
 */
export function validateSallaInput(input: SallaCreateInput): UserError[] {
  const errors: UserError[] = [];
  const bad = (field: string, message: string) => errors.push(userError('INVALID_INPUT', message, [field]));

  if (!SALLA_ORDER_ID.test(input.orderId)) bad('orderId', 'Salla order ids are whole numbers of at most 15 digits, without leading zeros.');

  for (const f of AMOUNT_FIELDS) {
    const v = input[f];
    if (v && v.isNegative()) bad(f, `${f} must not be negative.`);
  }
  if (input.taxPercent && input.taxPercent.greaterThan(100)) bad('taxPercent', 'taxPercent is a percentage between 0 and 100.');

  if (input.dataType === 'data') {
    for (const f of DATA_REQUIRED) {
      const v = input[f];
      if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) bad(f, `${f} is required when dataType is DATA.`);
    }
  } else {
    for (const f of [...DATA_REQUIRED, 'taxPercent', 'taxValue'] as const) {
      if (input[f] !== undefined && input[f] !== null) bad(f, `${f} is only used when dataType is DATA.`);
    }
  }

  for (const [field, rule] of [['url', URL_TEXT], ['invoiceNumber', INVOICE_NUMBER]] as const) {
    const problem = input[field] == null ? null : textProblem(input[field]!, rule);
    if (problem) bad(field, `${field} ${problem}.`);
  }

  if (input.dataType === 'url') {
    if (!input.url) bad('url', 'url is required when dataType is URL.');
    else if (!isPdfUrl(input.url)) bad('url', 'url must be an http(s) link to a file ending in .pdf.');
  } else if (input.url) {
    bad('url', 'url is only used when dataType is URL.');
  }

  if (input.dataType === 'file') {
    if (!input.pdf || input.pdf.length === 0) bad('pdfBase64', 'pdfBase64 is required when dataType is FILE.');
    else if (input.pdf.length > SALLA_MAX_PDF_BYTES) bad('pdfBase64', `The PDF is larger than ${SALLA_MAX_PDF_BYTES / 1024 / 1024} MB.`);
    else if (!isPdf(input.pdf)) bad('pdfBase64', 'pdfBase64 must be a PDF file (it does not start with %PDF-).');
  } else if (input.pdf) {
    bad('pdfBase64', 'pdfBase64 is only used when dataType is FILE.');
  }
  return errors;
}

export function isPdfUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  // Salla checks that the whole string ends in .pdf, query included: a signed link (…pdf?sig=…) is refused there.
  return (url.protocol === 'https:' || url.protocol === 'http:') && value.trim().toLowerCase().endsWith('.pdf');
}

export function isPdf(bytes: Buffer): boolean {
  return bytes.subarray(0, 5).toString('latin1') === '%PDF-';
}
