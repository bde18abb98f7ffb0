import { randomBytes } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import { systemClock } from "./adapters/clock.js";
import { createCommitVerifier } from "./adapters/commit-verifier.js";
import type { GitAuthOptions } from "./adapters/git-auth.js";
import { createGitSource } from "./adapters/git-source.js";
import { createKasmClient, type KasmCallInfo, type KasmClientOptions } from "./adapters/kasm-client.js";
import { readKasmDeployment } from "./adapters/kasm-import-read.js";
import { createKasmWrittenFile } from "./adapters/kasm-written-file.js";
import { createFileLedger } from "./adapters/ledger-file.js";
import { withCallLogs } from "./adapters/logged-agent.js";
import { readManifestDir } from "./adapters/manifest-files.js";
import { folderEntries, writeNewFiles } from "./adapters/new-files.js";
import { sendNotification } from "./adapters/notify-http.js";
import { createRegistryClient } from "./adapters/registry-client.js";
import type { RegistryRequestInfo } from "./adapters/registry-http.js";
import { resolveCredentials, resolveSecret } from "./adapters/secrets.js";
import { createSmokeFile } from "./adapters/smoke-file.js";
import type { StateWarning } from "./adapters/state-file.js";
import { parseDuration } from "./core/duration.js";
import { keyedFingerprint } from "./core/fingerprint.js";
import type { SecretPolicy } from "./core/manifest/secret-policy.js";
import { DEFAULTS, type KasmServerManifest, type SecretRef } from "./core/manifest/types.js";
import type { VerifyMode } from "./core/revision/trust.js";
import type { ReconcileDeps } from "./engine/cycle.js";
import { createNotifier, type Notifier } from "./engine/notifier.js";
import type { DebugLogger, KasmApi, KasmImportSource, Metrics, RegistryClient } from "./ports.js";

// What commands use of the adapters besides the engine's deps: commands reach adapters only through here.

/** Registry clients are kept per Registry and credentials, told apart by the one keyed fingerprint (this process's key). */
const clientKey = keyedFingerprint(randomBytes(32));
const NO_CREDENTIALS = { username: "", password: "" };

export { createAutoPromotionsFile } from "./adapters/auto-promotions-file.js";
export { type GitAuthOptions, redact, repoKind } from "./adapters/git-auth.js";
export { openCheckout } from "./adapters/git-checkout.js";
export { checkBranch, manifestSubpath } from "./adapters/git-source.js";
export { createGitWriter } from "./adapters/git-writer.js";
export { createRevisionStore } from "./adapters/last-good.js";
export { createLogger } from "./adapters/logger.js";
export { readManifestDir } from "./adapters/manifest-files.js";
export { LOG_FORMATS, type LogFormat } from "./adapters/pretty-log.js";
export type { StateWarning } from "./adapters/state-file.js";
export { lockStateDir } from "./adapters/state-lock.js";

/** Where clones, the ledger and the last good revision live unless --state-dir says otherwise. */
export function defaultStateDir(env: Record<string, string | undefined>): string {
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state");
  return join(base, "kasm-gitops");
}

export type AppOptions = {
  repo: string;
  branch?: string;
  path?: string;
  stateDir: string;
  env: Record<string, string | undefined>;
  /** Which {file:} and {env:} references may be resolved. */
  secrets: SecretPolicy;
  /** HTTPS token variable, SSH key and known_hosts for the manifest repo. */
  git?: GitAuthOptions;
  /** --verify-commits: only revisions whose tip commit is signed by a key in `file` are used. */
  verifyCommits?: { mode: VerifyMode; file: string };
  /** Sees every registry request (metrics); never sees credentials. */
  onRegistryRequest?: (info: RegistryRequestInfo) => void;
  /** Sees every Kasm API call (function, status); never a key. */
  onKasmCall?: (info: KasmCallInfo) => void;
  /** Debug lines for registry requests, agent calls and plan decisions (`--log-level debug`). */
  debugLog?: DebugLogger;
  /** Told when a state file was found corrupt and moved aside (the CLI prints it, the daemon logs it). */
  onStateWarning?: (warning: StateWarning) => void;
  /** The deadline for one whole registry refresh; the engine's default when absent. */
  registryTimeoutMs?: number;
  /** How long a switch waits for Kasm's agents to report its image; the engine's default when absent. */
  kasmReportWaitMs?: number;
};

async function pem(
  ref: SecretRef | undefined,
  env: Record<string, string | undefined>,
  policy: SecretPolicy,
) {
  return ref ? resolveSecret(ref, env, policy) : undefined;
}

/** Wires the real adapters into the engine: the one place that knows them all. */
export function createDeps(options: AppOptions): ReconcileDeps {
  const { env, secrets, debugLog } = options;
  const onRequest = (info: RegistryRequestInfo) => {
    options.onRegistryRequest?.(info);
    // Host and path only: query strings (token scopes) and headers never reach the log.
    debugLog?.debug({ ...info, url: `${info.host}${info.path}` }, "registry request");
  };
  const registryClients = new Map<string, RegistryClient>();
  return {
    git: createGitSource({
      repo: options.repo,
      branch: options.branch ?? DEFAULTS.branch,
      ...(options.path ? { path: options.path } : {}),
      stateDir: options.stateDir,
      env,
      ...options.git,
    }),
    ...(options.verifyCommits ? { verifier: createCommitVerifier(options.verifyCommits) } : {}),
    readManifests: readManifestDir,
    secrets,
    ...(debugLog ? { debugLog } : {}),
    agentFor: async (manifest) => {
      const tls = manifest.spec.docker.tls;
      const [ca, cert, key] = await Promise.all([
        pem(tls?.ca, env, secrets),
        pem(tls?.cert, env, secrets),
        pem(tls?.key, env, secrets),
      ]);
      // Loaded on first use: dockerode and its transports take a fifth of a second to load, which
      // validate, promote, import and --help never need.
      const { createDockerAgent } = await import("./adapters/docker-agent.js");
      const agent = createDockerAgent({
        name: manifest.metadata.name,
        host: manifest.spec.docker.host,
        ...(tls
          ? { tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) } }
          : {}),
      });
      return debugLog ? withCallLogs(agent, debugLog) : agent;
    },
    registryFor: async (manifest) => {
      // Secrets are resolved every cycle (a rotated file takes effect), but a client with the same host
      // and credentials is kept, so its auth scheme and tokens outlive the cycle.
      const credentials = await resolveCredentials(manifest.spec.auth, env, secrets);
      const insecure = manifest.spec.insecure ?? false;
      const key = clientKey(
        JSON.stringify([manifest.metadata.name, manifest.spec.host, insecure]),
        credentials ?? NO_CREDENTIALS,
      );
      let client = registryClients.get(key);
      if (!client) {
        client = createRegistryClient({
          host: manifest.spec.host,
          name: manifest.metadata.name,
          insecure,
          ...(credentials ? { credentials } : {}),
          onRequest,
        });
        registryClients.set(key, client);
      }
      return { client, ...(credentials ? { credentials } : {}) };
    },
    ledger: createFileLedger(options.stateDir, {
      ...(options.onStateWarning ? { onWarning: options.onStateWarning } : {}),
    }),
    clock: systemClock,
    ...(options.registryTimeoutMs ? { registryTimeoutMs: options.registryTimeoutMs } : {}),
    ...(options.kasmReportWaitMs ? { kasmReportWaitMs: options.kasmReportWaitMs } : {}),
    // Keys are resolved every cycle, so a rotated key takes effect without a restart.
    kasmFor: (manifest) =>
      createKasmApi(manifest, env, secrets, options.onKasmCall ? { onCall: options.onKasmCall } : {}),
    kasmWritten: createKasmWrittenFile(options.stateDir),
    smoke: createSmokeFile(options.stateDir),
  };
}

/**
 * The Kasm API client for a validated KasmServer: its key, secret and CA resolved now (a rotated secret takes
 * effect at the next call of this factory), none of them kept anywhere but in the client.
 */
export async function createKasmApi(
  server: KasmServerManifest,
  env: Record<string, string | undefined>,
  policy: SecretPolicy,
  options: Pick<KasmClientOptions, "onCall" | "timeoutMs" | "retry" | "clock"> = {},
): Promise<KasmApi> {
  const [apiKey, apiKeySecret, ca] = await Promise.all([
    resolveSecret(server.spec.apiKey, env, policy),
    resolveSecret(server.spec.apiKeySecret, env, policy),
    pem(server.spec.tls?.ca, env, policy),
  ]);
  const timeoutMs = server.spec.timeout ? parseDuration(server.spec.timeout) : undefined;
  return createKasmClient({
    url: server.spec.url,
    apiKey,
    apiKeySecret,
    name: server.metadata.name,
    ...(ca ? { ca } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...options,
  });
}

/** Where `import` reads Kasm's key pair and CA: references the operator gave on the command line. */
export type ImportSourceOptions = { url: string; apiKey: SecretRef; apiKeySecret: SecretRef; ca?: SecretRef };

/** What `kasm-gitops import` touches: one Kasm to read, and a folder to fill with new files only. */
export type ImportDeps = {
  kasmFor(options: ImportSourceOptions): Promise<KasmImportSource>;
  readDeployment: typeof readKasmDeployment;
  folderEntries: typeof folderEntries;
  writeNewFiles: typeof writeNewFiles;
};

export function createImportDeps(env: Record<string, string | undefined>): ImportDeps {
  return {
    kasmFor: async (options) => {
      // The operator named these on the command line: the manifest secret policy, which keeps whoever can
      // commit from reading other secrets, allows exactly them.
      const refs = [options.apiKey, options.apiKeySecret, ...(options.ca ? [options.ca] : [])];
      const policy: SecretPolicy = {
        dirs: refs.flatMap((r) => ("file" in r ? [r.file] : [])),
        envNames: refs.flatMap((r) => ("env" in r ? [r.env] : [])),
      };
      const [apiKey, apiKeySecret, ca] = await Promise.all([
        resolveSecret(options.apiKey, env, policy),
        resolveSecret(options.apiKeySecret, env, policy),
        pem(options.ca, env, policy),
      ]);
      return createKasmClient({ url: options.url, apiKey, apiKeySecret, ...(ca ? { ca } : {}) });
    },
    readDeployment: readKasmDeployment,
    folderEntries,
    writeNewFiles,
  };
}

/** The real notifier: fetch, URL secrets read at send time, attempts counted in metrics when given. */
export function createNotifierFor(
  env: Record<string, string | undefined>,
  policy: SecretPolicy,
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void },
  metrics?: Pick<Metrics, "notification">,
): Notifier {
  return createNotifier({
    send: sendNotification,
    resolveUrl: (target) => resolveSecret(target.spec.url, env, policy),
    clock: systemClock,
    logger,
    ...(metrics ? { count: (name, type, result) => metrics.notification(name, type, result) } : {}),
  });
}
