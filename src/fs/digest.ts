import { hash } from "node:crypto";

/**
 * What a file held when a pass read it, in 44 characters (SHA-256 of its bytes, base64). A pass
 * keeps this instead of the text (docs/design.md#writing-files): a file is edited and replaced
 * only while its bytes still have the digest they had when the pass judged the run, so a change
 * another process made meanwhile is noticed without every text staying in memory.
 */
export const contentDigest = (bytes: Uint8Array): string =>
  // the one-shot form: a pass digests each file up to three times, and a Hash object per call
  // cost more than hashing its 2-4 KB
  hash("sha256", bytes, "base64");
