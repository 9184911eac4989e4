// Vitest global setup: every temporary file of the run (test folders, databases, the stacks' and children's files)
// goes under one folder, removed when the run ends. Tests make thousands of folders, some of hundreds of MB; left in
// /tmp they filled the disk. TMPDIR is inherited by the test workers and every process they start (os.tmpdir()).
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shared } from "./shared-setup.js";

export default async function setup(): Promise<() => void> {
  const before = process.env["TMPDIR"];
  const { teardown } = await shared(
    "run-tmp",
    () => {
      const root = mkdtempSync(join(tmpdir(), "governor-run-"));
      // Like /tmp: the PostgreSQL server runs as another user when the tests run as root, and must reach its folder.
      chmodSync(root, 0o1777);
      process.env["TMPDIR"] = root;
      return root;
    },
    (root) => {
      if (before === undefined) delete process.env["TMPDIR"];
      else process.env["TMPDIR"] = before;
      // At exit, after every other teardown (the PostgreSQL server keeps its files here until it has stopped).
      process.once("exit", () => rmSync(root, { recursive: true, force: true }));
    },
  );
  return teardown;
}
