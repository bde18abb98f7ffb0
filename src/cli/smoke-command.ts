import { KasmGitopsError } from "../core/errors.js";
import { smokeWorkspace } from "../engine/smoke-workspace.js";
import { GLOBAL_OPTIONS, REPO_OPTIONS, TRUST_OPTIONS } from "./args.js";
import type { Command, CommandContext } from "./command.js";
import { repoFlags } from "./flags.js";
import { checkTrustedKeys, depsFor, loadOrReport, locked } from "./session.js";

/**
 * `kasm-gitops smoke WORKSPACE`: a smoke test in Kasm of the workspace's record now (a failed digest too),
 * its result kept in the state dir; exit 0 on pass, 1 on fail.
 */
export async function smokeCommand({ args, io }: CommandContext): Promise<number> {
  const [name, ...extra] = args.positionals;
  if (name === undefined || extra.length > 0)
    throw new KasmGitopsError(
      "usage",
      "smoke takes exactly one WORKSPACE name (see kasm-gitops smoke --help)",
    );
  const flags = repoFlags(args, io);
  const deps = depsFor(flags, io);
  await checkTrustedKeys(deps, io);
  const snapshot = await loadOrReport(deps, io);
  if (!snapshot) return 1;
  if (!deps.smoke) throw new KasmGitopsError("usage", "smoke tests need a state dir");
  const result = await smokeWorkspace({
    set: snapshot.set,
    workspace: name,
    deps,
    store: deps.smoke,
    clock: deps.clock,
    ...(io.stopSignal ? { signal: io.stopSignal } : {}),
    onStep: (line) => io.stderr(`kasm-gitops: ${line}\n`),
  });
  if (args.values.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else
    io.stdout(
      `smoke ${result.result} (workspace ${result.workspace}, ${result.digest}${result.server ? `, Kasm agent ${result.server}` : ""}): ${result.message}\n`,
    );
  return result.result === "pass" ? 0 : 1;
}

/** `kasm-gitops smoke`: its options, declared beside the code that reads them. */
export const smokeEntry: Command = {
  name: "smoke",
  summary: "run a smoke test of a workspace's record in Kasm now",
  usage: "kasm-gitops smoke WORKSPACE --repo URL|PATH [--branch NAME]",
  options: {
    ...REPO_OPTIONS,
    ...TRUST_OPTIONS,
    json: { type: "boolean", description: "print the result as JSON" },
    ...GLOBAL_OPTIONS,
  },
  run: locked("smoke", smokeCommand),
};
