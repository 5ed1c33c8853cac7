/**
 * Money without float drift: amounts as integers of 1e-12 USD (BigInt). The Costs API sends
 * `amount.value` as a JSON number or, lately, a decimal string; both parse exactly here.
 */

export const PICO = 12;
const SCALE = 10n ** BigInt(PICO);

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Parses a decimal (string, or a number through its shortest representation) to 1e-12 units, rounding half away from zero. */
export function parsePico(value: number | string): bigint | undefined {
  const text =
    typeof value === "number" ? (Number.isFinite(value) ? String(value) : "") : value.trim();
  const m = DECIMAL.exec(text);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return undefined;
  const [, sign, whole = "", fraction = "", exp = "0"] = m;
  const digits = `${whole}${fraction}`.replace(/^0+(?=\d)/, "") || "0";
  // value = digits × 10^(exp − fraction.length); in pico units: × 10^PICO
  const shift = Number(exp) - fraction.length + PICO;
  let units: bigint;
  if (shift >= 0) units = BigInt(digits) * 10n ** BigInt(shift);
  else {
    const divisor = 10n ** BigInt(-shift);
    const n = BigInt(digits);
    units = n / divisor;
    if ((n % divisor) * 2n >= divisor) units += 1n;
  }
  return sign === "-" ? -units : units;
}

/** Pico units to a number of USD, for display and comparison (exact to ~15 significant digits). */
export const picoToUsd = (pico: bigint): number => Number(pico) / Number(SCALE);
