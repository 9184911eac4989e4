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

// The offline policy commands (validate, schema, check) run on every commit in CI jobs and editors, so their start
// counts. Loaded as tsc wrote them, they are ~300 module files (zod alone is ~230), and resolving, reading and linking
// each one costs more than running the check. So their module is also bundled with the packages it uses, from the same
// compiled code, into one file beside it that main.js loads when present. (A separate file, not the module rewritten in
// place: tsc's incremental build does not re-emit an unchanged module, and would leave a stale bundle as the input.)
// Shared with the rest of the CLI, and so left outside: commander and ./context.js
// (main.js catches their CommanderError and UsageError by class, so there must be one of each), and Octokit (loaded
// only with a token). Only the packages named below may be inlined: anything else is a build error.
const { build } = await import("esbuild");
const OFFLINE = `${root}dist/cli/policy-commands.js`;
const OFFLINE_BUNDLE = `${root}dist/cli/policy-commands.bundle.js`;
const INLINED = new Set(["zod", "js-yaml", "minimatch", "brace-expansion", "balanced-match", "@isaacs/nonrecursive-glob-match"]);
const shared = {
  name: "shared-with-main",
  setup(b) {
    b.onResolve({ filter: /(^|\/)context\.js$/ }, (args) =>
      fileURLToPath(new URL(args.path, `file://${args.importer}`)) === `${root}dist/cli/context.js` ? { path: "./context.js", external: true } : undefined,
    );
  },
};
const bundled = await build({
  entryPoints: [OFFLINE],
  outfile: OFFLINE_BUNDLE,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["commander", "@octokit/rest"],
  plugins: [shared],
  metafile: true,
  logLevel: "warning",
});
const strays = Object.keys(bundled.metafile.inputs)
  .map((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1])
  .filter((name) => name !== undefined && !INLINED.has(name));
if (strays.length > 0) {
  console.error(`build: ${OFFLINE_BUNDLE} would inline ${[...new Set(strays)].join(", ")}: keep them external or add them to INLINED on purpose`);
  process.exit(1);
}

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
