/** The command line's flags, parsed and validated in one place: what a command was asked, before it runs. */
import { resolve } from "node:path";
import { defaultStateDir, type GitAuthOptions, LOG_FORMATS, type LogFormat } from "../app.js";
import { parseDuration } from "../core/duration.js";
import { KasmGitopsError } from "../core/errors.js";
import { type SecretPolicy, secretPolicy } from "../core/manifest/secret-policy.js";
import { VERIFY_MODES, type VerifyMode } from "../core/revision/trust.js";
import { closest } from "../core/suggest.js";
import type { ParsedArgs } from "./args.js";
import type { CliIo } from "./io.js";

/** The repo flags every reconciling command shares, resolved against the environment. */
export type RepoFlags = {
  repo: string;
  branch: string;
  path?: string;
  stateDir: string;
  agents: string[];
  git: GitAuthOptions;
  secrets: SecretPolicy;
  /** `--log-level`: debug shows registry requests, agent calls and plan decisions on stderr. */
  logLevel: string;
  /** `--log-format`: JSON lines for machines, or pretty lines for people. */
  logFormat: LogFormat;
  registryTimeoutMs?: number;
  /** `--kasm-report-wait`: how long a switch waits for Kasm's agents to report its image. */
  kasmReportWaitMs?: number;
  /** --verify-commits with its key file; absent: revisions are used unsigned. */
  verifyCommits?: { mode: VerifyMode; file: string };
  /** `--kasm-only`: the Kasm syncer (no Docker connection), with its bound on an agent report's age. */
  kasmOnly?: { reportMaxAgeMs?: number };
};

/** What a cycle is limited to: some agents (`--agent`, a puller), or Kasm alone (`--kasm-only`, the syncer). */
export function cycleScope(flags: RepoFlags): {
  onlyAgents: string[];
  kasmOnly?: boolean;
  reportMaxAgeMs?: number;
} {
  if (!flags.kasmOnly) return { onlyAgents: flags.agents };
  const { reportMaxAgeMs } = flags.kasmOnly;
  return { onlyAgents: [], kasmOnly: true, ...(reportMaxAgeMs ? { reportMaxAgeMs } : {}) };
}

/** `--kasm-only` and `--kasm-report-max-age`; a syncer limited to agents is a contradiction, refused. */
export function kasmOnlyFlags(args: ParsedArgs): RepoFlags["kasmOnly"] {
  const maxAge = durationFlag("kasm-report-max-age", args.values["kasm-report-max-age"]);
  if (!args.values["kasm-only"]) {
    if (maxAge !== undefined)
      throw new KasmGitopsError("usage", "--kasm-report-max-age is for --kasm-only (the Kasm syncer)");
    return undefined;
  }
  if (((args.values.agent as string[] | undefined) ?? []).length > 0)
    throw new KasmGitopsError(
      "usage",
      "--kasm-only and --agent exclude each other: a puller (--agent) writes nothing to Kasm, the syncer (--kasm-only) pulls nothing",
    );
  return maxAge === undefined ? {} : { reportMaxAgeMs: maxAge };
}

/** `--secret-dir` (relative to the working folder) and `--secret-env`, or the defaults. */
export function secretPolicyFlag(args: ParsedArgs, io: CliIo): SecretPolicy {
  const dirs = ((args.values["secret-dir"] as string[] | undefined) ?? []).map((d) => resolve(io.cwd, d));
  const envNames = (args.values["secret-env"] as string[] | undefined) ?? [];
  return secretPolicy({ dirs, envNames }, io.env);
}

/** A duration flag (`--interval`, `--grace`, `--registry-timeout`): at least one second, like 30s or 2m. */
export function durationFlag(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(String(value));
  if (ms === undefined || ms < 1000) {
    throw new KasmGitopsError(
      "usage",
      `--${flag} ${String(value)} is not a duration of at least 1s, like 30s, 2m or 1h`,
    );
  }
  return ms;
}

/** The key file flag each --verify-commits mode needs. */
const KEY_FLAG: Record<VerifyMode, string> = { ssh: "allowed-signers", openpgp: "trusted-keys" };

/** --verify-commits and its key file; a key file without the mode, or the other mode's file, is refused. */
export function trustFlags(args: ParsedArgs, io: CliIo): RepoFlags["verifyCommits"] {
  const mode = args.values["verify-commits"] as string | undefined;
  const given = VERIFY_MODES.filter((m) => args.values[KEY_FLAG[m]] !== undefined);
  if (mode === undefined) {
    if (given.length === 0) return undefined;
    throw new KasmGitopsError(
      "usage",
      `--${KEY_FLAG[given[0]!]} needs --verify-commits ${given[0]} (or KASM_GITOPS_VERIFY_COMMITS=${given[0]}); without it nothing is verified`,
    );
  }
  if (!VERIFY_MODES.includes(mode as VerifyMode)) {
    throw new KasmGitopsError("usage", `--verify-commits ${mode}: use ssh or openpgp`);
  }
  const flag = KEY_FLAG[mode as VerifyMode];
  const other = given.find((m) => m !== mode);
  if (other)
    throw new KasmGitopsError("usage", `--${KEY_FLAG[other]} is for --verify-commits ${other}, not ${mode}`);
  const file = args.values[flag] as string | undefined;
  if (!file) throw new KasmGitopsError("usage", `--verify-commits ${mode} needs --${flag} FILE`);
  return { mode: mode as VerifyMode, file: resolve(io.cwd, file) };
}

export function repoFlags(args: ParsedArgs, io: CliIo): RepoFlags {
  const repo = args.values.repo as string | undefined;
  if (!repo) throw new KasmGitopsError("usage", "--repo URL|PATH is required (or KASM_GITOPS_REPO)");
  const verifyCommits = trustFlags(args, io);
  const kasmOnly = kasmOnlyFlags(args);
  const looksLocal = !/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) && !/^[^/]+@[^/]+:/.test(repo);
  return {
    repo: looksLocal ? resolve(io.cwd, repo) : repo,
    branch: (args.values.branch as string | undefined) ?? "main",
    ...(args.values.path ? { path: args.values.path as string } : {}),
    stateDir: stateDirFlag(args, io),
    agents: (args.values.agent as string[] | undefined) ?? [],
    secrets: secretPolicyFlag(args, io),
    ...logFlags(args),
    ...(args.values["registry-timeout"] !== undefined
      ? { registryTimeoutMs: durationFlag("registry-timeout", args.values["registry-timeout"]) }
      : {}),
    ...(args.values["kasm-report-wait"] !== undefined
      ? { kasmReportWaitMs: durationFlag("kasm-report-wait", args.values["kasm-report-wait"]) }
      : {}),
    git: {
      ...(args.values["git-token-env"] ? { tokenEnv: args.values["git-token-env"] as string } : {}),
      ...(args.values["git-ssh-key-file"]
        ? { sshKeyFile: resolve(io.cwd, args.values["git-ssh-key-file"] as string) }
        : {}),
      ...(args.values["git-known-hosts-file"]
        ? { knownHostsFile: resolve(io.cwd, args.values["git-known-hosts-file"] as string) }
        : {}),
    },
    ...(verifyCommits ? { verifyCommits } : {}),
    ...(kasmOnly ? { kasmOnly } : {}),
  };
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** One of `allowed`, or a usage error naming the flag, the choices and what a typo most likely meant. */
function choice(flag: string, value: string, allowed: readonly string[]): string {
  if (allowed.includes(value)) return value;
  const guess = closest(value, allowed);
  throw new KasmGitopsError(
    "usage",
    `--${flag} ${value}: use ${allowed.join(", ")}${guess ? `; did you mean ${guess}?` : ""}`,
  );
}

/** `--log-level` and `--log-format`, checked before anything runs. */
export function logFlags(args: ParsedArgs): Pick<RepoFlags, "logLevel" | "logFormat"> {
  const level = choice("log-level", (args.values["log-level"] as string | undefined) ?? "info", LOG_LEVELS);
  const format = choice(
    "log-format",
    (args.values["log-format"] as string | undefined) ?? "json",
    LOG_FORMATS,
  );
  return { logLevel: level, logFormat: format as LogFormat };
}

/** `--state-dir`, or the default state folder, as an absolute path. */
export function stateDirFlag(args: ParsedArgs, io: CliIo): string {
  return resolve(io.cwd, (args.values["state-dir"] as string | undefined) ?? defaultStateDir(io.env));
}
