/**
 * `compute` with its results remembered by key: for values a pass asks of the same few keys
 * thousands of times (a minute's name, a timestamp's seconds, a set of rates' hash). The table is
 * emptied when it reaches `max` entries, so it never grows with the pass; a result is never
 * remembered for a call that throws.
 */
export function remembered<K, V>(compute: (key: K) => V, max: number): (key: K) => V {
  const table = new Map<K, V>();
  return (key) => {
    if (table.has(key)) return table.get(key) as V;
    const value = compute(key);
    if (table.size >= max) table.clear();
    table.set(key, value);
    return value;
  };
}
