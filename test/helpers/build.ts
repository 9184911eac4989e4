// Vitest global setup: the bin runs the compiled dist/, so tests that spawn it must see the sources as they are now.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return max;
}

export default function setup(): void {
  const stamp = join(ROOT, "dist/.build-stamp");
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  if (built >= newest(join(ROOT, "src")) && built >= statSync(join(ROOT, "scripts/build.mjs")).mtimeMs) return;
  execFileSync(process.execPath, [join(ROOT, "scripts/build.mjs")], { cwd: ROOT, stdio: "inherit" });
}
