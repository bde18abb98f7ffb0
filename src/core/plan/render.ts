import { formatBytes } from "../bytes.js";
import { parseImageReference } from "../image/reference.js";
import type { AwaitReports } from "../kasm/report-wait.js";
import { shortDigest } from "./promotion.js";
import { renderAutomation } from "./render-automation.js";
import { renderRemovals } from "./render-removals.js";
import { renderSmoke } from "./render-smoke.js";
import type { Action, KasmAction, Plan, PullAction } from "./types.js";
import { describeUnknown } from "./unknown.js";

export type RenderOptions = { color: boolean };

const CODES = { green: 32, yellow: 33, red: 31, bold: 1, dim: 2 } as const;
export type Style = keyof typeof CODES;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** What an action is about, in a word or two: its image, or its workspace (and group) for Kasm. */
export function actionSubject(action: Action): string {
  if (action.type === "pull" || action.type === "promote" || action.type === "remove") return action.image;
  if (action.type === "kasm-group-add" || action.type === "kasm-group-remove")
    return `${action.workspace} → group ${action.group}`;
  return action.workspace;
}

/** The closing line, like terraform's: `Plan: 3 pulls on 2 agents, 1 promotion.` or `No changes.` */
export function summaryLine(plan: Plan): string {
  const agents = new Set(plan.actions.filter((a) => a.type === "pull").map((a) => (a as PullAction).agent))
    .size;
  const parts: string[] = [];
  if (plan.summary.pull > 0) parts.push(`${plural(plan.summary.pull, "pull")} on ${plural(agents, "agent")}`);
  if (plan.summary.promote > 0) parts.push(plural(plan.summary.promote, "promotion"));
  if (plan.summary.kasm) parts.push(plural(plan.summary.kasm, "Kasm change"));
  if (plan.summary.smoke) parts.push(plural(plan.summary.smoke, "smoke test"));
  const removals = plan.summary.remove ?? 0;
  if (removals > 0)
    parts.push(`${plural(removals, "removal")} (${formatBytes(plan.summary.removeBytes ?? 0)})`);
  const heldPulls = plan.blocked.filter((b) => b.type === "pull").length;
  const heldPromotions = plan.blocked.filter((b) => b.type === "promote").length;
  const kasm = plan.blocked.length - heldPulls - heldPromotions;
  const held = [
    ...(heldPromotions > 0 ? [plural(heldPromotions, "promotion")] : []),
    ...(heldPulls > 0 ? [plural(heldPulls, "pull")] : []),
  ];
  let blocked = held.length > 0 ? ` ${held.join(", ")} blocked.` : "";
  if (kasm > 0) blocked += ` ${plural(kasm, "Kasm change")} held.`;
  // "No changes." would read as converged; with checks missing it only speaks for what was checked.
  const none = plan.summary.incomplete ? "No changes in what could be checked." : "No changes.";
  return parts.length === 0 ? `${none}${blocked}` : `Plan: ${parts.join(", ")}.${blocked}`;
}

/** A field value for a change line: JSON, cut short. */
const shown = (value: unknown) => {
  const text = typeof value === "string" && value.startsWith("(") ? value : JSON.stringify(value ?? null);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};
/** What a switch waits for: this plan's pulls, then Kasm's own reports of the image on the agents that launch it. */
const afterNote = (after: number[], wait?: AwaitReports) => {
  const parts = [
    ...(after.length > 0 ? [`after ${plural(after.length, "pull")}`] : []),
    ...(wait ? [`once Kasm's agents ${wait.servers.map((s) => s.hostname).join(", ")} report it`] : []),
  ];
  return parts.length > 0 ? `  (${parts.join(", ")})` : "";
};

/** The `kasm <url>` section: `+` creates and group adds, `~` updates with their fields, `-` removals. */
function renderKasm(plan: Plan, paint: (style: Style, text: string) => string): string[] {
  const actions = plan.actions.filter((a): a is KasmAction => a.type.startsWith("kasm-"));
  if (actions.length === 0) return [];
  const lines = [paint("bold", `kasm ${plan.kasm?.url ?? ""}`.trim())];
  const plus = paint("green", "+");
  const minus = paint("red", "-");
  for (const a of actions) {
    if (a.type === "kasm-create") {
      const pin = a.record.hash ? ` pinned to ${a.record.hash}` : "";
      lines.push(
        `  ${plus} ${a.workspace}  new record for ${a.record.name}${pin}${afterNote(a.after, a.awaitReports)}`,
      );
    } else if (a.type === "kasm-update") {
      const what = a.adopt ? "adopt" : a.reason;
      lines.push(
        `  ${paint("yellow", "~")} ${a.workspace}  ${what} (record ${a.imageId})${afterNote(a.after, a.awaitReports)}`,
      );
      for (const c of a.changes) lines.push(`      ${c.field}: ${shown(c.from)} → ${shown(c.to)}`);
    } else if (a.type === "kasm-group-add" || a.type === "kasm-group-remove") {
      const sign = a.type === "kasm-group-add" ? plus : minus;
      lines.push(`  ${sign} ${a.workspace}  group ${a.group}`);
    } else {
      const verb = a.type === "kasm-disable" ? "disable" : "delete";
      lines.push(`  ${minus} ${a.workspace}  ${verb} (record ${a.imageId}): its Workspace left Git`);
    }
  }
  lines.push("");
  return lines;
}

/** The line that closes an incomplete plan, naming what to fix; undefined when everything was checked. */
export function incompleteLine(plan: Plan): string | undefined {
  if (!plan.summary.incomplete) return undefined;
  return `Plan incomplete: ${describeUnknown(plan.unknown)}. Fix the cause and plan again; nothing unchecked is known to be converged.`;
}

/** Renders a plan for people: by agent, then registry, then image; ends with the summary line. */
export function renderPlan(plan: Plan, options: RenderOptions): string {
  const paint = (style: Style, text: string) =>
    options.color ? `\x1b[${CODES[style]}m${text}\x1b[0m` : text;
  const lines: string[] = [
    paint("bold", `kasm-gitops plan: ${plan.branch} @ ${plan.revision.slice(0, 12)}`),
    "",
  ];

  const promotes = plan.actions.filter((a) => a.type === "promote");
  if (promotes.length > 0) {
    lines.push(paint("bold", "registry promotions"));
    for (const p of promotes) {
      lines.push(`  ${paint("yellow", "~")} ${p.image}  (workspace ${p.workspace})`);
      lines.push(
        `      ${shortDigest(p.currentDigest)} → ${shortDigest(p.targetDigest)}, the digest of ${p.source}`,
      );
    }
    lines.push("");
  }

  const byAgent = new Map<string, PullAction[]>();
  for (const action of plan.actions) {
    if (action.type !== "pull") continue;
    byAgent.set(action.agent, [...(byAgent.get(action.agent) ?? []), action]);
  }
  for (const [agent, pulls] of byAgent) {
    lines.push(paint("bold", `agent ${agent}`));
    const byRegistry = new Map<string, PullAction[]>();
    for (const pull of pulls) {
      const registry = parseImageReference(pull.image).registry;
      byRegistry.set(registry, [...(byRegistry.get(registry) ?? []), pull]);
    }
    for (const [registry, items] of byRegistry) {
      lines.push(`  ${registry}`);
      for (const pull of items) {
        const name = pull.image.slice(registry.length + 1);
        const change =
          pull.reason === "missing"
            ? `${paint("green", "+")} ${name}  missing → ${shortDigest(pull.targetDigest)}`
            : `${paint("yellow", "~")} ${name}  outdated ${shortDigest(pull.currentDigest)} → ${shortDigest(pull.targetDigest)}`;
        lines.push(`    ${change}  (${pull.workspaces.join(", ")})`);
      }
    }
    lines.push("");
  }

  lines.push(...renderKasm(plan, paint));
  lines.push(...renderSmoke(plan, paint));
  lines.push(...renderRemovals(plan, paint));
  lines.push(...renderAutomation(plan, paint));

  if (plan.blocked.length > 0) {
    lines.push(paint("bold", "blocked"));
    for (const b of plan.blocked) {
      const what =
        b.type === "pull"
          ? `pull ${b.image} on ${b.agent}`
          : b.type === "promote"
            ? `promote ${b.image}`
            : `${b.type} ${b.workspace}`;
      lines.push(`  ${paint("red", "!")} ${what} [${b.reason}]: ${b.message}`);
    }
    lines.push("");
  }
  if (plan.warnings.length > 0) {
    lines.push(paint("bold", "warnings"));
    for (const w of plan.warnings) lines.push(`  ${paint("yellow", "-")} ${w.code}: ${w.message}`);
    lines.push("");
  }
  lines.push(paint("bold", summaryLine(plan)));
  const incomplete = incompleteLine(plan);
  if (incomplete) lines.push(paint("red", incomplete));
  return `${lines.join("\n")}\n`;
}
