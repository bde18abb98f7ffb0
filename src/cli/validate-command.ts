import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readManifestDir } from "../app.js";
import { KasmGitopsError } from "../core/errors.js";
import type { ManifestFile } from "../core/manifest/load.js";
import type { Problem } from "../core/manifest/types.js";
import { checkManifestFiles, formatProblem, sortProblems } from "../core/manifest/validate.js";
import { GLOBAL_OPTIONS, SECRET_OPTIONS } from "./args.js";
import type { Command, CommandContext } from "./command.js";
import { secretPolicyFlag } from "./flags.js";

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

/** The files of one DIR argument, named as the user wrote the path so editors can open them from the output. */
async function readArgument(dir: string, cwd: string): Promise<ManifestFile[]> {
  const path = resolve(cwd, dir);
  const files = await readManifestDir(path);
  const isFile = !(await stat(path)).isDirectory();
  return files.map((f) => ({ ...f, file: isFile ? dir : join(dir, f.file) }));
}

/** `kasm-gitops validate [DIR…]`: each folder is one manifest repo, checked on its own as `plan` would read it. */
export async function validateCommand({ args, io }: CommandContext): Promise<number> {
  const dirs = args.positionals.length > 0 ? args.positionals : ["."];
  // Only warnings: validate often runs in CI, without the daemon's --secret-dir/--secret-env.
  const policy = secretPolicyFlag(args, io);
  const problems: Problem[] = [];
  let fileCount = 0;
  let failed = false;
  for (const dir of dirs) {
    let files: ManifestFile[];
    try {
      files = await readArgument(dir, io.cwd);
    } catch (error) {
      if (!(error instanceof KasmGitopsError && error.code === "manifest-path-not-found")) throw error;
      io.stderr(`kasm-gitops: error: ${error.message.replace(resolve(io.cwd, dir), dir)}\n`);
      failed = true;
      continue;
    }
    if (files.length === 0) {
      io.stderr(`kasm-gitops: error: no *.yaml or *.yml manifest files under ${dir}\n`);
      failed = true;
      continue;
    }
    fileCount += files.length;
    problems.push(...checkManifestFiles(files, { secrets: { policy, severity: "warning" } }).problems);
  }
  sortProblems(problems);
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.length - errors;
  if (args.values.json) {
    io.stdout(`${JSON.stringify(problems, null, 2)}\n`);
  } else if (fileCount > 0) {
    for (const problem of problems) io.stdout(`${formatProblem(problem)}\n`);
    const counts = [
      errors ? plural(errors, "error") : "",
      warnings ? plural(warnings, "warning") : "",
    ].filter(Boolean);
    io.stdout(
      counts.length
        ? `${counts.join(", ")} in ${plural(fileCount, "file")}\n`
        : `${plural(fileCount, "file")} valid\n`,
    );
  }
  return failed || errors > 0 || (args.values.strict === true && warnings > 0) ? 1 : 0;
}

/** `kasm-gitops validate`: its options, declared beside the code that reads them. */
export const validateEntry: Command = {
  name: "validate",
  summary: "validate a manifest folder on disk",
  usage: "kasm-gitops validate [DIR…]",
  options: {
    json: { type: "boolean", description: "print the problems as a JSON array" },
    strict: { type: "boolean", description: "fail on warnings too" },
    ...SECRET_OPTIONS,
    ...GLOBAL_OPTIONS,
  },
  run: validateCommand,
};
