import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { createLogger, createNotifierFor } from "../app.js";
import { KasmGitopsError } from "../core/errors.js";
import { renderPlan } from "../core/render-plan.js";
import { describeUnknown } from "../core/unknown.js";
import { connectFleet, executeOnFleet, planSnapshot } from "../engine/reconcile.js";
import { countsAsFailure } from "../engine/remove-images.js";
import { rolloutEvents } from "../engine/rollout-events.js";
import { parsePlanFile, staleReasons } from "../engine/stale.js";
import type { CommandContext } from "./command.js";
import { depsFor, loadOrReport, repoFlags } from "./context.js";
import { eventLines } from "./event-lines.js";
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
  // JSON lines only when asked; a CI log (no terminal) gets one plain line per event.
  const json = Boolean(args.values.json);
  if (json) {
    const { actions: _, ...overview } = plan;
    io.stdout(`${JSON.stringify({ time: new Date().toISOString(), event: "plan", ...overview })}\n`);
  } else {
    io.stdout(renderPlan(plan, { color: useColor(io) }));
  }
  const onEvent = json
    ? jsonLines(io)
    : io.isTTY
      ? terminalProgress(io).onEvent
      : eventLines((line) => io.stdout(line));
  // SIGTERM/SIGINT drains: no new pull starts, in-flight pulls finish (a second signal kills the process).
  const results = await executeOnFleet(plan, fleet, deps, { ...(signal ? { drain: signal } : {}), onEvent });
  const failed = results.filter(countsAsFailure).length;
  // Converged only when every action succeeded and nothing was left unchecked (an unknown is not good).
  const converged = failed === 0 && !plan.summary.incomplete;
  if (json) {
    const summary = {
      event: "summary",
      revision: plan.revision,
      ok: results.filter((r) => r.status === "ok").length,
      failed,
      ...pruneTotals(results),
      unknown: plan.unknown.length,
      incomplete: plan.summary.incomplete,
      converged,
    };
    io.stdout(`${JSON.stringify(summary)}\n`);
  } else {
    io.stdout(applySummary(results, plan));
  }
  if (args.values.notify) {
    const logger = createLogger((args.values["log-level"] as string | undefined) ?? "info");
    const notifier = createNotifierFor(io.env, flags.secrets, logger);
    notifier.configure(snapshot.set.notifications ?? []);
    const context = { revision: plan.revision, branch: plan.branch, at: new Date() };
    for (const event of rolloutEvents(context, results)) notifier.emit(event);
    if (plan.summary.incomplete) {
      notifier.emit({
        event: "degraded",
        revision: plan.revision,
        branch: plan.branch,
        time: context.at.toISOString(),
        message: `apply could not verify everything: ${describeUnknown(plan.unknown)}`,
        details: { unknown: plan.unknown },
      });
    }
    // apply is one-shot: wait for delivery (retries included), but never hang on a dead endpoint.
    await notifier.drain(30_000);
    notifier.close();
  }
  return converged ? 0 : 1;
}
