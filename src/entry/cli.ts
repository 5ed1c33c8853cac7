#!/usr/bin/env node
import module from "node:module";
import { boundHeap } from "./heap.ts";
import { nodeTooOld } from "./node-version.ts";

// The CLI's bin. It checks the Node version before loading the tool: on an older Node the tool's
// own modules fail while they load, with a stack trace that says nothing about the version. The
// dynamic import keeps them out of this file, so they are not even parsed first.
const tooOld = nodeTooOld(process.versions.node);
if (tooOld) {
  process.stderr.write(`${tooOld}\n`);
  process.exitCode = 2;
} else {
  boundHeap(process);
  // The tool's compiled code is kept between runs (in the system's temporary directory, or where
  // NODE_COMPILE_CACHE says), so a second run starts sooner; a cache that cannot be written only
  // costs the saving. Not in the action: each job starts on a fresh runner.
  try {
    module.enableCompileCache?.();
  } catch {
    // no cache: the same run, a little slower
  }
  await import("../cli.ts");
}
