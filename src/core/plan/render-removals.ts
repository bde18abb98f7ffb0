import { formatBytes } from "../bytes.js";
import type { Style } from "./render.js";
import type { Plan, RemoveAction } from "./types.js";

/** Pruning, by agent: one `-` line per image with its size, why it goes, and its id. */
export function renderRemovals(plan: Plan, paint: (style: Style, text: string) => string): string[] {
  const byAgent = new Map<string, RemoveAction[]>();
  for (const action of plan.actions) {
    if (action.type === "remove") byAgent.set(action.agent, [...(byAgent.get(action.agent) ?? []), action]);
  }
  const lines: string[] = [];
  for (const [agent, removals] of byAgent) {
    lines.push(paint("bold", `agent ${agent}: prune`));
    for (const r of removals) {
      const also = r.tags.length > 1 ? ` (also ${r.tags.slice(1).join(", ")})` : "";
      lines.push(
        `  ${paint("red", "-")} ${r.image}${also}  ${formatBytes(r.bytes)}  ${r.reason}, id ${r.id.replace(/^sha256:/, "").slice(0, 12)}`,
      );
    }
    lines.push("");
  }
  return lines;
}
