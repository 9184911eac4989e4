// What every CLI command receives: its streams, environment and a way to set the exit code, so tests can run commands in-process too.
export interface CliContext {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
  env: Record<string, string | undefined>;
  /** Records the exit code; the highest code set during a run wins. */
  exit(code: number): void;
  /** The real standard output, when there is one: streaming commands write to it with backpressure. */
  stdout?: NodeJS.WritableStream;
}

/** A problem with what the user asked for (missing file, bad flag value): reported as one line, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  needsApproval: 3,
  denied: 4,
} as const;

export function processContext(): CliContext {
  let code = 0;
  return {
    out: (text) => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    err: (text) => void process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
    cwd: process.cwd(),
    env: process.env,
    stdout: process.stdout,
    exit(next) {
      code = Math.max(code, next);
      process.exitCode = code;
    },
  };
}
