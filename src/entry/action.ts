import { boundHeap } from "./heap.ts";
import { nodeTooOld } from "./node-version.ts";

// The action's entry (action.yml runs it with node24; this guards a runner or a hand run with an
// older node). The Node version is checked before the action is loaded, as in the CLI's bin.
const tooOld = nodeTooOld(process.versions.node);
if (tooOld) {
  process.stdout.write(`::error::${tooOld}\n`);
  process.exitCode = 1;
} else {
  boundHeap(process);
  await import("../index.ts");
}
