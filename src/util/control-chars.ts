/**
 * Names and keys from files and directories reach terminals, logs and the runner, which act on
 * control characters (a newline starts a line the runner may read as a command; ESC moves the
 * cursor). They are detected here and shown escaped, never raw.
 */

const isControl = (code: number): boolean =>
  code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;

/** Whether a name holds a control character: a newline, a carriage return, ESC, NUL… */
export function hasControlCharacter(name: string): boolean {
  for (let i = 0; i < name.length; i++) if (isControl(name.charCodeAt(i))) return true;
  return false;
}

const NAMED: Record<number, string> = { 10: "\\n", 13: "\\r", 9: "\\t" };

/** The name with every control character written as an escape (`\n`, `\u001b`), cut to `max`. */
export function escapeControl(name: string, max = 200): string {
  const cut = name.length > max ? `${name.slice(0, max)}…` : name;
  let out = "";
  for (let i = 0; i < cut.length; i++) {
    const code = cut.charCodeAt(i);
    out += isControl(code) ? (NAMED[code] ?? `\\u${code.toString(16).padStart(4, "0")}`) : cut[i];
  }
  return out;
}
