import { resolve } from "node:path";
import { createImportDeps, type ImportDeps } from "../app.js";
import { KasmGitopsError } from "../core/errors.js";
import { buildImport } from "../core/import/manifests.js";
import { KASM_KEY_ENV, KASM_SECRET_ENV } from "../core/import/names.js";
import { counted } from "../core/import/readme.js";
import { isLoopbackHost } from "../core/kasm/rules.js";
import type { SecretRef } from "../core/manifest/types.js";
import type { ParsedArgs } from "./args.js";
import { GLOBAL_OPTIONS } from "./args.js";
import type { Command, CommandContext } from "./command.js";

/** The variables the imported KasmServer names: the key pair import reads by default, so one setting serves both. */
export const DEFAULT_KEY_ENV = KASM_KEY_ENV;
export const DEFAULT_SECRET_ENV = KASM_SECRET_ENV;
/** The names import read before it read the KasmServer's: still honoured, with a warning. */
export const OLD_KEY_ENV = "KASM_GITOPS_KASM_API_KEY";
export const OLD_SECRET_ENV = "KASM_GITOPS_KASM_API_KEY_SECRET";

/** Entries of the output folder that do not make it "non-empty": a fresh `git init` is fine. */
const IGNORED_ENTRIES = new Set([".git"]);

/** `--kasm-url`: http only to a loopback host, as a KasmServer's url, since the key travels in every call. */
function kasmUrl(args: ParsedArgs): string {
  const written = args.values["kasm-url"] as string | undefined;
  if (!written) throw new KasmGitopsError("usage", "--kasm-url URL is required (or KASM_GITOPS_KASM_URL)");
  let url: URL;
  try {
    url = new URL(written);
  } catch {
    throw new KasmGitopsError("usage", `--kasm-url ${JSON.stringify(written)} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new KasmGitopsError("usage", `--kasm-url ${written} must start with https://`);
  if (url.username || url.password)
    throw new KasmGitopsError("usage", "--kasm-url must not carry a user or password");
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname))
    throw new KasmGitopsError(
      "usage",
      `--kasm-url ${written} is plain http to ${url.hostname}: the API key would cross the network in clear; use https:// (plain http is allowed only on a loopback host)`,
    );
  return written.replace(/\/+$/, "");
}

/**
 * One half of the key pair: `--…-file` wins, then the variable `--…-env` names, then the KasmServer's variable,
 * then the old name (with a warning naming the new one).
 */
function keyRef(
  args: ParsedArgs,
  io: CommandContext["io"],
  flag: string,
  [defaultEnv, oldEnv]: readonly [string, string],
): SecretRef {
  const file = args.values[`${flag}-file`] as string | undefined;
  if (file) return { file: resolve(io.cwd, file) };
  const named = args.values[`${flag}-env`] as string | undefined;
  if (named) {
    if (!io.env[named])
      throw new KasmGitopsError(
        "usage",
        `${named} (--${flag}-env) is not set: it must hold the Kasm API ${half(flag)}`,
      );
    return { env: named };
  }
  if (io.env[defaultEnv]) return { env: defaultEnv };
  if (io.env[oldEnv]) {
    io.stderr(
      `kasm-gitops: warning: ${oldEnv} is an old name: set ${defaultEnv} instead (the variable the imported KasmServer reads, so one setting serves import and the sync)\n`,
    );
    return { env: oldEnv };
  }
  throw new KasmGitopsError(
    "usage",
    `${defaultEnv} is not set: import reads the Kasm API key pair from ${DEFAULT_KEY_ENV} and ${DEFAULT_SECRET_ENV}, the variables the KasmServer it writes names (or --kasm-api-key-env/--kasm-api-key-secret-env NAME, --kasm-api-key-file/--kasm-api-key-secret-file FILE)`,
  );
}

const half = (flag: string) => (flag.endsWith("-secret") ? "key secret" : "key");

const where = (ref: SecretRef) => ("env" in ref ? ref.env : ref.file);

/**
 * Kasm's key and certificate errors speak of a KasmServer's spec fields, which import does not have yet:
 * say which of import's inputs to fix instead. Other errors pass unchanged.
 */
function keyError(error: unknown, url: string, apiKey: SecretRef, apiKeySecret: SecretRef): unknown {
  if (!(error instanceof KasmGitopsError)) return error;
  const from = `the key from ${where(apiKey)} and its secret from ${where(apiKeySecret)}`;
  if (error.code === "kasm-forbidden")
    return new KasmGitopsError(
      error.code,
      `Kasm at ${url} refused the API key (HTTP 403): the key or its secret is wrong; import used ${from}`,
      error.context,
    );
  if (error.code === "kasm-unauthorized")
    return new KasmGitopsError(
      error.code,
      `Kasm at ${url} did not authorize the API key (HTTP 401): it has expired or lacks the permission to view images and groups (Kasm's admin UI: Settings → Developers → API Keys); import used ${from}`,
      error.context,
    );
  // The one kasm-error without an HTTP status: a TLS certificate the client does not trust.
  if (error.code === "kasm-error" && (error.context as { status?: number }).status === 0)
    return new KasmGitopsError(
      error.code,
      `Kasm at ${url}: its TLS certificate is not trusted (${error.cause instanceof Error ? error.cause.message : "unknown issuer"}): pass --kasm-ca-file with the CA certificate that signed it`,
      error.context,
    );
  return error;
}

/** `kasm-gitops import`: a manifest repo from a live Kasm, written only into new files. */
export async function importCommand(
  { args, io }: CommandContext,
  deps: ImportDeps = createImportDeps(io.env),
): Promise<number> {
  const url = kasmUrl(args);
  const outArg = (args.values.out as string | undefined) ?? ".";
  const out = resolve(io.cwd, outArg);
  const apiKey = keyRef(args, io, "kasm-api-key", [DEFAULT_KEY_ENV, OLD_KEY_ENV]);
  const apiKeySecret = keyRef(args, io, "kasm-api-key-secret", [DEFAULT_SECRET_ENV, OLD_SECRET_ENV]);
  const caArg = args.values["kasm-ca-file"] as string | undefined;
  const caFile = caArg ? resolve(io.cwd, caArg) : undefined;

  const present = (await deps.folderEntries(out)).filter((e) => !IGNORED_ENTRIES.has(e));
  if (present.length > 0 && args.values.force !== true)
    throw new KasmGitopsError(
      "usage",
      `${outArg === "." ? "the current folder" : outArg} is not empty (${present.slice(0, 5).join(", ")}${present.length > 5 ? ", …" : ""}): import writes into an empty folder; pass --force to add only the files that do not exist yet (it never overwrites one)`,
    );

  // Everything is read before anything is written: a bad key or an unreachable Kasm leaves no trace.
  const kasm = await deps.kasmFor({ url, apiKey, apiKeySecret, ...(caFile ? { ca: { file: caFile } } : {}) });
  const deployment = await deps.readDeployment(kasm, io.stopSignal).catch((error: unknown) => {
    throw keyError(error, url, apiKey, apiKeySecret);
  });
  const { files, model } = buildImport({ url, ...(caFile ? { caFile } : {}), ...deployment });
  const { written, existing } = await deps.writeNewFiles(out, files);

  const shown = (path: string) => (outArg === "." ? path : `${outArg.replace(/\/+$/, "")}/${path}`);
  for (const path of written) io.stdout(`wrote ${shown(path)}\n`);
  for (const path of existing)
    io.stderr(`kasm-gitops: conflict: ${shown(path)} already exists and was left as it is\n`);
  const held = model.workspaces.filter((w) => w.held.length > 0);
  const unreadable = deployment.unreadable ?? [];
  io.stdout(
    `\nImported ${counted(model.workspaces.length, "record", "records")} from ${url}: ${model.workspaces.length - held.length} adopted, ${held.length} held back, ${unreadable.length > 0 ? `${unreadable.length} not imported, ` : ""}${counted(model.registries.length, "registry", "registries")} (pulls: ${model.pulls}).\n`,
  );
  if (held.length > 0) {
    io.stdout("Held back (the file is written with its document commented out; fix it, then uncomment):\n");
    for (const w of held) io.stdout(`  ${shown(`workspaces/${w.name}.yaml`)}: ${w.held.join("; ")}\n`);
  }
  if (unreadable.length > 0) {
    io.stdout("Not imported (Kasm answered them in a form import cannot read):\n");
    for (const u of unreadable) io.stdout(`  ${u.imageId}: ${u.reason}\n`);
  }
  if (model.agents)
    io.stdout(
      `Kasm's agents: ${counted(model.agents.length, "Agent", "Agents")} in ${shown("agents.yaml")}, each waiting for its Docker address.\n`,
    );
  else if (model.agentsUnread)
    io.stdout(
      `Kasm's agents: not visible to this API key (${model.agentsUnread}), so ${shown("agents.yaml")} is a template.\n`,
    );
  io.stdout(`Left to fill in: see ${shown("README.md")}.\n`);
  if (existing.length > 0) {
    io.stderr(
      `kasm-gitops: error: ${existing.length} file${existing.length === 1 ? "" : "s"} already existed and ${existing.length === 1 ? "was" : "were"} not overwritten; the import is incomplete there\n`,
    );
    return 1;
  }
  return 0;
}

/** `kasm-gitops import`: its options, declared beside the code that reads them. */
export const importEntry: Command = {
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
};
