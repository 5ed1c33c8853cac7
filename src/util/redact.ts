/** Anything that looks like an OpenAI secret key, masked or not (`sk-…`, `sk-admin-…`, `sk-proj-…`). */
const SECRET_PATTERN = /sk-[A-Za-z0-9_*-]{4,}/g;

/**
 * Removes secrets from text that may reach a log, a summary or an error message: the given
 * values wherever they appear, and anything shaped like an OpenAI key (the API echoes a masked
 * key in some error messages).
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join("***");
  }
  return out.replace(SECRET_PATTERN, "sk-***");
}
