import { join, relative, resolve } from "node:path";
import { checkBranch, createDeps, manifestSubpath, openCheckout, readManifestDir, repoKind } from "../app.js";
import {
  type PromotionTarget,
  promotionCommitMessage,
  promotionTarget,
} from "../core/authoring/promote-target.js";
import { KasmGitopsError } from "../core/errors.js";
import { editPromotion, verifyPromotion } from "../engine/authoring/promote-check.js";
import { checkGitState, commitPromotion } from "../engine/authoring/promote-commit.js";
import { acceptManifests } from "../engine/snapshot.js";
import { GLOBAL_OPTIONS, REPO_OPTIONS, SECRET_OPTIONS } from "./args.js";
import type { Command, CommandContext } from "./command.js";
import { logFlags, secretPolicyFlag, stateDirFlag } from "./flags.js";
import type { CliIo } from "./io.js";
import { cliLogger, locked, reportInvalid } from "./session.js";

/** The checkout, folder and git flags of one `promote` run. */
type PromoteFlags = {
  repo: string;
  path?: string;
  tag?: string;
  branch?: string;
  push: boolean;
  /** Sign the commit with the user's key, so a reconciler with --verify-commits accepts it once merged. */
  sign: boolean;
};

function promoteFlags({ args, io }: CommandContext): PromoteFlags {
  const repo = (args.values.repo as string | undefined) ?? ".";
  if (repoKind(repo) !== "local") {
    throw new KasmGitopsError(
      "usage",
      `promote edits a local checkout: --repo must be a folder, got "${repo}"`,
    );
  }
  const branch = args.values.branch as string | undefined;
  if (branch !== undefined) checkBranch(branch);
  const push = args.values.push === true;
  if (push && branch === undefined) {
    throw new KasmGitopsError(
      "usage",
      "--push needs --branch NAME: promote pushes a new branch for a merge request, never the current one",
    );
  }
  return {
    repo: resolve(io.cwd, repo),
    push,
    sign: args.values.sign === true,
    ...(args.values.path ? { path: args.values.path as string } : {}),
    ...(args.values.tag !== undefined ? { tag: args.values.tag as string } : {}),
    ...(branch !== undefined ? { branch } : {}),
  };
}

function upToDate(target: PromotionTarget, io: CliIo, json: boolean): number {
  const name = target.workspace.metadata.name;
  if (json) {
    const from = target.from.metadata.name;
    const result = {
      workspace: name,
      from,
      image: target.image,
      changed: false,
      commit: null,
      pushed: false,
    };
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  } else io.stdout(`Workspace "${name}" already runs ${target.image}: nothing to do.\n`);
  return 0;
}

/** `kasm-gitops promote WORKSPACE [--tag TAG]`: edit the image line, verify, commit, optionally push. */
export async function promoteCommand(context: CommandContext): Promise<number> {
  const { args, io } = context;
  const [name, ...extra] = args.positionals;
  if (name === undefined || extra.length > 0) {
    throw new KasmGitopsError(
      "usage",
      "promote takes exactly one WORKSPACE name (see kasm-gitops promote --help)",
    );
  }
  const flags = promoteFlags(context);
  const logs = logFlags(args);
  const json = args.values.json === true;
  const checkout = await openCheckout(flags.repo, io.env);
  const manifestDir = join(checkout.root, manifestSubpath(flags.path));
  const files = await readManifestDir(manifestDir, checkout.root);
  const secrets = secretPolicyFlag(args, io);
  let set: ReturnType<typeof acceptManifests>["set"];
  try {
    ({ set } = acceptManifests(files, manifestDir, undefined, secrets));
  } catch (error) {
    if (reportInvalid(error, io, "nothing was edited")) return 1;
    throw error;
  }
  const target = promotionTarget(set, name, flags.tag);
  if (target.upToDate) return upToDate(target, io, json);
  const previous = await checkGitState(checkout, manifestDir, flags);

  const deps = createDeps({
    repo: checkout.root,
    stateDir: stateDirFlag(args, io),
    env: io.env,
    secrets,
    debugLog: cliLogger(logs, io),
    onStateWarning: ({ message }) => io.stderr(`kasm-gitops: warning: ${message}\n`),
  });
  const verification = await verifyPromotion(set, target, deps, {
    onlyAgents: (args.values.agent as string[] | undefined) ?? [],
    ...(io.stopSignal ? { signal: io.stopSignal } : {}),
  });
  for (const warning of verification.warnings) io.stderr(`kasm-gitops: warning: ${warning}\n`);
  const edited = editPromotion(files, target, manifestDir);

  const path = join(manifestDir, edited.file);
  const record = {
    workspace: target.workspace.metadata.name,
    from: target.from.metadata.name,
    file: relative(checkout.root, path),
    previous: target.current,
    image: target.image,
    digest: verification.digest,
    verifiedOn: verification.verifiedOn,
    movingTags: target.workspace.spec.promotion?.movingTags ?? [],
  };
  const message = promotionCommitMessage(record);
  const { commit, branch } = await commitPromotion(
    checkout,
    { path, text: edited.text, message },
    { ...flags, previous },
  );

  if (json) {
    const { file: _file, previous: previousImage, movingTags, ...rest } = record;
    const result = {
      ...rest,
      previousImage,
      movingTags,
      changed: true,
      commit,
      signed: flags.sign,
      branch,
      pushed: flags.push,
    };
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `Promoted workspace "${record.workspace}" in ${record.file}: ${record.previous} → ${record.image}`,
    `  digest ${record.digest} verified on workspace "${record.from}" (${record.verifiedOn})`,
    ...(record.movingTags.length
      ? [`  moving tags that follow once merged: ${record.movingTags.join(", ")}`]
      : []),
    `  ${flags.sign ? "signed " : ""}commit ${commit.slice(0, 12)} on branch ${branch}${flags.push ? ", pushed to origin for a merge request" : " (not pushed)"}`,
  ];
  io.stdout(`${lines.join("\n")}\n`);
  return 0;
}

/** `kasm-gitops promote`: its options, declared beside the code that reads them. */
export const promoteEntry: Command = {
  name: "promote",
  summary: "move a workspace to the image verified on its promotion.from, as a commit",
  usage: "kasm-gitops promote WORKSPACE [--tag TAG] [--repo PATH] [--sign] [--push --branch NAME]",
  options: {
    repo: {
      type: "string",
      value: "PATH",
      description: "local checkout of the manifest repo (default: .)",
    },
    path: REPO_OPTIONS.path!,
    "state-dir": REPO_OPTIONS["state-dir"]!,
    "no-wait": REPO_OPTIONS["no-wait"]!,
    agent: { ...REPO_OPTIONS.agent!, description: "only check this agent for verification (repeatable)" },
    tag: {
      type: "string",
      value: "TAG",
      description: "tag to promote to (default: the version promotion.from runs)",
    },
    // Not mirrored: KASM_GITOPS_BRANCH names the branch the daemon follows, not a branch to create.
    branch: {
      type: "string",
      value: "NAME",
      description: "create this branch from HEAD and commit there",
      fromEnv: false,
    },
    push: {
      type: "boolean",
      description: "push the --branch to origin, for a merge request",
      fromEnv: false,
    },
    sign: {
      type: "boolean",
      description: "sign the commit with your git signing key (git commit -S), for --verify-commits",
    },
    json: { type: "boolean", description: "print the result as JSON" },
    ...SECRET_OPTIONS,
    ...GLOBAL_OPTIONS,
  },
  run: locked("promote", promoteCommand),
};
