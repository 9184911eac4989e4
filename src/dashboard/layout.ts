// The page frame: landmarks, navigation, a skip link, and one small stylesheet (inline: the sign-in and error pages need it too).
import { html, Safe, type Value } from "./html.js";

const STYLE = `
:root { --fg:#1f2328; --muted:#59636e; --bg:#fff; --line:#d1d9e0; --accent:#0550ae; --ok:#1a7f37; --wait:#9a6700; --bad:#cf222e; --err:#8250df; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline:3px solid #0969da; outline-offset:2px; }
.skip { position:absolute; left:-999px; top:0; background:#fff; padding:.5rem 1rem; }
.skip:focus { left:.5rem; z-index:10; }
header.site { display:flex; align-items:center; gap:1.5rem; padding:.6rem 1.5rem; border-bottom:1px solid var(--line); background:#f6f8fa; flex-wrap:wrap; }
header.site .brand { font-weight:700; font-size:1.05rem; color:var(--fg); text-decoration:none; }
header.site nav ul { display:flex; gap:1rem; list-style:none; margin:0; padding:0; flex-wrap:wrap; }
header.site nav a[aria-current="page"] { font-weight:700; color:var(--fg); text-decoration:none; border-bottom:2px solid var(--accent); }
header.site .who { margin-left:auto; display:flex; gap:.75rem; align-items:center; color:var(--muted); }
main { padding:1rem 1.5rem 3rem; max-width:1400px; }
h1 { font-size:1.45rem; margin:.4rem 0 1rem; }
h2 { font-size:1.15rem; margin:1.6rem 0 .6rem; }
table { border-collapse:collapse; width:100%; margin:.5rem 0 1rem; }
th, td { text-align:left; padding:.35rem .6rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f6f8fa; font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:.9em; }
.badge { display:inline-block; padding:0 .5rem; border-radius:1rem; font-size:.85em; font-weight:600; border:1px solid currentColor; white-space:nowrap; }
.o-allowed { color:var(--ok); } .o-needs_approval { color:var(--wait); } .o-denied { color:var(--bad); } .o-error { color:var(--err); } .o-not_governed { color:var(--muted); }
form.filters { display:flex; flex-wrap:wrap; gap:.6rem 1rem; align-items:flex-end; padding:.75rem; background:#f6f8fa; border:1px solid var(--line); border-radius:6px; }
form.filters label { display:flex; flex-direction:column; font-size:.85rem; color:var(--muted); gap:.15rem; }
input, select, button { font:inherit; padding:.3rem .5rem; border:1px solid #8c959f; border-radius:6px; background:#fff; color:var(--fg); }
button { cursor:pointer; background:#f6f8fa; }
button.primary { background:#1f883d; color:#fff; border-color:#1a7f37; }
.pager { display:flex; gap:1rem; margin:.5rem 0; }
dl.facts { display:grid; grid-template-columns: max-content 1fr; gap:.25rem 1rem; margin:0 0 1rem; }
dl.facts dt { color:var(--muted); }
dl.facts dd { margin:0; }
section.rule { border:1px solid var(--line); border-radius:6px; padding:.5rem 1rem; margin:.75rem 0; }
section.rule h3 { font-size:1rem; margin:.3rem 0 .5rem; }
ul.files { columns: 2; margin:.25rem 0; }
.note { color:var(--muted); }
.status-ok { color:var(--ok); font-weight:700; } .status-bad { color:var(--bad); font-weight:700; }
.charts { display:grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap:1rem; }
figure { margin:0; border:1px solid var(--line); border-radius:6px; padding:.5rem; }
.chart-box { position:relative; height:280px; }
figcaption { font-weight:600; margin-bottom:.25rem; }
.bar { background:#eaeef2; border-radius:4px; height:.6rem; min-width:6rem; }
.bar > span { display:block; height:100%; border-radius:4px; background:var(--accent); }
.bar.over > span { background:var(--bad); }
pre { background:#f6f8fa; padding:.75rem; overflow:auto; max-height:30rem; border-radius:6px; }
`;

export type Section = "decisions" | "agents" | "budgets" | "overrides" | "verify" | "none";

const NAV: Array<[Section, string, string]> = [
  ["decisions", "/dashboard", "Decisions"],
  ["agents", "/dashboard/agents", "Agents"],
  ["budgets", "/dashboard/budgets", "Budgets"],
  ["overrides", "/dashboard/overrides", "Overrides"],
  ["verify", "/dashboard/verify", "Verification"],
];

export interface Viewer {
  /** The signed-in GitHub login; null for the local, single-user dashboard. */
  login: string | null;
}

export function page(opts: { title: string; section: Section; viewer: Viewer | null; body: Value; scripts?: string[] }): Safe {
  const nav = opts.viewer
    ? html`<nav aria-label="Main">
        <ul>
          ${NAV.map(([key, href, label]) => html`<li><a href="${href}" ${key === opts.section ? new Safe(' aria-current="page"') : ""}>${label}</a></li>`)}
        </ul>
      </nav>`
    : "";
  const who = opts.viewer?.login
    ? html`<div class="who">
        <span>Signed in as <strong>${opts.viewer.login}</strong></span>
        <form method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form>
      </div>`
    : opts.viewer
      ? html`<div class="who"><span>Local, read-only</span></div>`
      : "";
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${opts.title} · Governor</title>
        <style>
          ${new Safe(STYLE)}
        </style>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="site" role="banner"><a class="brand" href="/dashboard">Governor audit</a>${nav}${who}</header>
        <main id="main" tabindex="-1">${opts.body}</main>
        ${(opts.scripts ?? []).map((s) => html`<script src="${s}" defer></script>`)}
      </body>
    </html>`;
}

export function outcomeBadge(outcome: string): Safe {
  const label = outcome.replace(/_/g, " ");
  return html`<span class="badge o-${/^[a-z_]+$/.test(outcome) ? outcome : "unknown"}">${label}</span>`;
}
