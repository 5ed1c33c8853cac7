/**
 * Texts a pass keeps until its end (its report rows' messages and times), one flat copy of each.
 * V8 keeps a string built by concatenation as a tree of its pieces, and a slice keeps the whole
 * string it was cut from: report rows held about 1 KB of such pieces per run, a fifth of the live
 * heap at the end of a 10,000-run pass. Equal texts (runs share messages and next reading times)
 * become one string. The table goes when the keeper does; the texts stay.
 */
export function textKeeper(): (text: string) => string {
  const kept = new Map<string, string>();
  return (text) => {
    let flat = kept.get(text);
    if (flat === undefined) {
      // a round trip through JSON gives a new, flat string of the same characters
      flat = JSON.parse(JSON.stringify(text)) as string;
      kept.set(flat, flat);
    }
    return flat;
  };
}
