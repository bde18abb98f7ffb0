/** The flags of the commands that write to Git on their own (`update`, `run`): who commits, and signing. */
import { createGitWriter, manifestSubpath } from "../app.js";
import { KasmGitopsError } from "../core/errors.js";
import type { GitIdentity, GitWriter } from "../ports.js";
import type { OptionTable, ParsedArgs } from "./args.js";
import type { RepoFlags } from "./flags.js";
import type { CliIo } from "./io.js";

export const AUTOMATION_OPTIONS: OptionTable = {
  "git-author": {
    type: "string",
    value: '"NAME <EMAIL>"',
    description: "who automated commits are by (default: GIT_AUTHOR_NAME/EMAIL, else kasm-gitops)",
  },
  sign: {
    type: "boolean",
    description: "sign automated commits with git's configured key (user.signingkey, gpg.format)",
  },
};

export type AutomationFlags = { identity: GitIdentity; sign: boolean };

/** `--git-author`, else the environment's author, else `kasm-gitops <kasm-gitops@localhost>`. */
export function automationFlags(args: ParsedArgs, io: CliIo): AutomationFlags {
  const written = args.values["git-author"] as string | undefined;
  let identity: GitIdentity = { name: "kasm-gitops", email: "kasm-gitops@localhost" };
  if (written !== undefined) {
    const match = /^\s*([^<>]+?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(written);
    if (!match) {
      throw new KasmGitopsError("usage", `--git-author "${written}": write it as "NAME <EMAIL>"`);
    }
    identity = { name: match[1]!, email: match[2]! };
  } else if (io.env.GIT_AUTHOR_NAME && io.env.GIT_AUTHOR_EMAIL) {
    identity = { name: io.env.GIT_AUTHOR_NAME, email: io.env.GIT_AUTHOR_EMAIL };
  }
  return { identity, sign: args.values.sign === true };
}

/** The automation's own clone of the repo, with the reconciler's push credentials (token, SSH key). */
export function writerFor(flags: RepoFlags, automation: AutomationFlags, io: CliIo): GitWriter {
  return createGitWriter({
    repo: flags.repo,
    stateDir: flags.stateDir,
    identity: automation.identity,
    env: io.env,
    ...flags.git,
  });
}

/** The manifest folder inside the repository, as the write-back needs it. */
export const manifestPath = (flags: RepoFlags) => manifestSubpath(flags.path);
