import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { createAutoPromotionsFile } from "../app.js";
import { blockedReasons } from "../core/plan/blocked-promotions.js";
import { renderPlan } from "../core/plan/render.js";
import { runCycle } from "../engine/cycle.js";
import { previewAutomation } from "../engine/update/preview.js";
import { GLOBAL_OPTIONS, KASM_OPTIONS, REPO_OPTIONS, TRUST_OPTIONS } from "./args.js";
import { automationFlags, writerFor } from "./automation-flags.js";
import type { Command, CommandContext } from "./command.js";
import { cycleScope, repoFlags } from "./flags.js";
import { useColor } from "./io.js";
import { checkTrustedKeys, depsFor, loadOrReport, locked, planSource, warnUncommitted } from "./session.js";

/** `kasm-gitops plan`: what a reconcile would change, as text or JSON, optionally saved for apply. */
export async function planCommand({ args, io }: CommandContext): Promise<number> {
  const flags = repoFlags(args, io);
  const deps = depsFor(flags, io);
  await checkTrustedKeys(deps, io);
  await warnUncommitted(flags, io);
  const snapshot = await loadOrReport(deps, io, flags);
  if (!snapshot) return 1;
  const refresh = !args.values["no-refresh"];
  const { plan: planned } = await runCycle(deps, {
    snapshot,
    refresh: refresh ? "all" : false,
    ...cycleScope(flags),
    ...(io.stopSignal ? { signal: io.stopSignal } : {}),
  });
  // What automation would propose next needs the registry's tags: not with --no-refresh.
  const automation = refresh
    ? await previewAutomation(
        snapshot.set,
        {
          ...deps,
          writer: writerFor(flags, automationFlags(args, io), io),
          autoPromotions: createAutoPromotionsFile(flags.stateDir),
        },
        { branch: flags.branch, ...(io.stopSignal ? { signal: io.stopSignal } : {}) },
      )
    : undefined;
  const plan = { ...planned, source: planSource(flags), ...(automation ? { automation } : {}) };
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

/** `kasm-gitops plan`: its options, declared beside the code that reads them. */
export const planEntry: Command = {
  name: "plan",
  summary: "show what a reconcile would change on every agent",
  usage: "kasm-gitops plan --repo URL|PATH [--branch NAME]",
  options: {
    ...REPO_OPTIONS,
    ...KASM_OPTIONS,
    ...TRUST_OPTIONS,
    json: { type: "boolean", description: "print the plan object as JSON" },
    out: { type: "string", value: "FILE", description: "save the plan for `apply FILE`" },
    "no-refresh": { type: "boolean", description: "skip registry digest checks" },
    "detailed-exitcode": {
      type: "boolean",
      description: "exit 0 no changes, 2 changes, 1 error or incomplete",
    },
    ...GLOBAL_OPTIONS,
  },
  run: locked("plan", planCommand),
};
