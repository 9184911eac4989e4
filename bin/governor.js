#!/usr/bin/env node
// The `governor` command: runs the compiled CLI in dist/ (built by `npm run build`; `npm ci` in the checkout runs it
// through the `prepare` script, and the published package ships it).
import module from "node:module";

// Node >= 22.1 keeps the compiled code of the modules on disk between runs (in the temporary folder; off with
// NODE_DISABLE_COMPILE_CACHE=1): each command then starts without compiling it again. Node 20 has no such cache.
module.enableCompileCache?.();
// A reader that goes away (`governor audit export | head`) ends the command quietly rather than with an EPIPE crash.
process.stdout.on("error", (error) => {
  if (error.code !== "EPIPE") throw error;
});
let cli;
try {
  cli = await import("../dist/cli/main.js");
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist/cli/main.js")) throw error;
  process.stderr.write("governor: not built yet: run `npm run build` (or `npm ci`) in the checkout first\n");
  process.exit(2);
}
process.exitCode = await cli.main(process.argv);
