import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ownedByLab, processStartTime, type Recorded, unmountUnder } from "./ownership.js";
import {
  execFileAsync,
  freePort,
  isAlive,
  readPid,
  startDetached,
  stopProcess,
  waitFor,
  which,
} from "./processes.js";

/** A local Docker Engine standing in for a Kasm agent. */
export type LabEngine = {
  name: string;
  dir: string;
  socket: string;
  host: string;
  pid: number;
  /** The pid's start time when the lab started it: `lab down` stops only that process (ownership.ts). */
  startTime?: string;
};
/** A local `docker-registry` on loopback; `auth` is set when it requires htpasswd Basic auth. */
export type LabRegistry = {
  name: string;
  dir: string;
  host: string;
  url: string;
  pid: number;
  startTime?: string;
  auth?: { username: string; password: string };
};
/** The Kasm Web App API stand-in, a detached process whose records and keys live in `dir`/state.json. */
export type LabKasm = {
  url: string;
  apiKey: string;
  apiKeySecret: string;
  pid: number;
  dir: string;
  startTime?: string;
};
/** Everything a test, the demo or a benchmark needs to reach the lab's services. */
export type Lab = {
  dir: string;
  engines: LabEngine[];
  registries: { plain: LabRegistry; auth: LabRegistry };
  kasm: LabKasm;
};

export type LabOptions = {
  /** Folder for sockets, data and logs; keep it short, a unix socket path has a 108-byte limit. */
  dir: string;
  engines?: number;
  /** Install Debian's packages when a binary is missing (needs root and apt). */
  install?: boolean;
  log?: (line: string) => void;
};

export type LabHandle = { lab: Lab; started: string[]; stop(): Promise<void> };

const PACKAGES = {
  dockerd: "docker.io",
  "docker-registry": "docker-registry",
  htpasswd: "apache2-utils",
  // Signed-commit tests: gpg and its agent sign, ssh-keygen signs and verifies.
  "gpg-agent": "gnupg",
  "ssh-keygen": "openssh-client",
};
export const LAB_USER = "kasm-ci";
export const LAB_PASSWORD = "lab-secret-pass";

/** Installs Debian's docker.io, docker-registry, apache2-utils, gnupg and openssh-client when a binary is missing. */
export async function ensureLabPackages(log: (line: string) => void = () => {}): Promise<void> {
  const missing: string[] = [];
  for (const [binary, pkg] of Object.entries(PACKAGES)) if (!(await which(binary))) missing.push(pkg);
  if (missing.length === 0) return;
  log(`installing ${missing.join(" ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await execFileAsync("apt-get", ["update", "-qq"], { env, maxBuffer: 64 << 20 });
  await execFileAsync("apt-get", ["install", "-y", "-qq", ...missing], {
    env,
    maxBuffer: 64 << 20,
  });
}

/** GET on a unix socket or TCP URL; resolves with the status code. */
function probe(options: { socketPath?: string; url?: string; path: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = options.url ? new URL(options.path, options.url) : undefined;
    const req = request(
      target
        ? { host: target.hostname, port: target.port, path: target.pathname, timeout: 2000 }
        : { socketPath: options.socketPath, path: options.path, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

type SavedState = {
  engines: LabEngine[];
  registries: { plain?: LabRegistry; auth?: LabRegistry };
  kasm?: LabKasm;
};

function loadState(file: string): SavedState {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as SavedState;
  } catch {
    return { engines: [], registries: {} };
  }
}

async function ensureEngine(dir: string, index: number, saved: LabEngine | undefined, started: string[]) {
  const name = `engine-${index + 1}`;
  const base = join(dir, name);
  const socket = join(base, "docker.sock");
  if (
    saved &&
    isAlive(saved.pid) &&
    (await probe({ socketPath: socket, path: "/_ping" }).catch(() => 0)) === 200
  ) {
    return saved;
  }
  const engine = await startEngine(base, name);
  started.push(name);
  return engine;
}

/** Starts one dockerd in `base` (data, exec root, socket, log), the way every lab engine runs. */
export async function startEngine(base: string, name: string): Promise<LabEngine> {
  const socket = join(base, "docker.sock");
  mkdirSync(base, { recursive: true });
  const dockerd = (await which("dockerd")) ?? "dockerd";
  // biome-ignore format: one flag per line reads like a dockerd command line
  const pid = startDetached(dockerd, [
    "--data-root", join(base, "data"), "--exec-root", join(base, "exec"),
    "-H", `unix://${socket}`, "--pidfile", join(base, "docker.pid"),
    "--storage-driver", "vfs", "--iptables=false", "--ip6tables=false", "--bridge=none",
  ], join(base, "dockerd.log"));
  await waitFor(
    `Docker engine ${name} (log: ${join(base, "dockerd.log")})`,
    async () => {
      if (!isAlive(pid)) throw new Error(`dockerd exited; see ${join(base, "dockerd.log")}`);
      return (await probe({ socketPath: socket, path: "/_ping" })) === 200;
    },
    60_000,
  );
  return { name, dir: base, socket, host: `unix://${socket}`, pid, ...startedAt(pid) };
}

async function ensureRegistry(
  dir: string,
  name: "plain" | "auth",
  saved: LabRegistry | undefined,
  started: string[],
): Promise<LabRegistry> {
  if (
    saved &&
    isAlive(saved.pid) &&
    [200, 401].includes(await probe({ url: saved.url, path: "/v2/" }).catch(() => 0))
  ) {
    return saved;
  }
  const base = join(dir, `registry-${name}`);
  mkdirSync(base, { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const auth = name === "auth" ? { username: LAB_USER, password: LAB_PASSWORD } : undefined;
  let authBlock = "";
  if (auth) {
    const { stdout } = await execFileAsync("htpasswd", ["-Bbn", auth.username, auth.password]);
    writeFileSync(join(base, "htpasswd"), stdout);
    authBlock = `auth:\n  htpasswd:\n    realm: kasm-gitops-lab\n    path: ${join(base, "htpasswd")}\n`;
  }
  const config = join(base, "config.yml");
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(base, "data")}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n${authBlock}`,
  );
  const binary = (await which("docker-registry")) ?? "docker-registry";
  const pid = startDetached(binary, ["serve", config], join(base, "registry.log"));
  started.push(`registry-${name}`);
  const url = `http://${host}`;
  await waitFor(
    `registry ${name} on ${host} (log: ${join(base, "registry.log")})`,
    async () => {
      if (!isAlive(pid)) throw new Error(`docker-registry exited; see ${join(base, "registry.log")}`);
      return [200, 401].includes(await probe({ url, path: "/v2/" }));
    },
    30_000,
  );
  return { name, dir: base, host, url, pid, ...startedAt(pid), ...(auth ? { auth } : {}) };
}

/** The built stand-in server; from src/lab and dist/lab alike this is the repository's dist/lab. */
const KASM_SERVER = fileURLToPath(new URL("../../dist/lab/kasm-server.js", import.meta.url));

async function ensureKasm(dir: string, saved: LabKasm | undefined, started: string[]): Promise<LabKasm> {
  const healthy = async (url: string) => (await probe({ url, path: "/__lab/health" })) === 200;
  if (saved && isAlive(saved.pid) && (await healthy(saved.url).catch(() => false))) return saved;
  if (!existsSync(KASM_SERVER)) throw new Error(`${KASM_SERVER} is missing: run npm run build first`);
  const base = join(dir, "kasm");
  mkdirSync(base, { recursive: true });
  const port = await freePort();
  const stateFile = join(base, "state.json");
  const log = join(base, "kasm.log");
  const pid = startDetached(
    process.execPath,
    [KASM_SERVER, "--port", String(port), "--state-file", stateFile],
    log,
  );
  started.push("kasm");
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    `Kasm stand-in on ${url} (log: ${log})`,
    async () => {
      if (!isAlive(pid)) throw new Error(`the Kasm stand-in exited; see ${log}`);
      return healthy(url);
    },
    30_000,
  );
  const { apiKey, apiKeySecret } = JSON.parse(readFileSync(stateFile, "utf8")) as LabKasm;
  return { url, apiKey, apiKeySecret, pid, dir: base, ...startedAt(pid) };
}

/**
 * Brings up the lab: `engines` Docker engines, a plain registry, an htpasswd registry and the Kasm API
 * stand-in, all on loopback.
 * Idempotent: services already running from an earlier call are reused and not restarted.
 */
export async function startLab(options: LabOptions): Promise<LabHandle> {
  const log = options.log ?? (() => {});
  if (options.install !== false) await ensureLabPackages(log);
  mkdirSync(options.dir, { recursive: true });
  const stateFile = join(options.dir, "lab.json");
  const saved = loadState(stateFile);
  const started: string[] = [];
  const count = options.engines ?? 2;
  const engines = await Promise.all(
    Array.from({ length: count }, (_, i) => ensureEngine(options.dir, i, saved.engines[i], started)),
  );
  const plain = await ensureRegistry(options.dir, "plain", saved.registries.plain, started);
  const auth = await ensureRegistry(options.dir, "auth", saved.registries.auth, started);
  const kasm = await ensureKasm(options.dir, saved.kasm, started);
  const lab: Lab = { dir: options.dir, engines, registries: { plain, auth }, kasm };
  writeFileSync(stateFile, JSON.stringify({ engines, registries: { plain, auth }, kasm }, null, 2));
  log(started.length ? `started ${started.join(", ")}` : "reusing running lab services");
  const startedPids = [...engines, plain, auth]
    .filter((s) => started.includes(s.name) || started.includes(`registry-${s.name}`))
    .map((s) => s.pid);
  if (started.includes("kasm")) startedPids.push(kasm.pid);
  return { lab, started, stop: () => stopPids(startedPids) };
}

async function stopPids(pids: number[]): Promise<void> {
  await Promise.all(pids.map((pid) => stopProcess(pid)));
}

const startedAt = (pid: number) => {
  const startTime = processStartTime(pid);
  return startTime ? { startTime } : {};
};

/**
 * Stops the services recorded in the lab folder that are provably the lab's (ownership.ts: a recorded pid
 * now used by another process is left alone), then unmounts what the engines left mounted under it.
 * Returns what it stopped, what it left, and the mounts it could not remove.
 */
export async function stopLab(
  dir: string,
): Promise<{ stopped: number[]; foreign: number[]; mounts: string[] }> {
  const stateFile = join(dir, "lab.json");
  const result = { stopped: [] as number[], foreign: [] as number[], mounts: [] as string[] };
  if (existsSync(stateFile)) {
    const saved = loadState(stateFile);
    const records: Recorded[] = [...saved.engines, saved.registries.plain, saved.registries.auth, saved.kasm]
      .filter((r) => typeof r?.pid === "number")
      .map((r) => ({ pid: r!.pid, ...(r!.startTime ? { startTime: r!.startTime } : {}) }));
    for (const engine of saved.engines) {
      const pid = readPid(join(engine.dir, "docker.pid"));
      if (pid && !records.some((r) => r.pid === pid)) records.push({ pid });
    }
    for (const record of records) {
      if (ownedByLab(record, dir)) result.stopped.push(record.pid);
      else if (isAlive(record.pid)) result.foreign.push(record.pid);
    }
    await stopPids(result.stopped);
  }
  result.mounts = await unmountUnder(dir);
  return result;
}

/** Where tests, `npm run lab` and the demo keep the lab unless KASM_GITOPS_LAB_DIR says otherwise. */
export function defaultLabDir(): string {
  return process.env.KASM_GITOPS_LAB_DIR ?? `/tmp/kasm-gitops-lab-${process.getuid?.() ?? 0}`;
}
