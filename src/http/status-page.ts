/**
 * The daemon's status page (`GET /`): one HTML page rendered on the server from the same state as `/status`,
 * most urgent first. Pure: data and the clock in, HTML out; every value is escaped (html.ts).
 */
import { Cron } from "croner";
import { versionOf } from "../core/authoring/promote-target.js";
import type { AutoPromotionView, ProposalView, UpdateView } from "../core/status/automation-view.js";
import type { StatusView } from "../core/status/status-view.js";
import { type Html, html } from "./html.js";
import { renderMatrix, shortDigest } from "./status-page-matrix.js";

/** Where the page's script and stylesheet are served (same origin, so `script-src 'self'` allows them). */
export const PAGE_SCRIPT = "/status-page.js";
export const PAGE_STYLE = "/status-page.css";

export type PageState = "starting" | "converged" | "progressing" | "degraded";
const STATE_LABELS: Record<PageState, string> = {
  degraded: "✖ degraded",
  progressing: "▲ progressing",
  converged: "✔ converged",
  starting: "… starting",
};

/** Degraded wins; a cycle pulling or promoting is progressing; else what the last cycle found. */
export function pageState(status: StatusView): PageState {
  if (status.state === "starting" || status.state === "degraded") return status.state;
  const fleet = status.fleet;
  const moving =
    fleet !== undefined &&
    (fleet.promotions.some((p) => p.state === "pending") ||
      Object.values(fleet.cells).some((row) =>
        Object.values(row).some((c) => c.state === "pulling" || c.state === "pending"),
      ));
  return status.running && moving ? "progressing" : "converged";
}

const time = (iso: string | undefined) =>
  iso ? html`<time datetime="${iso}">${iso.replace("T", " ").replace(/\.\d+Z$/, "Z")}</time>` : "never";
const rev = (revision: string | undefined) =>
  revision ? html`<code title="${revision}">${revision.slice(0, 12)}</code>` : "none";
const seconds = (from: string, to: string) => ((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1);

/** When the next tag refresh runs, from the schedule's cron expression; undefined when it cannot tell. */
function nextRefresh(expression: string, now: Date): string | undefined {
  try {
    return new Cron(expression, { paused: true }).nextRun(now)?.toISOString();
  } catch {
    return undefined;
  }
}

function stateSection(status: StatusView, state: PageState): Html {
  const reasons = status.reasons.map((r) => html`<li>${r}</li>`);
  const refusal = status.refusal
    ? html`<p class="bad">Tip ${rev(status.refusal.revision)} refused (${status.refusal.reason}) ${status.refusal.count} time(s) since ${time(status.refusal.since)}; the last good revision stays in force.</p>`
    : "";
  return html`<section id="state" class="state-${state}">
<h1><span class="badge">${STATE_LABELS[state]}</span> kasm-gitops on <code>${status.branch}</code></h1>
${reasons.length > 0 ? html`<ol class="reasons">${reasons}</ol>` : ""}${refusal}
</section>`;
}

function revisionSection(status: StatusView, now: Date): Html {
  const last = status.lastCycle;
  const running = status.running;
  const schedule = status.schedule;
  const refresh = schedule ? nextRefresh(schedule.refresh, now) : undefined;
  return html`<section id="revision"><h2>Revision and cycles</h2><dl>
<dt>Branch</dt><dd><code>${status.branch}</code></dd>
<dt>Revision in force</dt><dd>${rev(status.lastGoodRevision)}${
    status.revision && status.revision !== status.lastGoodRevision
      ? html` (branch tip ${rev(status.revision)})`
      : ""
  }</dd>
<dt>Last cycle</dt><dd>${
    last
      ? html`<code>${last.id}</code> (${last.trigger}) <b>${last.result}</b>, finished ${time(last.finishedAt)} in ${seconds(last.startedAt, last.finishedAt)} s${
          last.error ? html`<br><span class="bad">${last.error}</span>` : ""
        }`
      : "none yet"
  }</dd>
${running ? html`<dt>Running</dt><dd><code>${running.id}</code> (${running.trigger}) since ${time(running.startedAt)}</dd>` : ""}
<dt>Next</dt><dd>${
    schedule
      ? html`branch checked every ${schedule.interval}; tags refreshed on <code>${schedule.refresh}</code>${refresh ? html`, next ${time(refresh)}` : ""}${
          schedule.workspaceCrons.length > 0
            ? html`; workspace schedules <code>${schedule.workspaceCrons.join(", ")}</code>`
            : ""
        }`
      : "not scheduled yet"
  }</dd>
</dl></section>`;
}

function promotionsSection(status: StatusView): Html | "" {
  const promotions = status.fleet?.promotions ?? [];
  if (promotions.length === 0) return "";
  const symbol = { done: "✔", pending: "◷", waiting: "◷", blocked: "⊘", failed: "✖", unknown: "?" };
  const rows = promotions.map(
    (p) =>
      html`<tr class="p-${p.state}"><th scope="row">${p.workspace}</th><td>${p.from}</td><td>${p.movingTags.join(", ")}</td><td>${symbol[p.state]} ${p.state}</td><td><code title="${p.digest ?? ""}">${shortDigest(p.digest)}</code></td><td>${p.message ?? ""}</td></tr>`,
  );
  return html`<section id="promotions"><h2>Promotions</h2><table>
<thead><tr><th scope="col">workspace</th><th scope="col">from</th><th scope="col">moving tags</th><th scope="col">state</th><th scope="col">digest</th><th scope="col">why</th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
}

/** An image in Git as its tag (or short digest), the whole reference in the tooltip. */
function imageTag(image: string | undefined): Html | string {
  if (!image) return "?";
  let version = image;
  try {
    version = versionOf(image);
  } catch {}
  return html`<code title="${image}">${version}</code>`;
}

function proposalCell(p: ProposalView | undefined): Html | string {
  if (!p) return "none";
  const where = html`${p.branch ? html` on <code>${p.branch}</code>` : ""}${p.commit ? html` ${rev(p.commit)}` : ""}`;
  const bad = p.status === "refused" || p.status === "error";
  return html`${bad ? html`<span class="bad">${p.status}</span>` : p.status} <code title="${p.digest}">${p.tag}</code>${where}, ${time(p.at)}${p.message ? html`<br>${p.message}` : ""}`;
}

function candidateCell(u: UpdateView): Html {
  if (u.status === "candidate" && u.tag === u.inGitTag) return html`✔ <code>${u.tag}</code> in Git`;
  if (u.status === "candidate") return html`◷ <code title="${u.digest ?? ""}">${u.tag ?? ""}</code>`;
  if (u.status === "up-to-date") return html`✔ newest${u.newest ? html` (<code>${u.newest}</code>)` : ""}`;
  if (u.result === "error") return html`<span class="bad">✖ ${u.error ?? u.status}</span>`;
  // Held back: the candidate, and why in the cell's title (a person undid it, a failed smoke test, suspend).
  if (u.status === "skipped")
    return html`⏸ <code title="${u.digest ?? ""}">${u.tag ?? ""}</code> <span title="${u.detail ?? ""}">held: ${u.reason ?? ""}</span>`;
  // A status this page does not know is shown as it came, with its reason and tag.
  return html`${u.status}${u.reason ? `: ${u.reason}` : ""}${u.tag ? html` <code title="${u.digest ?? ""}">${u.tag}</code>` : ""}`;
}

const promotionCell = (p: AutoPromotionView) =>
  html`${p.status === "due" ? "◷ due" : `${p.status}${p.reason ? `: ${p.reason}` : ""}`}${p.digest ? html` <code title="${p.digest}">${shortDigest(p.digest)}</code>` : ""}`;

function automationSection(status: StatusView): Html | "" {
  const a = status.automation;
  const updates = Object.entries(a?.updates ?? {}).map(
    ([w, u]) =>
      html`<tr class="a-${u.result}"><th scope="row">${w}</th><td>update</td><td>${imageTag(u.image)}</td><td>${candidateCell(u)}</td><td>${time(u.checkedAt)}</td><td>${proposalCell(u.lastProposal)}</td></tr>`,
  );
  const promotions = Object.entries(a?.promotions ?? {}).map(
    ([w, p]) =>
      html`<tr><th scope="row">${w}</th><td>promote from ${p.from}</td><td>${imageTag(p.image)}</td><td>${promotionCell(p)}</td><td>${time(p.checkedAt)}</td><td>${proposalCell(p.lastProposal)}</td></tr>`,
  );
  if (!a || (updates.length === 0 && promotions.length === 0 && !a.lastError)) return "";
  const error = a.lastError
    ? html`<p class="bad">Last ${a.lastError.kind === "update" ? "update check" : "auto-promotion"} failed ${time(a.lastError.at)}: ${a.lastError.message}</p>`
    : "";
  return html`<section id="automation"><h2>Automation</h2>${error}<table>
<thead><tr><th scope="col">workspace</th><th scope="col">automation</th><th scope="col">in Git</th><th scope="col">candidate</th><th scope="col">checked</th><th scope="col">last proposal</th></tr></thead>
<tbody>${updates}${promotions}</tbody></table></section>`;
}

function kasmSection(status: StatusView): Html | "" {
  const kasm = status.kasm;
  if (!kasm) return "";
  const names = new Map((status.fleet?.workspaces ?? []).map((w) => [w.name, w.friendlyName ?? ""]));
  const records = Object.entries(status.fleet?.kasmRecords ?? {}).map(
    ([workspace, r]) =>
      html`<tr class="k-${r.state}"><th scope="row">${workspace}</th><td>${names.get(workspace) ?? ""}</td><td>${r.state}</td><td>${(r.fields ?? []).join(", ")}</td><td>${r.message ?? ""}</td></tr>`,
  );
  return html`<section id="kasm"><h2>Kasm records</h2>
<p><code>${kasm.url}</code>: ${kasm.reachable ? "reachable" : html`<span class="bad">✖ not reachable</span>`}; ${kasm.managed} managed, ${kasm.drift} drifted (put back by the apply), ${kasm.pending} held or waiting.${
    kasm.lastError
      ? html`<br><span class="bad">Last error ${time(kasm.lastError.at)}: ${kasm.lastError.message}</span>`
      : ""
  }</p>
${
  records.length > 0
    ? html`<table><thead><tr><th scope="col">workspace</th><th scope="col">friendly name</th><th scope="col">record</th><th scope="col">fields</th><th scope="col">why</th></tr></thead><tbody>${records}</tbody></table>`
    : ""
}</section>`;
}

function pruneSection(status: StatusView): Html | "" {
  const prune = Object.entries(status.prune ?? {});
  if (prune.length === 0) return "";
  const rows = prune.map(
    ([agent, p]) =>
      html`<tr><th scope="row">${agent}</th><td>${time(p.at)}</td><td>${p.removed}</td><td>${(p.freedBytes / 1e6).toFixed(1)} MB</td><td>${p.kept}</td><td>${p.failed}${p.error ? html` <span class="bad">${p.error}</span>` : ""}</td></tr>`,
  );
  return html`<section id="prune"><h2>Prune</h2><table>
<thead><tr><th scope="col">agent</th><th scope="col">last pruned</th><th scope="col">removed</th><th scope="col">freed</th><th scope="col">kept (in use)</th><th scope="col">failed</th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
}

function eventsSection(status: StatusView): Html {
  const symbol = { info: "•", warn: "▲", error: "✖" };
  const items = [...(status.events ?? [])]
    .reverse()
    .map(
      (e) =>
        html`<li class="e-${e.level}">${time(e.at)} <span class="sym">${symbol[e.level]}</span> ${e.message}${e.count ? ` (×${e.count})` : ""}</li>`,
    );
  return html`<section id="events"><h2>Recent events</h2>${items.length > 0 ? html`<ol>${items}</ol>` : html`<p>None yet.</p>`}</section>`;
}

/** The page's `<main>`: what `/events` sends again whenever the status changes. */
export function renderStatusMain(status: StatusView, now: Date): Html {
  const state = pageState(status);
  const fleet = status.fleet;
  const matrix = fleet
    ? html`<section id="fleet"><h2>Fleet: ${fleet.agents.length} agent(s) × ${fleet.workspaces.length} workspace(s)</h2>${renderMatrix(fleet, status.agents)}</section>`
    : html`<section id="fleet"><h2>Fleet</h2><p>No cycle has planned yet.</p></section>`;
  return html`<main id="status" data-state="${state}" data-title="${`kasm-gitops: ${state}`}">
${stateSection(status, state)}
${revisionSection(status, now)}
${matrix}
${promotionsSection(status)}
${automationSection(status)}
${kasmSection(status)}
${pruneSection(status)}
${eventsSection(status)}
<p class="rendered">Rendered ${time(now.toISOString())}.</p>
</main>`;
}

/** The whole page; the script only replaces `<main>` with each new one, so it reads the same without JavaScript. */
export function renderStatusPage(status: StatusView, now: Date): string {
  const state = pageState(status);
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${`kasm-gitops: ${state}`}</title>
<link rel="stylesheet" href="${PAGE_STYLE}">
<script src="${PAGE_SCRIPT}" defer></script>
</head><body>
<p id="live" role="status">Snapshot: reload for news (live updates need JavaScript).</p>
${renderStatusMain(status, now)}
</body></html>
`.text;
}
