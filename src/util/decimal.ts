/**
 * Money without float drift: amounts as integers of 1e-12 USD (BigInt). The Costs API sends
 * `amount.value` as a JSON number or, lately, a decimal string; both parse exactly here.
 */

export const PICO = 12;
const SCALE = 10n ** BigInt(PICO);

/**
 * Bounds that keep an amount plain and its parse cheap (docs/design.md#trust-rules): real amounts
 * are a few dozen characters with, at most, a two-digit exponent (a JSON number such as 1.5e-7). A
 * longer text or an exponent of four digits or more is refused before any arithmetic, so parsing
 * costs time in proportion to the text (`1e-100000000` once took 8 s of CPU), and an amount of a
 * trillion USD or more is no bill of this world (`1e400` once showed as `$Infinity`).
 */
const MAX_CHARS = 100;
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,3}))?$/;
const MAX_USD = 10n ** 12n;

export type ParsedAmount = { pico: bigint } | { problem: string };

/** An amount as the API gave it, short enough to quote. */
const shown = (value: number | string): string => {
  const text = String(value);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
};

/**
 * Parses a decimal (a string, or a finite number through its shortest representation) to 1e-12
 * units, rounding half away from zero; or says why it is not a plain, finite amount.
 */
export function parseAmount(value: number | string): ParsedAmount {
  if (typeof value === "number" && !Number.isFinite(value))
    return { problem: `amount ${shown(value)} is not a finite number` };
  const text = typeof value === "number" ? String(value) : value.trim();
  if (text.length > MAX_CHARS)
    return { problem: `amount of ${text.length} characters is not a plain decimal number` };
  const m = DECIMAL.exec(text);
  if (!m || (m[2] === "" && (m[3] ?? "") === ""))
    return { problem: `amount ${shown(value)} is not a plain decimal number` };
  const [, sign, whole = "", fraction = "", exp = "0"] = m;
  const digits = `${whole}${fraction}`.replace(/^0+(?=\d)/, "") || "0";
  // value = digits × 10^(exp − fraction.length); in pico units: × 10^PICO. |shift| < 1,200 here.
  const shift = Number(exp) - fraction.length + PICO;
  let units: bigint;
  if (shift >= 0) units = BigInt(digits) * 10n ** BigInt(shift);
  else {
    const divisor = 10n ** BigInt(-shift);
    const n = BigInt(digits);
    units = n / divisor;
    if ((n % divisor) * 2n >= divisor) units += 1n;
  }
  if (units >= MAX_USD * SCALE)
    return { problem: `amount ${shown(value)} is out of range (a trillion USD or more)` };
  return { pico: sign === "-" ? -units : units };
}

/** parseAmount's value, or undefined when the amount is not plain and finite. */
export function parsePico(value: number | string): bigint | undefined {
  const parsed = parseAmount(value);
  return "pico" in parsed ? parsed.pico : undefined;
}

/** Pico units to a number of USD, for display and comparison (exact to ~15 significant digits). */
export const picoToUsd = (pico: bigint): number => Number(pico) / Number(SCALE);
