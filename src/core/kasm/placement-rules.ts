/**
 * Where Kasm launches a record, judged from Git alone: once Agents name their Kasm agents, `validate` sees their
 * zones and warns about a Workspace whose agents are neither one agent nor exactly one zone's Agents, the same
 * `kasm-placement` warning `plan` gives from Kasm's own report.
 */
import { error, field, type Identified, stringMap, text } from "../manifest/rule-context.js";
import { selectorMatches } from "../manifest/selectors.js";
import { placementWarningText, unnamedMismatch, zoneMismatch } from "./agents.js";

/** An Agent as the placement rule reads it. */
type GitAgent = { name: string; labels?: Record<string, string>; server?: string; zone?: string };

/** Why a workspace's record could not be restricted to the agents it selects, or undefined when it can. */
export function gitPlacementMismatch(
  selector: Record<string, string> | undefined,
  agents: readonly GitAgent[],
): string | undefined {
  const selected = agents.filter((a) => selectorMatches(selector, a.labels));
  // No agent at all is selector-matches-nothing's to say.
  if (selected.length === 0) return undefined;
  const unnamed = selected.filter((a) => !a.server).map((a) => a.name);
  if (unnamed.length > 0) return unnamedMismatch(unnamed);
  if (new Set(selected.map((a) => a.server!.toLowerCase())).size === 1) return undefined;
  const zone = selected[0]!.zone;
  if (zone !== undefined && selected.every((a) => a.zone === zone)) {
    const members = agents.filter((a) => a.zone === zone);
    if (members.length === selected.length) return undefined;
  }
  return zoneMismatch(selected.map((a) => a.name));
}

/** Warns, at each Workspace's selector, when Kasm may launch its record beyond the agents it selects. */
export function checkPlacement(items: readonly Identified[], hasKasmServer: boolean): void {
  if (!hasKasmServer) return;
  const agents: GitAgent[] = [];
  let named = false;
  for (const item of items) {
    if (item.kind !== "Agent" || item.name === undefined) continue;
    const kasm = field(item, "/spec/kasm");
    if (kasm !== undefined) named = true;
    const server = text(item, "/spec/kasm/server");
    const zone = text(item, "/spec/kasm/zone");
    const labels = stringMap(field(item, "/metadata/labels"));
    agents.push({
      name: item.name,
      ...(labels ? { labels } : {}),
      ...(server ? { server } : {}),
      ...(zone ? { zone } : {}),
    });
  }
  // Without any Agent naming its Kasm agent, placement is left to Kasm, in validate as in plan.
  if (!named) return;
  for (const item of items) {
    if (item.kind !== "Workspace" || item.name === undefined) continue;
    if (text(item, "/spec/kasm/placement") === "any") continue;
    const raw = field(item, "/spec/agents/matchLabels");
    const selector = stringMap(raw);
    if (raw !== undefined && !selector) continue;
    const mismatch = gitPlacementMismatch(selector, agents);
    if (!mismatch) continue;
    const pointer = raw !== undefined ? "/spec/agents/matchLabels" : "/spec/image";
    item.ref.add({
      ...error(pointer, "kasm-placement", placementWarningText(item.name, mismatch), "key"),
      severity: "warning",
    });
  }
}
