import type { AutoPromotionDecision, AutoWaitingReason } from "../update/auto-promotion.js";
import type { UpdateFinding } from "../update/finding.js";
import { shortDigest } from "./promotion.js";
import type { Style } from "./render.js";
import type { AutomationPreview, Plan } from "./types.js";

type Paint = (style: Style, text: string) => string;

/** One update finding as a plan line: what would be proposed, or why not. */
export function updateLine(f: UpdateFinding, paint: Paint): string {
  switch (f.status) {
    case "candidate":
      return `  ${paint("green", "+")} update available: ${f.workspace} ${f.previousTag ?? f.current} → ${f.tag}  (${shortDigest(f.digest)})`;
    case "skipped":
      return `  ${paint("yellow", "-")} update skipped [${f.reason}]: ${f.workspace} ${f.previousTag ?? f.current} → ${f.tag}: ${f.detail}`;
    case "up-to-date": {
      const left = f.listed - f.considered;
      const filtered = left > 0 ? `; ${left} of ${f.listed} tags filtered out` : "";
      return `    up to date: ${f.workspace} ${f.newest} is the newest its policy allows${filtered}`;
    }
    case "no-match":
      return `  ${paint("yellow", "-")} update skipped [filtered-out]: ${f.workspace}: none of ${f.listed} tags passes its filter and policy`;
    case "error":
      return `  ${paint("red", "!")} update check failed: ${f.workspace} [${f.code}]: ${f.error}`;
  }
}

const WAITING: Record<AutoWaitingReason, string> = {
  "smoke-missing": "no smoke result of what it runs yet",
  "smoke-failed": "its smoke test failed",
  "already-proposed": "proposed before",
  reverted: "a person undid its automated promotion",
  "up-to-date": "Git already has it",
};

/** One auto-promotion decision as a plan line. */
export function promotionLine(d: AutoPromotionDecision, paint: Paint): string | undefined {
  if (d.status === "due") {
    return `  ${paint("green", "+")} promotion available: ${d.workspace} → ${d.image}  (${shortDigest(d.digest)} passed its smoke test on ${d.from})`;
  }
  if (d.reason === "up-to-date") return undefined;
  const digest = d.digest ? ` ${shortDigest(d.digest)}` : "";
  const commit = d.commit ? ` (${d.commit.slice(0, 12)})` : "";
  return `  ${paint("yellow", "-")} promotion skipped [${d.reason}]: ${d.workspace} ← ${d.from}${digest}: ${WAITING[d.reason]}${commit}`;
}

/** The `image automation` section: what `run` would propose next on its schedule, and what it holds back. */
export function renderAutomation(plan: Plan, paint: Paint): string[] {
  const preview: AutomationPreview | undefined = plan.automation;
  if (!preview) return [];
  const lines = [
    ...preview.updates.map((f) => updateLine(f, paint)),
    ...preview.promotions.flatMap((d) => promotionLine(d, paint) ?? []),
  ];
  if (preview.error)
    lines.push(`  ${paint("red", "!")} image automation could not be checked: ${preview.error}`);
  if (lines.length === 0) return [];
  return [paint("bold", "image automation (proposed by run, as commits)"), ...lines, ""];
}
