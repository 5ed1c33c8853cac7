/**
 * Shapes of secrets that may come back in text we print: OpenAI keys (the API echoes a masked key
 * in some errors), GitHub tokens, and credentials inside URLs.
 */
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/sk-[A-Za-z0-9_*-]{4,}/g, "sk-***"],
  [/\bgh[pousr]_[A-Za-z0-9]{16,}/g, "gh*_***"],
  [/\bgithub_pat_[A-Za-z0-9_]{16,}/g, "github_pat_***"],
  [/(\/\/)[^/\s:@]+:[^/\s@]+@/g, "$1***@"],
];

/**
 * Removes secrets from text that may reach a log, a summary or an error message: the given
 * values wherever they appear, and anything shaped like a key or token.
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join("***");
  }
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
