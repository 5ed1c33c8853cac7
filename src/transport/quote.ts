import { head } from "../util/printable.ts";
import { redact } from "../util/redact.ts";

/**
 * Longest text quoted from the API (an error message, a raw body) in an error. A few hundred
 * characters hold every real message the API sends; anything longer is noise or hostile, and a
 * 10 MB message copied into a report, a table or an annotation broke all of them
 * (docs/design.md#trust-rules). 200 leaves room for our own words around the quote within the 400
 * characters every output allows a message (util/printable.ts), so the hint after a quote is never
 * the part cut off.
 */
export const MAX_QUOTED_CHARS = 200;
/** Only this much of a text from the API is ever looked at: the cost never grows with its size. */
const LOOKED_AT = 8 * MAX_QUOTED_CHARS;

/**
 * Text from the API made safe to quote: the secrets removed first (so a cut can never leave half
 * a key behind), control characters and line breaks turned into spaces (one message, one line),
 * and the result cut to MAX_QUOTED_CHARS, saying how long the original was.
 */
export function quoteApiText(text: string, secrets: readonly (string | undefined)[] = []): string {
  const clean = redact(head(text, LOOKED_AT), secrets)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ")
    .trim();
  if (text.length <= LOOKED_AT && clean.length <= MAX_QUOTED_CHARS) return clean;
  return `${head(clean, MAX_QUOTED_CHARS)}… (${text.length} characters in all)`;
}
