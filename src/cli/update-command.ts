/** `kasm-gitops update [WORKSPACE]`: the daemon's update check and write-back, once, by hand. */
import { KasmGitopsError } from "../core/errors.js";
import { didYouMean } from "../core/suggest.js";
import { runUpdates, updatesSucceeded } from "../engine/update/run-updates.js";
import { outcomeLine } from "../engine/update/update-report.js";
import { GLOBAL_OPTIONS, REPO_OPTIONS } from "./args.js";
import { AUTOMATION_OPTIONS, automationFlags, manifestPath, writerFor } from "./automation-flags.js";
import type { Command, CommandContext } from "./command.js";
import { repoFlags } from "./flags.js";
import { depsFor, loadOrReport, locked } from "./session.js";

export async function updateCommand({ args, io }: CommandContext): Promise<number> {
  const [name, ...extra] = args.positionals;
  if (extra.length > 0) throw new KasmGitopsError("usage", "update takes at most one WORKSPACE name");
  const flags = repoFlags(args, io);
  const automation = automationFlags(args, io);
  const deps = depsFor(flags, io);
  const snapshot = await loadOrReport(deps, io);
  if (!snapshot) return 1;
  const managed = snapshot.set.workspaces.filter((w) => w.spec.update).map((w) => w.metadata.name);
  if (name !== undefined && !managed.includes(name)) {
    const exists = snapshot.set.workspaces.some((w) => w.metadata.name === name);
    throw new KasmGitopsError(
      "usage",
      exists
        ? `workspace "${name}" has no spec.update policy: nothing says which tag it moves to`
        : `no Workspace named "${name}" in the manifests${didYouMean(name, managed)}`,
    );
  }
  const outcomes = await runUpdates(
    snapshot.set,
    { ...deps, writer: writerFor(flags, automation, io) },
    {
      branch: flags.branch,
      path: manifestPath(flags),
      sign: automation.sign,
      ...(name !== undefined ? { only: new Set([name]) } : {}),
      dryRun: args.values["dry-run"] === true,
      ...(io.stopSignal ? { signal: io.stopSignal } : {}),
    },
  );
  if (args.values.json) io.stdout(`${JSON.stringify(outcomes, null, 2)}\n`);
  else {
    for (const o of outcomes) {
      const line = outcomeLine(o);
      const f = o.finding;
      const text =
        line?.message ??
        (f.status === "up-to-date"
          ? `${f.workspace}: up to date (${f.newest})`
          : f.status === "no-match"
            ? `${f.workspace}: none of ${f.listed} tags passes its update policy`
            : `${f.workspace}: ${f.status}`);
      (line?.level === "info" || !line ? io.stdout : io.stderr)(`${text}\n`);
    }
    if (outcomes.length === 0) io.stdout("No Workspace has an update policy.\n");
  }
  return updatesSucceeded(outcomes) ? 0 : 1;
}

export const updateEntry: Command = {
  name: "update",
  summary: "move workspaces to the newest tag their update policy allows, as commits",
  usage: "kasm-gitops update [WORKSPACE] --repo URL|PATH [--branch NAME] [--sign] [--dry-run]",
  options: {
    ...REPO_OPTIONS,
    ...AUTOMATION_OPTIONS,
    "dry-run": { type: "boolean", description: "say what would be committed, commit nothing" },
    json: { type: "boolean", description: "print each workspace's finding and commit as JSON" },
    ...GLOBAL_OPTIONS,
  },
  run: locked("update", updateCommand),
};
