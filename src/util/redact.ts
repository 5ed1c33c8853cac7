/**
 * Shapes of secrets that may come back in text we print: OpenAI keys (the API echoes a masked key
 * in some errors), GitHub tokens, and credentials inside URLs.
 */
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/\bsk-[A-Za-z0-9_*-]{4,}/g, "sk-***"],
  [/\bgh[pousr]_[A-Za-z0-9]{16,}/g, "gh*_***"],
  [/\bgithub_pat_[A-Za-z0-9_]{16,}/g, "github_pat_***"],
  [/(\/\/)[^/\s:@]+:[^/\s@]+@/g, "$1***@"],
];

/**
 * A secret counts as shown when this many consecutive characters of it, or of one of its
 * encodings, appear: a key cut in two (a line break, a proxy splitting a header) still shows
 * its halves, and each half must go.
 */
export const SECRET_RUN = 12;

const MASK = "***";

const base64url = (b64: string): string => b64.replace(/\+/g, "-").replace(/\//g, "_");

/**
 * The parts of `secret`'s base64 encoding that come from the secret alone, for each of the three
 * byte offsets it can start at inside a longer encoded text (`Bearer sk-…`, `user:token`): the
 * characters that a neighbouring byte also feeds are dropped.
 */
function base64Cores(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
    const b64 = padded.toString("base64").replace(/=+$/, "");
    // the first ceil(shift * 4 / 3) characters carry the padding bytes' bits
    const head = Math.ceil((shift * 4) / 3);
    // unless the bytes fill whole groups, the last character mixes the secret's final bits with
    // the next byte's
    const tail = padded.length % 3 === 0 ? 0 : 1;
    out.push(b64.slice(head, b64.length - tail));
  }
  return out;
}

/** Every spelling of `secret` that a log, a proxy or an API could print. */
export function secretEncodings(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const hex = bytes.toString("hex");
  const percent = [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
  const b64 = base64Cores(bytes);
  const whole64 = bytes.toString("base64").replace(/=+$/, "");
  const variants = [
    secret,
    encodeURIComponent(secret),
    percent,
    percent.toUpperCase(),
    hex,
    hex.toUpperCase(),
    whole64,
    base64url(whole64),
    ...b64,
    ...b64.map(base64url),
  ];
  return [...new Set(variants.filter((v) => v.length > 0))];
}

// A polynomial hash (32-bit, wrapping) of a gram's characters; a hit is confirmed by comparing
// the characters.
const B = 131;
/** Bits of a quick first filter on the hash, so most positions cost no map lookup. */
const FILTER_BITS = 16;
const FILTER_MASK = (1 << FILTER_BITS) - 1;

// Sampling: a run of SECRET_RUN characters holds QUAD consecutive characters starting at a
// multiple of STEP, whatever its offset. So a text is looked at only every STEP characters, where
// QUAD characters that no secret's runs contain rule out every run through them; only around a
// position whose QUAD characters pass are the runs hashed and compared.
const QUAD = 4;
const STEP = SECRET_RUN - QUAD + 1;
const QUAD_BITS = 18;
const QUAD_MASK = (1 << QUAD_BITS) - 1;

/** The hash of `length` characters of `text` from `at`. */
function hashAt(text: string, at: number, length: number): number {
  let h = 0;
  for (let i = at; i < at + length; i++) h = (Math.imul(h, B) + text.charCodeAt(i)) | 0;
  return h;
}

const hasBit = (bits: Uint8Array, h: number, mask: number): boolean =>
  (bits[(h & mask) >>> 3]! & (1 << (h & 7))) !== 0;
const setBit = (bits: Uint8Array, h: number, mask: number): void => {
  bits[(h & mask) >>> 3]! |= 1 << (h & 7);
};

interface Grams {
  byHash: Map<number, Set<string>>;
  filter: Uint8Array;
  /** The hashes of every QUAD characters inside a gram, as bits. */
  quads: Uint8Array;
}

export type Redactor = (text: string) => string;

/**
 * Builds a redactor for these secrets (building is the costly part; use it for every line). It
 * replaces each secret in every encoding of `secretEncodings` and any run of `SECRET_RUN` or
 * more consecutive characters of one of them, then (unless `patterns` is false) anything shaped
 * like a key or a token.
 * Secrets shorter than `SECRET_RUN` are replaced only whole (and only from 4 characters: a
 * shorter value would blank ordinary words).
 */
export function makeRedactor(
  secrets: readonly (string | undefined)[],
  options: { patterns?: boolean } = {},
): Redactor {
  const patterns = options.patterns ?? true;
  const grams: Grams = {
    byHash: new Map(),
    filter: new Uint8Array(1 << (FILTER_BITS - 3)),
    quads: new Uint8Array(1 << (QUAD_BITS - 3)),
  };
  const whole: string[] = [];
  for (const secret of new Set(secrets)) {
    if (!secret || secret.length < 4) continue;
    if (secret.length < SECRET_RUN) {
      const bytes = Buffer.from(secret, "utf8");
      whole.push(
        secret,
        encodeURIComponent(secret),
        bytes.toString("hex"),
        bytes.toString("hex").toUpperCase(),
      );
      const b64 = bytes.toString("base64").replace(/=+$/, "");
      if (b64.length >= 8) whole.push(b64, base64url(b64));
      continue;
    }
    for (const v of secretEncodings(secret)) {
      for (let i = 0; i + SECRET_RUN <= v.length; i++) {
        const gram = v.slice(i, i + SECRET_RUN);
        const h = hashAt(gram, 0, SECRET_RUN);
        const set = grams.byHash.get(h) ?? new Set<string>();
        grams.byHash.set(h, set);
        set.add(gram);
        setBit(grams.filter, h, FILTER_MASK);
      }
      for (let i = 0; i + QUAD <= v.length; i++) setBit(grams.quads, hashAt(v, i, QUAD), QUAD_MASK);
    }
  }
  const shortOnes = [...new Set(whole)].sort((a, b) => b.length - a.length);

  return (text: string): string => {
    let out = text;
    if (grams.byHash.size > 0 && out.length >= SECRET_RUN) out = maskRuns(out, grams);
    for (const s of shortOnes) if (out.includes(s)) out = out.split(s).join(MASK);
    if (patterns)
      for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
    return out;
  };
}

/** Replaces every stretch of text covered by a known SECRET_RUN-gram with one mask. */
function maskRuns(text: string, grams: Grams): string {
  const { byHash, filter, quads } = grams;
  const n = text.length;
  // intervals [start, end) to mask, merged as they are found (runs are tried in order of start)
  const starts: number[] = [];
  const ends: number[] = [];
  for (let at = 0; at + QUAD <= n; at += STEP) {
    if (!hasBit(quads, hashAt(text, at, QUAD), QUAD_MASK)) continue;
    // the runs that hold the QUAD characters from `at`: a run holds those of one sampled position
    // only, so each run is tried once, and in order
    const last = Math.min(at, n - SECRET_RUN);
    for (let start = Math.max(0, at - (SECRET_RUN - QUAD)); start <= last; start++) {
      const h = hashAt(text, start, SECRET_RUN);
      if (!hasBit(filter, h, FILTER_MASK)) continue;
      if (!byHash.get(h)?.has(text.slice(start, start + SECRET_RUN))) continue;
      const end = start + SECRET_RUN;
      const k = ends.length - 1;
      if (k >= 0 && start <= ends[k]!) ends[k] = end;
      else {
        starts.push(start);
        ends.push(end);
      }
    }
  }
  if (starts.length === 0) return text;
  let out = "";
  let from = 0;
  for (let k = 0; k < starts.length; k++) {
    out += text.slice(from, starts[k]) + MASK;
    from = ends[k]!;
  }
  return out + text.slice(from);
}

const cache = new Map<string, Redactor>();

function cached(secrets: readonly (string | undefined)[], patterns: boolean): Redactor {
  const key = `${patterns ? "p" : "s"}\u0000${secrets.filter(Boolean).join("\u0000")}`;
  let r = cache.get(key);
  if (!r) {
    if (cache.size > 16) cache.clear();
    r = makeRedactor(secrets, { patterns });
    cache.set(key, r);
  }
  return r;
}

/**
 * Removes secrets from a message that may reach a log, a summary, a file or an error: the given
 * values in every encoding and in part (see `makeRedactor`), and anything shaped like a key or
 * token. The redactor for a set of secrets is built once and reused.
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  return cached(secrets, true)(text);
}

/**
 * Removes only the given secrets (every encoding, any run of SECRET_RUN characters): for whole
 * outputs (a log, a report, a summary) where a name that merely looks like a key must stay.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  return cached(secrets, false)(text);
}
