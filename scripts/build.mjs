// `npm run build` (and `prepare`, so `npm ci` in the checkout builds): src/ compiled by tsc to dist/, then the parts of
// GitHub's API description and webhook examples that the simulator uses, so `governor demo` runs from a production
// install without the 385 MB @octokit/openapi or the webhook examples package.
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);

let tsc;
try {
  tsc = require.resolve("typescript/bin/tsc");
} catch {
  // A production install of the checkout (`npm ci --omit=dev`) has no compiler: it runs what was built before.
  if (existsSync(`${root}dist/cli/main.js`)) {
    console.error("build: typescript is not installed (a production install); using the dist/ already built");
    process.exit(0);
  }
  console.error("build: typescript is not installed and there is no dist/: run `npm ci` (with dev dependencies) once to build");
  process.exit(1);
}
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });

/** Every `#/components/...` reference reachable from `value`, added to `into` with what they reference in turn. */
function collectRefs(spec, value, into) {
  if (Array.isArray(value)) return value.forEach((v) => collectRefs(spec, v, into));
  if (value === null || typeof value !== "object") return;
  for (const [key, v] of Object.entries(value)) {
    if (key === "$ref" && typeof v === "string" && v.startsWith("#/components/") && !into.has(v)) {
      into.add(v);
      const [, , kind, name] = v.split("/");
      collectRefs(spec, spec.components[kind]?.[name], into);
    } else collectRefs(spec, v, into);
  }
}

const { SERVED } = await import(`${root}dist/sim/server.js`);
const spec = require("@octokit/openapi/generated/api.github.com.json");
const paths = Object.fromEntries(SERVED.map((p) => [p, spec.paths[p]]));
const refs = new Set();
collectRefs(spec, paths, refs);
const components = {};
for (const ref of refs) {
  const [, , kind, name] = ref.split("/");
  (components[kind] ??= {})[name] = spec.components[kind][name];
}
writeFileSync(`${root}dist/sim/github-api.json`, JSON.stringify({ paths, components }));

const EVENTS = ["pull_request", "pull_request_review", "check_run", "check_suite"];
const examples = require("@octokit/webhooks-examples").filter((e) => EVENTS.includes(e.name));
writeFileSync(`${root}dist/sim/webhook-examples.json`, JSON.stringify(examples));

// When this build finished: the test setup rebuilds when a source is newer.
writeFileSync(`${root}dist/.build-stamp`, `${new Date().toISOString()}\n`);
