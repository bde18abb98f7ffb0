import { parseArgs } from "node:util";
import { KasmGitopsError } from "../core/errors.js";
import { closest } from "../core/suggest.js";

/** One flag of the command line; `env` is mirrored as KASM_GITOPS_<NAME> for container use. */
export type OptionSpec = {
  type: "string" | "boolean";
  multiple?: boolean;
  value?: string;
  description: string;
  /** False for flags whose KASM_GITOPS_* name means something else elsewhere. */
  fromEnv?: boolean;
  /** How a repeatable flag's variable separates values (default ","; ":" for folder lists, like PATH). */
  separator?: string;
};
export type OptionTable = Record<string, OptionSpec>;
export type ParsedArgs = {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
};

/** Which secrets manifests may reference: every command that resolves or checks them. */
export const SECRET_OPTIONS: OptionTable = {
  "secret-dir": {
    type: "string",
    multiple: true,
    separator: ":",
    value: "DIR",
    description:
      "folder {file:} secrets may be read from, repeatable (default: /run/secrets, $CREDENTIALS_DIRECTORY)",
  },
  "secret-env": {
    type: "string",
    multiple: true,
    value: "NAME",
    description: "variable {env:} may read besides KASM_SECRET_* (repeatable; variable: comma-separated)",
  },
};

/** Flags of plan, apply and run on how Kasm is synced: as the syncer of a distributed deployment, and the switch's wait. */
export const KASM_OPTIONS: OptionTable = {
  "kasm-only": {
    type: "boolean",
    description:
      "sync Kasm records and groups only, from Kasm's agent reports: no Docker connection, no pulls",
  },
  "kasm-report-max-age": {
    type: "string",
    value: "DURATION",
    description: "with --kasm-only: an agent report older than this is unknown (default: 5m)",
  },
  "kasm-report-wait": {
    type: "string",
    value: "DURATION",
    description: "how long a switch waits for Kasm's agents to report its image (default: 2m)",
  },
};

/** Flags every command that reads a manifest repo understands (docs/operations.md). */
export const REPO_OPTIONS: OptionTable = {
  repo: { type: "string", value: "URL|PATH", description: "Git URL or local checkout holding the manifests" },
  branch: { type: "string", value: "NAME", description: "branch to follow (default: main)" },
  path: { type: "string", value: "DIR", description: "manifest folder inside the repo (default: its root)" },
  "state-dir": {
    type: "string",
    value: "DIR",
    description: "clones, ledger and last good revision (default: $XDG_STATE_HOME/kasm-gitops)",
  },
  "no-wait": {
    type: "boolean",
    description: "fail at once when another command holds the state dir, instead of waiting",
  },
  agent: { type: "string", multiple: true, value: "NAME", description: "only this agent (repeatable)" },
  "git-token-env": {
    type: "string",
    value: "NAME",
    description: "variable holding an HTTPS token for the repo (default: KASM_GITOPS_GIT_TOKEN)",
  },
  "git-ssh-key-file": { type: "string", value: "FILE", description: "private key for an SSH repo URL" },
  "git-known-hosts-file": { type: "string", value: "FILE", description: "known_hosts for an SSH repo URL" },
  ...SECRET_OPTIONS,
  "registry-timeout": {
    type: "string",
    value: "DURATION",
    description: "deadline for asking the registries for digests, all of them together (default: 30s)",
  },
};

/** Flags of the commands that reconcile (plan, apply, run): which signatures make a revision trusted. */
export const TRUST_OPTIONS: OptionTable = {
  "verify-commits": {
    type: "string",
    value: "ssh|openpgp",
    description: "use a revision only when its tip commit is signed by a trusted key",
  },
  "allowed-signers": {
    type: "string",
    value: "FILE",
    description: "with --verify-commits ssh: the trusted keys, in git's allowed-signers format",
  },
  "trusted-keys": {
    type: "string",
    value: "FILE",
    description: "with --verify-commits openpgp: the trusted public keys (gpg --export)",
  },
};

/** Flags of every command. */
export const GLOBAL_OPTIONS: OptionTable = {
  "log-level": {
    type: "string",
    value: "LEVEL",
    description: "trace, debug, info, warn, error (default: info)",
  },
  "log-format": {
    type: "string",
    value: "json|pretty",
    description: "logs on stderr as JSON lines for machines, or one readable line each (default: json)",
  },
  help: { type: "boolean", description: "show help for the command" },
};

export const envName = (flag: string) => `KASM_GITOPS_${flag.toUpperCase().replaceAll("-", "_")}`;

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off", ""]);

/** Reads a flag's KASM_GITOPS_* variable; flags given on the command line win. */
function fromEnv(flag: string, spec: OptionSpec, env: Record<string, string | undefined>) {
  const raw = env[envName(flag)];
  if (raw === undefined || spec.fromEnv === false) return undefined;
  if (spec.type === "boolean") {
    const lower = raw.trim().toLowerCase();
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
    throw new KasmGitopsError("usage", `${envName(flag)}=${raw} is not a boolean (use true or false)`);
  }
  return spec.multiple
    ? raw
        .split(spec.separator ?? ",")
        .map((s) => s.trim())
        .filter(Boolean)
    : raw;
}

/** Parses argv for one command, strictly: an unknown flag is a usage error naming it. */
export function parseCommandArgs(
  command: string,
  argv: string[],
  options: OptionTable,
  env: Record<string, string | undefined>,
): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([name, spec]) => [
          name,
          { type: spec.type, multiple: spec.multiple ?? false },
        ]),
      ),
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    const message = (error as Error).message.split(/\n/)[0]!.replace(/\. To specify a positional.*$/, "");
    const unknown = /^Unknown option '--([^'=]+)/.exec(message)?.[1];
    const hint = unknown ? closest(unknown, Object.keys(options)) : undefined;
    throw new KasmGitopsError(
      "usage",
      `${command}: ${message.charAt(0).toLowerCase()}${message.slice(1)}${hint ? `; did you mean --${hint}?` : ""}`,
    );
  }
  const values = { ...parsed.values } as ParsedArgs["values"];
  for (const [name, spec] of Object.entries(options)) {
    if (values[name] === undefined) {
      const value = fromEnv(name, spec, env);
      if (value !== undefined) values[name] = value;
    }
  }
  return { values, positionals: parsed.positionals };
}

/** The options part of a command's help text, one aligned line per flag. */
export function formatOptions(options: OptionTable): string {
  const rows = Object.entries(options).map(([name, spec]) => [
    `--${name}${spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : ""}`,
    spec.description,
  ]);
  const width = Math.max(...rows.map(([flag]) => flag!.length));
  return rows.map(([flag, text]) => `  ${flag!.padEnd(width)}  ${text}`).join("\n");
}
