import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { KasmGitopsError } from "../core/errors.js";
import { renderPlan } from "../core/render-plan.js";
import { connectFleet, executeOnFleet, planSnapshot } from "../engine/reconcile.js";
import { countsAsFailure } from "../engine/remove-images.js";
import { parsePlanFile, staleReasons } from "../engine/stale.js";
import type { CommandContext } from "./command.js";
import { depsFor, loadOrReport, repoFlags } from "./context.js";
import { useColor } from "./io.js";
import { applySummary, jsonLines, pruneTotals, terminalProgress } from "./progress.js";

/** `kasm-gitops apply [PLANFILE]`: one reconcile, or exactly a saved plan when it is not stale. */
export async function applyCommand({ args, io }: CommandContext): Promise<number> {
  const flags = repoFlags(args, io);
  const deps = depsFor(flags, io);
  const planFile = args.positionals[0];
  if (args.positionals.length > 1) throw new KasmGitopsError("usage", "apply takes at most one PLANFILE");
  const snapshot = await loadOrReport(deps, io);
  if (!snapshot) return 1;
  const signal = io.stopSignal;
  let plan: Awaited<ReturnType<typeof planSnapshot>>["plan"];
  let fleet: Awaited<ReturnType<typeof connectFleet>>;
  if (planFile) {
    const path = resolve(io.cwd, planFile);
    plan = parsePlanFile(await readFile(path, "utf8"), planFile);
    fleet = await connectFleet(snapshot.set, deps, flags.agents);
    const reasons = await staleReasons(plan, snapshot, fleet, deps.clock, signal);
    if (reasons.length > 0) {
      throw new KasmGitopsError(
        "stale-plan",
        `the saved plan ${planFile} is stale; run plan again:\n  ${reasons.join("\n  ")}`,
      );
    }
  } else {
    ({ plan, fleet } = await planSnapshot(snapshot, deps, {
      refresh: "all",
      onlyAgents: flags.agents,
      ...(signal ? { signal } : {}),
    }));
  }
  const json = Boolean(args.values.json) || !io.isTTY;
  if (json) {
    const { actions: _, ...overview } = plan;
    io.stdout(`${JSON.stringify({ time: new Date().toISOString(), event: "plan", ...overview })}\n`);
  } else {
    io.stdout(renderPlan(plan, { color: useColor(io) }));
  }
  const onEvent = json ? jsonLines(io) : terminalProgress(io).onEvent;
  // SIGTERM/SIGINT drains: no new pull starts, in-flight pulls finish (a second signal kills the process).
  const results = await executeOnFleet(plan, fleet, deps, { ...(signal ? { drain: signal } : {}), onEvent });
  const failed = results.filter(countsAsFailure).length;
  if (json) {
    const summary = {
      event: "summary",
      revision: plan.revision,
      ok: results.filter((r) => r.status === "ok").length,
      failed,
      ...pruneTotals(results),
      converged: failed === 0,
    };
    io.stdout(`${JSON.stringify(summary)}\n`);
  } else {
    io.stdout(applySummary(results));
  }
  return failed === 0 ? 0 : 1;
}
