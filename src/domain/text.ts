/**
 * Rules for text that clients send and we store or pass to a provider. No I/O; called where input enters.
 */

/** Paired UTF-16 halves are fine; a half on its own is not. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL = /[\u0000-\u001F\u007F]/;
const CONTROL_BUT_LINE_BREAKS_AND_TABS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/**
 * Why no text field may hold this string, or null. U+0000 cannot be stored in PostgreSQL text or JSON. A lone UTF-16
 * surrogate has no UTF-8 form: it turns into U+FFFD on its way to the database, so distinct keys would compare equal
 * there (three keys with different lone surrogates replayed one invoice).
 */
export function unstorableText(text: string): string | null {
  if (text.includes('\u0000')) return 'holds the character U+0000 (NUL)';
  if (LONE_SURROGATE.test(text)) return 'holds an unpaired UTF-16 surrogate (not valid Unicode)';
  return null;
}

/** The text with U+0000 and lone surrogates replaced by U+FFFD: for text we must keep though it is not ours to refuse. */
export function storable(text: string): string {
  // String.prototype.toWellFormed is in Node 20 (V8 11.3); TypeScript's ES2023 lib does not declare it yet.
  return (text.replace(/\u0000/g, '\uFFFD') as string & { toWellFormed(): string }).toWellFormed();
}

/** At most `max` UTF-16 units of the text, never cutting a surrogate pair in two: what we keep of a provider's words. */
export function excerpt(text: string, max = 500): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max;
  return text.slice(0, end);
}

export interface TextRule {
  maxLength: number;
  /** Free text (a note) may hold line breaks and tabs; an identifier or number holds no control character. */
  multiline?: boolean;
}

/** Why a client's text breaks the rule, or null; the message reads after the field's name ("invoiceNote …"). */
export function textProblem(text: string, rule: TextRule): string | null {
  const unstorable = unstorableText(text);
  if (unstorable) return unstorable;
  if (text.length > rule.maxLength) return `is longer than ${rule.maxLength} characters`;
  if ((rule.multiline ? CONTROL_BUT_LINE_BREAKS_AND_TABS : CONTROL).test(text)) return 'holds a control character';
  return null;
}
