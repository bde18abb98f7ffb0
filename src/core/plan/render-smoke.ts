import { shortDigest } from "./promotion.js";
import type { Style } from "./render.js";
import type { Plan } from "./types.js";

/** The `smoke tests in Kasm` section: the tests a run starts (after what), and the results it relies on. */
export function renderSmoke(plan: Plan, paint: (style: Style, text: string) => string): string[] {
  const tests = plan.actions.flatMap((a) => (a.type === "smoke" ? [a] : []));
  const results = plan.smoke?.results ?? [];
  if (tests.length === 0 && results.length === 0) return [];
  const lines = [paint("bold", "smoke tests in Kasm")];
  for (const t of tests) {
    const record = t.imageId ? `record ${t.imageId}` : "the new record";
    const after = t.after.length > 0 ? `, after ${t.after.map((i) => plan.actions[i]?.type).join(", ")}` : "";
    const retry = t.reason === "retry" ? " (failed before; the Workspace changed since)" : "";
    lines.push(
      `  ${paint("green", "+")} ${t.workspace}  test ${shortDigest(t.digest)} in ${record}${after}${retry}`,
    );
  }
  for (const r of results) {
    const mark = r.result === "pass" ? paint("green", "✓") : paint("red", "✗");
    lines.push(
      `  ${mark} ${r.workspace}  ${shortDigest(r.digest)} ${r.result}ed ${r.finishedAt}: ${r.message}`,
    );
  }
  lines.push("");
  return lines;
}
