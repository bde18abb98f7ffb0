/** The status page's matrix: agents (rows) × workspaces (columns), one symbol and word or digest per cell. */
import type { CellState, FleetCell, FleetView } from "../core/status/fleet-view.js";
import type { StatusView } from "../core/status/status-view.js";
import { type Html, html } from "./html.js";

/** Symbol and word of each state: colour is never the only signal. */
export const CELL_LABELS: Record<CellState | "not-selected", { symbol: string; word: string }> = {
  failed: { symbol: "✖", word: "failed" },
  unknown: { symbol: "?", word: "unknown" },
  blocked: { symbol: "⊘", word: "blocked" },
  pulling: { symbol: "↓", word: "pulling" },
  pending: { symbol: "◷", word: "pending" },
  held: { symbol: "✔", word: "held" },
  "not-selected": { symbol: "·", word: "not selected" },
};

/** `sha256:0123456789ab…` → `0123456789ab`: enough to tell digests apart at a glance. */
export const shortDigest = (digest: string | undefined) =>
  digest ? digest.slice(digest.indexOf(":") + 1, digest.indexOf(":") + 13) : "";

const percent = (done: number, total: number) =>
  total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 0;

/** The text inside a cell: a symbol, then the short digest (held), the progress (pulling) or the state's word. */
function cellText(cell: FleetCell): string {
  const { symbol, word } = CELL_LABELS[cell.state];
  if (cell.state === "held") return `${symbol} ${shortDigest(cell.digest) || word}`;
  if (cell.state === "pulling" && cell.progress && cell.progress.bytesTotal > 0)
    return `${symbol} ${percent(cell.progress.bytesDone, cell.progress.bytesTotal)}%`;
  return `${symbol} ${word}`;
}

function cellTitle(agent: string, workspace: string, cell: FleetCell): string {
  const lines = [`${agent} × ${workspace}: ${CELL_LABELS[cell.state].word}`, cell.image];
  if (cell.digest) lines.push(cell.digest);
  const p = cell.progress;
  if (cell.state === "pulling" && p)
    lines.push(`${p.layersDone}/${p.layersTotal} layers, ${p.bytesDone} of ${p.bytesTotal} bytes`);
  if (cell.why) lines.push(cell.why);
  return lines.join("\n");
}

/** Counts of each state over the whole matrix, worst first. */
export function cellCounts(fleet: FleetView): { state: CellState | "not-selected"; count: number }[] {
  const counts = new Map<CellState | "not-selected", number>();
  for (const agent of fleet.agents) {
    const row = fleet.cells[agent.name] ?? {};
    for (const w of fleet.workspaces) {
      const state = row[w.name]?.state ?? "not-selected";
      counts.set(state, (counts.get(state) ?? 0) + 1);
    }
  }
  return (Object.keys(CELL_LABELS) as (CellState | "not-selected")[]).map((state) => ({
    state,
    count: counts.get(state) ?? 0,
  }));
}

function agentHeader(
  agent: FleetView["agents"][number],
  observed: StatusView["agents"][string] | undefined,
): Html {
  const labels = Object.entries(agent.labels).map(([k, v]) => `${k}=${v}`);
  const mark = !agent.enabled
    ? html` <span class="tag">disabled</span>`
    : observed && !observed.reachable
      ? html` <span class="tag bad" title="${observed.error ?? ""}">✖ unreachable</span>`
      : "";
  const bytes = observed?.imageBytes !== undefined ? `images on disk: ${observed.imageBytes} bytes` : "";
  return html`<th scope="row" title="${[agent.name, ...labels, bytes].filter(Boolean).join("\n")}">${agent.name}${mark}${
    labels.length > 0 ? html`<small>${labels.join(" ")}</small>` : ""
  }</th>`;
}

/** The matrix, its counts and its legend; a sticky header row and first column keep it readable when it scrolls. */
export function renderMatrix(fleet: FleetView, agents: StatusView["agents"]): Html {
  const head = fleet.workspaces.map(
    (w) =>
      html`<th scope="col" data-workspace="${w.name}" title="${[w.name, w.friendlyName ?? "", w.image, w.enabled ? "" : "disabled"].filter(Boolean).join("\n")}">${w.name}${w.enabled ? "" : html` <span class="tag">disabled</span>`}${
        w.friendlyName !== undefined ? html`<small>${w.friendlyName}</small>` : ""
      }</th>`,
  );
  const rows = fleet.agents.map((agent) => {
    const row = fleet.cells[agent.name] ?? {};
    const cells = fleet.workspaces.map((w) => {
      const cell = row[w.name];
      if (!cell)
        return html`<td class="s-not-selected" data-workspace="${w.name}" title="${`${agent.name} × ${w.name}: not selected`}">·</td>`;
      return html`<td class="s-${cell.state}" data-workspace="${w.name}" title="${cellTitle(agent.name, w.name, cell)}">${cellText(cell)}</td>`;
    });
    return html`<tr data-agent="${agent.name}">${agentHeader(agent, agents[agent.name])}${cells}</tr>`;
  });
  const counts = cellCounts(fleet).map(
    ({ state, count }) =>
      html`<li class="s-${state}"><span class="sym">${CELL_LABELS[state].symbol}</span> ${CELL_LABELS[state].word} <b>${count}</b></li>`,
  );
  return html`<ul class="legend" aria-label="cells by state">${counts}</ul>
<div class="matrix" tabindex="0"><table id="matrix">
<thead><tr><th scope="col" class="corner">agent \\ workspace</th>${head}</tr></thead>
<tbody>${rows.map((r) => html`${r}\n`)}</tbody>
</table></div>`;
}
