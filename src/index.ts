import { type ActionProgress, lastResort } from "./action/publish.ts";
import { run } from "./main.ts";

// Whatever fails, and wherever (late in the run, a promise nobody awaited), the step ends with
// one clear error, its summary and its outputs, and exit status 1; never Node's print of a stack
// and the minified source line.
const progress: ActionProgress = { secrets: [] };
const fatal = (error: unknown) => {
  lastResort(error, progress, process.env);
  process.exit(1);
};
process.on("uncaughtException", fatal);
process.on("unhandledRejection", fatal);

try {
  await run(process.env, progress);
} catch (error) {
  lastResort(error, progress, process.env);
}
