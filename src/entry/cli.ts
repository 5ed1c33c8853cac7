#!/usr/bin/env node
import { nodeTooOld } from "./node-version.ts";

// The CLI's bin. It checks the Node version before loading the tool: on an older Node the tool's
// own modules fail while they load, with a stack trace that says nothing about the version. The
// dynamic import keeps them out of this file, so they are not even parsed first.
const tooOld = nodeTooOld(process.versions.node);
if (tooOld) {
  process.stderr.write(`${tooOld}\n`);
  process.exitCode = 2;
} else {
  await import("../cli.ts");
}
