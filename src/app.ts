import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import { systemClock } from "./adapters/clock.js";
import { createDockerAgent } from "./adapters/docker-agent.js";
import type { GitAuthOptions } from "./adapters/git-auth.js";
import { createGitSource } from "./adapters/git-source.js";
import { createKasmClient, type KasmClientOptions } from "./adapters/kasm-client.js";
import { readKasmDeployment } from "./adapters/kasm-import-read.js";
import { createFileLedger } from "./adapters/ledger-file.js";
import { readManifestDir } from "./adapters/manifest-files.js";
import { folderEntries, writeNewFiles } from "./adapters/new-files.js";
import { createRegistryClient } from "./adapters/registry-client.js";
import { resolveCredentials, resolveSecret } from "./adapters/secrets.js";
import { DEFAULTS, type KasmServerManifest, type SecretRef } from "./core/manifest.js";
import type { ReconcileDeps } from "./engine/reconcile.js";
import type { KasmApi, KasmImportSource, RegistryClient } from "./ports.js";

// What commands use of the adapters besides the engine's deps: commands reach adapters only through here.
export { type GitAuthOptions, repoKind } from "./adapters/git-auth.js";
export { openCheckout } from "./adapters/git-checkout.js";
export { checkBranch, manifestSubpath } from "./adapters/git-source.js";
export { createRevisionStore } from "./adapters/last-good.js";
export { createLogger } from "./adapters/logger.js";
export { readManifestDir } from "./adapters/manifest-files.js";

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
  /** HTTPS token variable, SSH key and known_hosts for the manifest repo. */
  git?: GitAuthOptions;
  /** Sees every registry request (metrics); never sees credentials. */
  onRegistryRequest?: (info: { host: string; method: string; status: number }) => void;
};

async function pem(ref: SecretRef | undefined, env: Record<string, string | undefined>) {
  return ref ? resolveSecret(ref, env) : undefined;
}

/** Wires the real adapters into the engine: the one place that knows them all. */
export function createDeps(options: AppOptions): ReconcileDeps {
  const env = options.env;
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
    readManifests: readManifestDir,
    agentFor: async (manifest) => {
      const tls = manifest.spec.docker.tls;
      const [ca, cert, key] = await Promise.all([pem(tls?.ca, env), pem(tls?.cert, env), pem(tls?.key, env)]);
      return createDockerAgent({
        name: manifest.metadata.name,
        host: manifest.spec.docker.host,
        ...(tls
          ? { tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) } }
          : {}),
      });
    },
    registryFor: async (manifest) => {
      // Secrets are resolved every cycle (a rotated file takes effect), but a client with the same host
      // and credentials is kept, so its auth scheme and tokens outlive the cycle.
      const credentials = await resolveCredentials(manifest.spec.auth, env);
      const insecure = manifest.spec.insecure ?? false;
      const key = createHash("sha256")
        .update(JSON.stringify([manifest.metadata.name, manifest.spec.host, insecure, credentials ?? null]))
        .digest("hex");
      let client = registryClients.get(key);
      if (!client) {
        client = createRegistryClient({
          host: manifest.spec.host,
          name: manifest.metadata.name,
          insecure,
          ...(credentials ? { credentials } : {}),
          ...(options.onRegistryRequest ? { onRequest: (info) => options.onRegistryRequest!(info) } : {}),
        });
        registryClients.set(key, client);
      }
      return { client, ...(credentials ? { credentials } : {}) };
    },
    ledger: createFileLedger(options.stateDir),
    clock: systemClock,
  };
}

/**
 * The Kasm API client for a validated KasmServer: its key, secret and CA resolved now (a rotated secret takes
 * effect at the next call of this factory), none of them kept anywhere but in the client.
 */
export async function createKasmApi(
  server: KasmServerManifest,
  env: Record<string, string | undefined>,
  options: Pick<KasmClientOptions, "onCall" | "timeoutMs" | "retry" | "clock"> = {},
): Promise<KasmApi> {
  const [apiKey, apiKeySecret, ca] = await Promise.all([
    resolveSecret(server.spec.apiKey, env),
    resolveSecret(server.spec.apiKeySecret, env),
    pem(server.spec.tls?.ca, env),
  ]);
  return createKasmClient({
    url: server.spec.url,
    apiKey,
    apiKeySecret,
    name: server.metadata.name,
    ...(ca ? { ca } : {}),
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
      const [apiKey, apiKeySecret, ca] = await Promise.all([
        resolveSecret(options.apiKey, env),
        resolveSecret(options.apiKeySecret, env),
        pem(options.ca, env),
      ]);
      return createKasmClient({ url: options.url, apiKey, apiKeySecret, ...(ca ? { ca } : {}) });
    },
    readDeployment: readKasmDeployment,
    folderEntries,
    writeNewFiles,
  };
}
