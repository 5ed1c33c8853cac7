import { type Node, parseTree } from "jsonc-parser";

/**
 * The value of valid JSON text as jsonc-parser's JavaScript scanner reads it: an oracle for what
 * JSON.parse should give that does not go through V8's JSON.parse (whose keys can be wrong; see
 * src/util/json-read.ts). Keys are defined, not assigned, so `__proto__` is a property as in
 * JSON.parse; a later copy of a key replaces the earlier one, as in JSON.parse.
 */
export function valueOfTree(text: string): unknown {
  const root = parseTree(text, [], { disallowComments: true, allowTrailingComma: false });
  if (!root) throw new Error("not JSON");
  return nodeValue(root);
}

function nodeValue(node: Node): unknown {
  if (node.type === "array") return (node.children ?? []).map(nodeValue);
  if (node.type !== "object") return node.value;
  const object: Record<string, unknown> = {};
  for (const property of node.children ?? []) {
    const [key, value] = property.children ?? [];
    Object.defineProperty(object, key!.value as string, {
      value: nodeValue(value!),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return object;
}
