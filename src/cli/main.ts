// The `governor` command: one commander program; each command lives in its own module and registers itself here.
import { existsSync, readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { type CliContext, EXIT, processContext, UsageError } from "./context.js";

type Register = (program: Command, ctx: CliContext) => void;

/** The package's version, read from package.json (one directory above both src/ and dist/). */
export const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** dist/ also holds the policy commands bundled with the packages they use (scripts/build.mjs), so that `validate` and
 * `check` load one file rather than ~300; run from src/ (tests, tsx) there is none and the module itself is loaded. */
const POLICY_BUNDLE = new URL("./policy-commands.bundle.js", import.meta.url);
function loadPolicyCommands(): Promise<typeof import("./policy-commands.js")> {
  return existsSync(POLICY_BUNDLE) ? (import(POLICY_BUNDLE.href) as Promise<typeof import("./policy-commands.js")>) : import("./policy-commands.js");
}

/** Which module registers each command. Only the one a command needs is imported, so that `validate`, `check` and
 * `schema` never load Probot, Octokit or SQLite; help and unknown commands load them all. */
const MODULES = {
  policy: loadPolicyCommands,
  audit: () => import("./audit-commands.js"),
  serve: () => import("./serve-commands.js"),
  preflight: () => import("./preflight-commands.js"),
  dashboard: () => import("./dashboard-command.js"),
  usage: () => import("./usage-command.js"),
  store: () => import("./store-commands.js"),
  reconcile: () => import("./reconcile-command.js"),
} as const;
// `audit` needs the store module too: it adds `audit copy` and `audit backup` to the audit command (loaded after it).
const COMMAND_MODULE: Record<string, ReadonlyArray<keyof typeof MODULES>> = {
  validate: ["policy"],
  schema: ["policy"],
  check: ["policy"],
  audit: ["audit", "store"],
  simulate: ["audit"],
  serve: ["serve"],
  demo: ["serve"],
  explain: ["preflight"],
  mcp: ["preflight"],
  dashboard: ["dashboard"],
  usage: ["usage"],
  migrate: ["store"],
  reconcile: ["reconcile"],
};

async function registrations(argv: string[]): Promise<Register[]> {
  const args = argv.slice(2);
  const command = args.find((a) => !a.startsWith("-"));
  if (command === undefined && args.some((a) => a === "-V" || a === "--version")) return []; // the version needs no command
  const only = command !== undefined ? COMMAND_MODULE[command] : undefined;
  const wanted = only ? only.map((name) => MODULES[name]) : Object.values(MODULES);
  return (await Promise.all(wanted.map((load) => load()))).map((m) => m.register);
}

const isBrokenPipe = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === "EPIPE";

export async function main(argv: string[], ctx: CliContext = processContext()): Promise<number> {
  let code = 0;
  const context: CliContext = {
    ...ctx,
    exit(next) {
      code = Math.max(code, next);
      ctx.exit(next);
    },
  };
  const program = new Command("governor")
    .description("Govern pull requests written by AI coding agents: policy, budget, approvals and audit.")
    .version(VERSION, "-V, --version", "print the version")
    .exitOverride()
    .configureOutput({ writeOut: (s) => context.out(s), writeErr: (s) => context.err(s) });
  for (const register of await registrations(argv)) register(program, context);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors are exit 2 like every other usage problem.
      return error.exitCode === 0 ? 0 : (context.exit(EXIT.usage), EXIT.usage);
    }
    if (error instanceof UsageError) {
      context.err(`governor: ${error.message}`);
      context.exit(EXIT.usage);
      return code;
    }
    // The reader went away (`governor audit export | head`): nothing is wrong, and nobody is left to tell.
    if (isBrokenPipe(error)) return code;
    context.err(`governor: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    context.exit(EXIT.internal);
  }
  return code;
}
