// The `governor` command: one commander program; each command lives in its own module and registers itself here.
import { Command, CommanderError } from "commander";
import { type CliContext, EXIT, processContext, UsageError } from "./context.js";

type Register = (program: Command, ctx: CliContext) => void;

async function registrations(): Promise<Register[]> {
  // Imported lazily so that `governor validate` does not pay for loading Probot or SQLite.
  const modules = await Promise.all([
    import("./policy-commands.js"),
    import("./audit-commands.js"),
    import("./serve-commands.js"),
    import("./preflight-commands.js"),
    import("./dashboard-command.js"),
    import("./reconcile-command.js"),
  ]);
  return modules.map((m) => m.register);
}

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
    .exitOverride()
    .configureOutput({ writeOut: (s) => context.out(s), writeErr: (s) => context.err(s) });
  for (const register of await registrations()) register(program, context);
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
    context.err(`governor: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    context.exit(EXIT.internal);
  }
  return code;
}
