import { applyCommand } from "./apply-command.js";
import { GLOBAL_OPTIONS, REPO_OPTIONS, SECRET_OPTIONS, TRUST_OPTIONS } from "./args.js";
import type { Command } from "./command.js";
import { stateDirFlag, withStateLock } from "./context.js";
import { importCommand } from "./import-command.js";
import { planCommand } from "./plan-command.js";
import { promoteCommand } from "./promote-command.js";
import { runCommand } from "./run-command.js";
import { validateCommand } from "./validate-command.js";

/** A command that uses the state dir runs holding its lock, the daemon for its whole life. */
const locked =
  (name: string, run: Command["run"]): Command["run"] =>
  (context) =>
    withStateLock(stateDirFlag(context.args, context.io), { ...context, command: name }, () => run(context));

/** The command table: one parser serves all of them (src/cli/run-cli.ts). */
export const COMMANDS: Command[] = [
  {
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
  },
  {
    name: "plan",
    summary: "show what a reconcile would change on every agent",
    usage: "kasm-gitops plan --repo URL|PATH [--branch NAME]",
    options: {
      ...REPO_OPTIONS,
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
  },
  {
    name: "apply",
    summary: "reconcile once, or carry out a saved plan",
    usage: "kasm-gitops apply [PLANFILE] --repo URL|PATH",
    options: {
      ...REPO_OPTIONS,
      ...TRUST_OPTIONS,
      json: { type: "boolean", description: "one JSON object per event line" },
      notify: { type: "boolean", description: "send the repo's Notifications for this apply" },
      ...GLOBAL_OPTIONS,
    },
    run: locked("apply", applyCommand),
  },
  {
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
  },
  {
    name: "import",
    summary: "write a manifest repo from a running Kasm deployment",
    usage: "kasm-gitops import --kasm-url URL [--out DIR] [--force]",
    options: {
      "kasm-url": {
        type: "string",
        value: "URL",
        description: "the Kasm web app, e.g. https://kasm.example.com",
      },
      out: {
        type: "string",
        value: "DIR",
        description: "folder to write the manifests into; must be empty (default: .)",
        fromEnv: false,
      },
      force: {
        type: "boolean",
        description: "write into a non-empty folder, adding only files that do not exist (never overwrites)",
        fromEnv: false,
      },
      "kasm-api-key-env": {
        type: "string",
        value: "NAME",
        description: "variable holding the API key (default: KASM_SECRET_KASM_API_KEY)",
      },
      "kasm-api-key-secret-env": {
        type: "string",
        value: "NAME",
        description: "variable holding the API key secret (default: KASM_SECRET_KASM_API_KEY_SECRET)",
      },
      "kasm-api-key-file": { type: "string", value: "FILE", description: "file holding the API key" },
      "kasm-api-key-secret-file": {
        type: "string",
        value: "FILE",
        description: "file holding the API key secret",
      },
      "kasm-ca-file": {
        type: "string",
        value: "FILE",
        description: "PEM of the CA that signed Kasm's certificate",
      },
      ...GLOBAL_OPTIONS,
    },
    run: (context) => importCommand(context),
  },
  {
    name: "run",
    summary: "run the reconciler as a daemon",
    usage: "kasm-gitops run --repo URL|PATH [--listen HOST:PORT]",
    options: {
      ...REPO_OPTIONS,
      ...TRUST_OPTIONS,
      interval: {
        type: "string",
        value: "DURATION",
        description: "git check-in and missing-image pulls (default: 30s)",
      },
      refresh: {
        type: "string",
        value: "CRON",
        description: "re-check tags for new digests (default: 0 * * * *)",
      },
      listen: {
        type: "string",
        value: "HOST:PORT",
        description: "serve /healthz, /readyz, /metrics, /status, /hooks/git",
      },
      "webhook-secret-file": {
        type: "string",
        value: "FILE",
        description: "secret for POST /hooks/git signatures (or KASM_GITOPS_WEBHOOK_SECRET)",
      },
      grace: {
        type: "string",
        value: "DURATION",
        description: "on SIGTERM, how long in-flight pulls may finish (default: 60s)",
      },
      ...GLOBAL_OPTIONS,
    },
    run: locked("run", runCommand),
  },
];
