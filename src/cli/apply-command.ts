import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { createNotifierFor } from "../app.js";
import { KasmGitopsError } from "../core/errors.js";
import { blockedReasons } from "../core/plan/blocked-promotions.js";
import { renderPlan } from "../core/plan/render.js";
import type { Plan } from "../core/plan/types.js";
import { describeUnknown } from "../core/plan/unknown.js";
import { type ExecuteHooks, type PlannedCycle, runCycle } from "../engine/cycle.js";
import { countsAsFailure } from "../engine/remove-images.js";
import { rolloutEvents } from "../engine/rollout-events.js";
import { parsePlanFile } from "../engine/stale.js";
import type { ParsedArgs } from "./args.js";
import { GLOBAL_OPTIONS, KASM_OPTIONS, REPO_OPTIONS, TRUST_OPTIONS } from "./args.js";
import type { Command, CommandContext } from "./command.js";
import { eventLines } from "./event-lines.js";
import { cycleScope, repoFlags } from "./flags.js";
import { useColor } from "./io.js";
import { applySummary, jsonLines, pruneTotals, terminalProgress } from "./progress.js";
import { checkTrustedKeys, cliLogger, depsFor, loadOrReport, locked, warnUncommitted } from "./session.js";

/** A saved plan; a missing or unreadable file is a usage error naming it. */
async function readPlanFile(file: string, cwd: string): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, file), "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : code === "EISDIR" ? "is a folder" : "cannot be read";
    // No cause chained: its text would repeat the path in Node's words.
    throw new KasmGitopsError("usage", `plan file ${file} ${why} (make one with plan --out FILE)`, { file });
  }
  return parsePlanFile(text, file);
}

/** The repo, branch and path the plan was made from, wherever the command line does not name them. */
function withPlanSource(args: ParsedArgs, plan: Plan): ParsedArgs {
  const values = { ...args.values };
  values.repo ??= plan.source?.repo;
  values.branch ??= plan.branch;
  if (plan.source?.path !== undefined) values.path ??= plan.source.path;
  return { ...args, values };
}

/** `kasm-gitops apply [PLANFILE]`: one reconcile, or exactly a saved plan when it is not stale. */
export async function applyCommand({ args, io }: CommandContext): Promise<number> {
  const planFile = args.positionals[0];
  if (args.positionals.length > 1) throw new KasmGitopsError("usage", "apply takes at most one PLANFILE");
  const saved = planFile ? await readPlanFile(planFile, io.cwd) : undefined;
  const flags = repoFlags(saved ? withPlanSource(args, saved) : args, io);
  const deps = depsFor(flags, io);
  await checkTrustedKeys(deps, io);
  await warnUncommitted(flags, io);
  const snapshot = await loadOrReport(deps, io, flags);
  if (!snapshot) return 1;
  const signal = io.stopSignal;
  // JSON lines only when asked; a CI log (no terminal) gets one plain line per event.
  const json = Boolean(args.values.json);
  let live: ReturnType<typeof terminalProgress> | undefined;
  let onEvent: ExecuteHooks["onEvent"];
  /** The plan as it will be carried out, printed before any action starts; live progress starts below it. */
  const preview = ({ plan }: PlannedCycle) => {
    if (json) {
      const { actions: _, ...overview } = plan;
      io.stdout(`${JSON.stringify({ time: new Date().toISOString(), event: "plan", ...overview })}\n`);
    } else {
      io.stdout(renderPlan(plan, { color: useColor(io) }));
    }
    live = !json && io.isTTY ? terminalProgress(io) : undefined;
    onEvent = json ? jsonLines(io) : (live?.onEvent ?? eventLines((line) => io.stdout(line)));
  };
  // A saved plan is carried out exactly, unless stale; else one fresh reconcile that records what it learns.
  // SIGTERM/SIGINT drains: no new pull starts, in-flight pulls finish (a second signal kills the process).
  const { plan, results } = await runCycle(deps, {
    snapshot,
    refresh: "all",
    ...cycleScope(flags),
    ...(planFile && saved ? { saved: { plan: saved, file: planFile } } : { record: true }),
    ...(signal ? { signal } : {}),
    onPlanned: preview,
    execute: { ...(signal ? { drain: signal } : {}), onEvent: (event) => onEvent?.(event) },
  }).finally(() => live?.close());
  const failed = results.filter(countsAsFailure).length;
  // Converged only when every action succeeded, nothing was left unchecked (an unknown is not good)
  // and no Kasm record change was held (a group Kasm lacks, an image not on the agents).
  const held = plan.blocked.filter((b) => b.type.startsWith("kasm-")).length;
  // A promotion held at a digest nobody tested (and this apply does not test) leaves the fleet behind Git.
  const blocking = blockedReasons(plan, snapshot.set);
  const converged = failed === 0 && !plan.summary.incomplete && held === 0 && blocking.length === 0;
  if (json) {
    const summary = {
      event: "summary",
      revision: plan.revision,
      ok: results.filter((r) => r.status === "ok").length,
      failed,
      ...(held > 0 ? { held } : {}),
      ...(blocking.length > 0 ? { blocked: blocking.length } : {}),
      ...pruneTotals(results),
      unknown: plan.unknown.length,
      incomplete: plan.summary.incomplete,
      converged,
    };
    io.stdout(`${JSON.stringify(summary)}\n`);
  } else {
    io.stdout(applySummary(results, plan, blocking));
  }
  if (args.values.notify) {
    const logger = cliLogger(flags, io);
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

/** `kasm-gitops apply`: its options, declared beside the code that reads them. */
export const applyEntry: Command = {
  name: "apply",
  summary: "reconcile once, or carry out a saved plan",
  usage: "kasm-gitops apply [PLANFILE] --repo URL|PATH",
  options: {
    ...REPO_OPTIONS,
    ...KASM_OPTIONS,
    ...TRUST_OPTIONS,
    json: { type: "boolean", description: "one JSON object per event line" },
    notify: { type: "boolean", description: "send the repo's Notifications for this apply" },
    ...GLOBAL_OPTIONS,
  },
  run: locked("apply", applyCommand),
};
