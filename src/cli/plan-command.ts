import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { renderPlan } from "../core/render-plan.js";
import { planSnapshot } from "../engine/reconcile.js";
import type { CommandContext } from "./command.js";
import { depsFor, loadOrReport, repoFlags } from "./context.js";
import { useColor } from "./io.js";

/** `kasm-gitops plan`: what a reconcile would change, as text or JSON, optionally saved for apply. */
export async function planCommand({ args, io }: CommandContext): Promise<number> {
  const flags = repoFlags(args, io);
  const deps = depsFor(flags, io);
  const snapshot = await loadOrReport(deps, io);
  if (!snapshot) return 1;
  const { plan } = await planSnapshot(snapshot, deps, {
    refresh: args.values["no-refresh"] ? false : "all",
    onlyAgents: flags.agents,
    ...(io.stopSignal ? { signal: io.stopSignal } : {}),
  });
  const json = `${JSON.stringify(plan, null, 2)}\n`;
  if (args.values.out) await writeFile(resolve(io.cwd, args.values.out as string), json);
  io.stdout(args.values.json ? json : renderPlan(plan, { color: useColor(io) }));
  if (args.values["detailed-exitcode"]) {
    // An incomplete plan is not "no changes": something could not be checked, so it is an error (1).
    if (plan.summary.incomplete) return 1;
    if (plan.actions.length > 0) return 2;
  }
  return 0;
}
