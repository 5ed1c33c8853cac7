/**
 * Texts a pass keeps until its end (its report rows' messages and times), as flat strings. V8
 * keeps a string built by concatenation as a tree of its pieces, and a slice keeps the whole
 * string it was cut from: report rows held about 1 KB of such pieces per run, a fifth of the live
 * heap at the end of a 10,000-run pass.
 */

/** A new, flat string of the same characters (a round trip through JSON gives one). */
export const flatText = (text: string): string => JSON.parse(JSON.stringify(text)) as string;

/**
 * A flat copy of each text, equal texts kept as one string: for texts many runs share (messages,
 * next reading times). The table goes when the keeper does; the texts stay.
 */
export function textKeeper(): (text: string) => string {
  const kept = new Map<string, string>();
  return (text) => {
    let flat = kept.get(text);
    if (flat === undefined) {
      flat = flatText(text);
      kept.set(flat, flat);
    }
    return flat;
  };
}
