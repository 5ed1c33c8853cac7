import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { redact, redactSecrets, SECRET_RUN, secretEncodings } from "../src/util/redact.ts";

/**
 * The key never shows (SPEC §11): in any encoding (plain, URL, base64, base64url, hex) or in part
 * (any run of 12 or more of its characters), wherever it sits in a text, however long the text.
 */

const KEY = "sk-admin-Zq8vK2mP4xR7tY1wN5bC3dF6gH9jL0aE";
const b64 = (t: string) => Buffer.from(t).toString("base64");
const b64url = (t: string) => b64(t).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const hex = (t: string) => Buffer.from(t).toString("hex");

/** Whether any 12 consecutive characters of `secret` (or of `encoded`) are in `text`. */
const shows = (text: string, encoded: string) => {
  for (let i = 0; i + 12 <= encoded.length; i++)
    if (text.includes(encoded.slice(i, i + 12))) return true;
  return false;
};

/**
 * Masking by its definition, one position at a time: every run of SECRET_RUN characters found in
 * some spelling of the secret is masked, and runs that overlap or touch make one mask.
 */
function maskedByDefinition(text: string, secret: string): string {
  const runs = new Set<string>();
  for (const v of secretEncodings(secret))
    for (let i = 0; i + SECRET_RUN <= v.length; i++) runs.add(v.slice(i, i + SECRET_RUN));
  const spans: Array<[number, number]> = [];
  for (let s = 0; s + SECRET_RUN <= text.length; s++) {
    if (!runs.has(text.slice(s, s + SECRET_RUN))) continue;
    const last = spans.at(-1);
    if (last && s <= last[1]) last[1] = s + SECRET_RUN;
    else spans.push([s, s + SECRET_RUN]);
  }
  let out = "";
  let from = 0;
  for (const [a, b] of spans) {
    out += `${text.slice(from, a)}***`;
    from = b;
  }
  return out + text.slice(from);
}

describe("redaction", () => {
  const spellings: Array<[string, string, string]> = [
    ["plain", KEY, KEY],
    ["URL-encoded", encodeURIComponent(`${KEY}/x`), KEY],
    ["base64", b64(KEY), b64(KEY).slice(0, -4)],
    ["base64 after 'Bearer '", b64(`Bearer ${KEY}`), b64(`Bearer ${KEY}`).slice(12, -4)],
    ["base64 after 'u:'", b64(`u:${KEY}`), b64(`u:${KEY}`).slice(4, -4)],
    ["base64url", b64url(`xy${KEY}`), b64url(`xy${KEY}`).slice(4, -4)],
    ["hex", hex(KEY), hex(KEY)],
    ["HEX", hex(KEY).toUpperCase(), hex(KEY).toUpperCase()],
    [
      "every byte percent-encoded",
      [...Buffer.from(KEY)].map((b) => `%${b.toString(16)}`).join(""),
      [...Buffer.from(KEY)].map((b) => `%${b.toString(16)}`).join(""),
    ],
    ["split in two", `${KEY.slice(0, 20)}\n${KEY.slice(20)}`, KEY.slice(0, 20)],
    ["a 12-character run", `ref${KEY.slice(9, 21)}end`, KEY.slice(9, 21)],
  ];
  for (const [name, text, secretPart] of spellings) {
    it(`removes the key ${name}`, () => {
      const out = redactSecrets(`before ${text} after`, [KEY]);
      expect(shows(out, secretPart), out).toBe(false);
      expect(out).toMatch(/^before .*\*\*\*.* after$/s);
    });
  }

  it("leaves runs shorter than 12 characters, and text that merely looks like a key", () => {
    const text = `${KEY.slice(0, 11)} task-force sk-learning-bench`;
    expect(redactSecrets(text, [KEY])).toBe(text);
    // the pattern-based redaction (for messages) takes key-shaped words, but not inside words
    expect(redact("task-force-1234", [])).toBe("task-force-1234");
    expect(redact("got sk-proj-abcdefgh", [])).toBe("got sk-***");
  });

  it("finds the key at every offset of a long text (10 MB)", () => {
    const filler = "lorem ipsum 0123456789 ".repeat(450_000);
    const text = `${filler}${b64(`x${KEY}`)}${filler}${KEY.slice(5)}`;
    const out = redactSecrets(text, [KEY]);
    expect(out.length).toBeLessThan(text.length);
    expect(shows(out, KEY)).toBe(false);
    expect(shows(out, b64(`x${KEY}`).slice(4, -4))).toBe(false);
    expect(out.startsWith(filler)).toBe(true);
  });

  it("no spelling of any secret survives, wherever it is put (property)", () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9_-]{20,60}$/);
    const around = fc.string({ maxLength: 40 });
    const encode = fc.constantFrom<Array<(s: string) => string>>(
      (s) => s,
      (s) => b64(s),
      (s) => b64(`a${s}`),
      (s) => b64(`ab${s}`),
      (s) => b64url(s),
      (s) => hex(s),
      (s) => hex(s).toUpperCase(),
    );
    fc.assert(
      fc.property(secret, around, around, encode, (s, pre, post, enc) => {
        const encoded = enc(s);
        const out = redactSecrets(`${pre}${encoded}${post}`, [s]);
        // what remains of the encoding is less than 12 characters at either end
        const core = encoded.length > 8 ? encoded.slice(4, -4) : encoded;
        return !shows(out, core);
      }),
      { numRuns: 300 },
    );
  });

  it("masks exactly what the definition masks, at every offset (property)", () => {
    // texts made of other characters and of pieces of the secret's spellings, of any length and
    // at any offset: pieces that meet, overlap, fall short of SECRET_RUN or run into the text's ends
    const case_ = fc.stringMatching(/^[A-Za-z0-9_-]{12,50}$/).chain((secret) => {
      const spellings = secretEncodings(secret);
      const piece = fc.oneof(
        fc.string({ maxLength: 12 }),
        fc
          .tuple(fc.constantFrom(...spellings), fc.nat(), fc.integer({ min: 1, max: 40 }))
          .map(([v, at, length]) => v.slice(at % v.length, (at % v.length) + length)),
      );
      return fc.tuple(fc.constant(secret), fc.array(piece, { maxLength: 12 }));
    });
    fc.assert(
      fc.property(case_, ([secret, pieces]) => {
        const text = pieces.join("");
        expect(redactSecrets(text, [secret])).toBe(maskedByDefinition(text, secret));
      }),
      { numRuns: 3000 },
    );
  });
});
