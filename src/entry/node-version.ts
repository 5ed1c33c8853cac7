/**
 * The oldest Node.js the tool runs on. undici 8, its HTTP client, needs 22.19; package.json's
 * `engines` says the same (a test keeps them in step).
 */
export const MIN_NODE = "22.19.0";

const parts = (version: string): number[] =>
  version
    .replace(/^v/, "")
    .split(".")
    .map((p) => Number.parseInt(p, 10) || 0);

/**
 * One line saying what to install when `version` (`process.versions.node`) is older than
 * MIN_NODE; undefined when it is recent enough. Plain code on purpose: it runs before anything
 * else is loaded, on whatever Node the user has.
 */
export function nodeTooOld(version: string): string | undefined {
  const have = parts(version);
  const need = parts(MIN_NODE);
  for (let i = 0; i < need.length; i++) {
    const h = have[i] ?? 0;
    const n = need[i] ?? 0;
    if (h > n) return undefined;
    if (h < n)
      return `reconcile-usage needs Node.js ${MIN_NODE} or newer (22 LTS or 24); this is Node.js ${version}. Install a current Node.js from https://nodejs.org and run it again.`;
  }
  return undefined;
}
