// A real git repository in a temporary directory, for tests of `governor check`, `explain`, `mcp` and the action.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tempDir } from "../helpers/cli.js";

const IDENTITY = { GIT_AUTHOR_NAME: "Dana Dev", GIT_AUTHOR_EMAIL: "dana@example.com", GIT_COMMITTER_NAME: "Dana Dev", GIT_COMMITTER_EMAIL: "dana@example.com" };

export interface Repo {
  dir: string;
  git(...args: string[]): string;
  write(files: Record<string, string | null>): void;
  /** Writes (or, for null, deletes) files, stages everything and commits. */
  commit(message: string, files?: Record<string, string | null>, author?: { name: string; email: string }): void;
}

/** `git init` on branch main with `files` committed as the base. */
export function gitRepo(files: Record<string, string> = {}): Repo {
  const dir = tempDir();
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8", env: { ...process.env, ...IDENTITY } });
  const write = (next: Record<string, string | null>) => {
    for (const [path, text] of Object.entries(next)) {
      const full = join(dir, path);
      if (text === null) rmSync(full, { force: true });
      else {
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, text);
      }
    }
  };
  git("init", "-q", "-b", "main");
  git("config", "commit.gpgsign", "false");
  const repo: Repo = {
    dir,
    git,
    write,
    commit(message, next = {}, author) {
      write(next);
      git("add", "-A");
      execFileSync("git", ["commit", "-q", "--allow-empty", "-m", message], {
        cwd: dir,
        env: { ...process.env, ...IDENTITY, ...(author ? { GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email } : {}) },
      });
    },
  };
  repo.commit("base", files);
  return repo;
}
