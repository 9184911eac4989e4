// Headless Chromium (Debian's package) driven by playwright-core: missing Chromium fails the test, never skips it.
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env["GOVERNOR_CHROMIUM"] ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: the dashboard's browser tests need it. Install it with \`apt-get update && apt-get install -y chromium\` (or set GOVERNOR_CHROMIUM to its path).`,
    );
  }
  // launch() starts from a fresh, temporary user-data-dir of its own each time (it refuses --user-data-dir in args).
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Signs in through the simulator's authorize page as `login`, starting from `path` on the dashboard. */
export async function signIn(page: Page, dashboardUrl: string, login: string, path = "/dashboard") {
  await page.goto(`${dashboardUrl}${path}`);
  await page.getByLabel("Username").fill(login);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().includes("/dashboard/oauth/callback")),
    page.getByRole("button", { name: "Authorize" }).click(),
  ]);
  await page.waitForLoadState("load");
  return response;
}
