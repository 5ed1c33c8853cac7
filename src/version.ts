/** The tool's version, written into every reading it records. Kept in step with package.json by a test. */
export const VERSION = "1.0.0";
export const TOOL = `reconcile-usage@${VERSION}`;
