import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { blockedReasons } from "../core/plan/blocked-promotions.js";
import { renderPlan } from "../core/plan/render.js";
import { planSnapshot } from "../engine/reconcile.js";
import type { CommandContext } from "./command.js";
import {
  checkTrustedKeys,
  depsFor,
  loadOrReport,
  planSource,
  repoFlags,
  warnUncommitted,
} from "./context.js";
import { useColor } from "./io.js";

/** `kasm-gitops plan`: what a reconcile would change, as text or JSON, optionally saved for apply. */
export async function planCommand({ args, io }: CommandContext): Promise<number> {
  const flags = repoFlags(args, io);
  const deps = depsFor(flags, io);
  await checkTrustedKeys(deps, io);
  await warnUncommitted(flags, io);
  const snapshot = await loadOrReport(deps, io, flags);
  if (!snapshot) return 1;
  const { plan: planned } = await planSnapshot(snapshot, deps, {
    refresh: args.values["no-refresh"] ? false : "all",
    onlyAgents: flags.agents,
    ...(io.stopSignal ? { signal: io.stopSignal } : {}),
  });
  const plan = { ...planned, source: planSource(flags) };
  const json = `${JSON.stringify(plan, null, 2)}\n`;
  if (args.values.out) {
    const out = resolve(io.cwd, args.values.out as string);
    await writeFile(out, json);
    io.stderr(
      `kasm-gitops: plan written to ${out}; carry it out with: kasm-gitops apply ${args.values.out}\n`,
    );
  }
  io.stdout(args.values.json ? json : renderPlan(plan, { color: useColor(io) }));
  // A KasmServer that cannot be used as configured is an error whatever the flags: nothing will fix it by itself.
  const config = plan.unknown.find((u) => u.reason === "kasm-config");
  if (config) {
    io.stderr(`kasm-gitops: ${config.message}\n`);
    return 1;
  }
  if (args.values["detailed-exitcode"]) {
    // An incomplete plan is not "no changes": something could not be checked, so it is an error (1).
    if (plan.summary.incomplete) return 1;
    // 2: not converged, so a pipeline acts. A promotion blocked at an untested digest is that too, even
    // with nothing to carry out: the fleet is behind Git until the digest is tested.
    // A Kasm change held (images not on the agents yet, a group Kasm lacks) is a change still to make.
    const kasmHeld = plan.blocked.some((b) => b.type.startsWith("kasm-"));
    if (plan.actions.length > 0 || kasmHeld || blockedReasons(plan, snapshot.set).length > 0) return 2;
  }
  return 0;
}
