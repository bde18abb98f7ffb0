/**
 * The status page's stylesheet and script, served from the daemon as they are written here: no build step,
 * no framework, small enough to read. The script only swaps in the `<main>` that `/events` sends.
 */

export const STATUS_PAGE_CSS = `:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #5b636e; --line: #d0d7de;
  --ok: #d5f5dc; --warn: #fff1c2; --bad: #ffd8d3; --info: #dbeafe; --none: #f3f4f6; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9aa4af; --line: #30363d;
  --ok: #12361f; --warn: #3a2f0b; --bad: #4a1714; --info: #0f2a4a; --none: #161b22; } }
body { font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0 1rem 2rem; }
code { font-family: ui-monospace, monospace; font-size: 0.92em; }
h1 { font-size: 1.3rem; margin: 0.6rem 0; } h2 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; }
#live { color: var(--muted); font-size: 0.85em; margin: 0.4rem 0 0; }
.badge { padding: 0.1rem 0.5rem; border-radius: 0.3rem; border: 1px solid var(--line); }
.state-converged .badge { background: var(--ok); } .state-progressing .badge { background: var(--info); }
.state-degraded .badge { background: var(--bad); } .state-starting .badge { background: var(--none); }
.bad { color: inherit; background: var(--bad); padding: 0 0.2rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0; } dd { margin: 0; }
table { border-collapse: separate; border-spacing: 0; }
th, td { border-bottom: 1px solid var(--line); padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
small { display: block; color: var(--muted); font-weight: normal; max-width: 14rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tag { font-size: 0.8em; border: 1px solid var(--line); border-radius: 0.3rem; padding: 0 0.3rem; }
.matrix { overflow: auto; max-height: 75vh; border: 1px solid var(--line); }
.matrix th, .matrix td { white-space: nowrap; font-size: 0.9em; }
.matrix thead th { position: sticky; top: 0; background: var(--bg); z-index: 1; }
.matrix tbody th { position: sticky; left: 0; background: var(--bg); }
.matrix thead th.corner { left: 0; z-index: 2; }
.s-held { background: var(--ok); } .s-pulling, .s-pending { background: var(--info); }
.s-blocked, .s-unknown { background: var(--warn); } .s-failed { background: var(--bad); }
.s-not-selected { color: var(--muted); text-align: center; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 0.4rem; padding: 0; }
.legend li { border: 1px solid var(--line); border-radius: 0.3rem; padding: 0.1rem 0.5rem; }
#events ol { list-style: none; padding: 0; } #events li { padding: 0.1rem 0; }
.e-error .sym { color: #c0362c; } .e-warn .sym { color: #9a6700; }
.rendered { color: var(--muted); font-size: 0.85em; }
`;

export const STATUS_PAGE_JS = `"use strict";
// kasm-gitops status page: replaces the server-rendered <main> with each new one /events sends.
(() => {
  const say = (text) => {
    const live = document.getElementById("live");
    if (live) live.textContent = text;
  };
  if (typeof EventSource !== "function") return;
  const token = new URLSearchParams(location.search).get("token");
  const source = new EventSource("/events" + (token ? "?token=" + encodeURIComponent(token) : ""));
  source.addEventListener("open", () => say("Live: updated as the daemon works."));
  source.addEventListener("error", () => say("Connection lost: retrying…"));
  source.addEventListener("page", (event) => {
    const next = new DOMParser().parseFromString(event.data, "text/html").getElementById("status");
    const main = document.getElementById("status");
    if (!next || !main) return;
    // Keep where the reader was: the matrix's scroll position.
    const before = main.querySelector(".matrix");
    const scroll = before ? [before.scrollLeft, before.scrollTop] : undefined;
    main.replaceWith(document.adoptNode(next));
    const after = next.querySelector(".matrix");
    if (after && scroll) [after.scrollLeft, after.scrollTop] = scroll;
    document.title = next.dataset.title || document.title;
    say("Live: updated " + new Date().toLocaleTimeString() + ".");
  });
})();
`;
