import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  engineContainerd,
  loadState,
  pidFileProcesses,
  type SavedState,
  saveState,
  stateFile,
  stillOwned,
  type TrackedProcess,
  uniqueByPid,
} from "./lab-state.js";
import { ownedByLab, processStartTime, unmountUnder } from "./ownership.js";
import { execFileAsync, freePort, isAlive, startDetached, stopProcess, waitFor, which } from "./processes.js";

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

type LabState = SavedState<LabEngine, LabRegistry, LabKasm>;

/** True when the recorded engine still runs as the lab's and answers on its socket. */
async function engineAnswers(dir: string, engine: LabEngine | undefined): Promise<boolean> {
  if (!engine || !ownedByLab(engine, dir)) return false;
  return (await probe({ socketPath: engine.socket, path: "/_ping" }).catch(() => 0)) === 200;
}

async function ensureEngine(dir: string, index: number, saved: LabEngine | undefined, started: string[]) {
  const name = `engine-${index + 1}`;
  if (saved?.name === name && (await engineAnswers(dir, saved))) return saved;
  const engine = await startEngine(join(dir, name), name);
  started.push(name);
  return engine;
}

/**
 * The engines lab.json records past the `count` asked for (a third one `npm run demo -- --keep` left) that
 * still run and answer: reused and kept in the lab, so a later `up` does not forget them.
 */
async function runningExtras(dir: string, saved: LabEngine[], count: number): Promise<LabEngine[]> {
  const extras: LabEngine[] = [];
  for (const engine of saved.slice(count)) {
    if (engine.name !== `engine-${count + extras.length + 1}` || !(await engineAnswers(dir, engine))) break;
    extras.push(engine);
  }
  return extras;
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
    ownedByLab(saved, dir) &&
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
  if (saved && ownedByLab(saved, dir) && (await healthy(saved.url).catch(() => false))) return saved;
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
 * Idempotent: services already running from an earlier call are reused and not restarted, and engines an
 * earlier call started beyond `engines` (the demo's third) are kept, not forgotten: `lab.json` tracks
 * every process any lab command started (lab-state.ts), so `stopLab` stops them all.
 */
export async function startLab(options: LabOptions): Promise<LabHandle> {
  const log = options.log ?? (() => {});
  const { dir } = options;
  if (options.install !== false) await ensureLabPackages(log);
  mkdirSync(dir, { recursive: true });
  const saved: LabState = loadState(dir);
  const started: string[] = [];
  const count = options.engines ?? 2;
  const engines = await Promise.all(
    Array.from({ length: count }, (_, i) => ensureEngine(dir, i, saved.engines[i], started)),
  );
  const extras = await runningExtras(dir, saved.engines, count);
  if (extras.length > 0) log(`keeping ${extras.map((e) => e.name).join(", ")}, started earlier`);
  engines.push(...extras);
  const plain = await ensureRegistry(dir, "plain", saved.registries.plain, started);
  const auth = await ensureRegistry(dir, "auth", saved.registries.auth, started);
  const kasm = await ensureKasm(dir, saved.kasm, started);
  const lab: Lab = { dir, engines, registries: { plain, auth }, kasm };
  const running = servicesOf(lab);
  saveState(dir, { engines, registries: { plain, auth }, kasm }, running);
  log(started.length ? `started ${started.join(", ")}` : "reusing running lab services");
  const mine = running.filter((p) => started.includes(p.name.split("/")[0]!));
  return { lab, started, stop: () => stopStarted(dir, mine) };
}

/** Stops what one startLab call started; lab.json then no longer lists those engines or processes. */
async function stopStarted(dir: string, mine: TrackedProcess[]): Promise<void> {
  await stopInOrder(mine, dir);
  if (!existsSync(stateFile(dir))) return;
  const now: LabState = loadState(dir);
  const stopped = new Set(mine.map((p) => p.pid));
  const { processes: _, ...rest } = now;
  saveState(dir, { ...rest, engines: now.engines.filter((e) => !stopped.has(e.pid)) }, []);
}

/** A service's record in the process list: its pid and, when known, its start time. */
const recorded = (name: string, service: { pid: number; startTime?: string }): TrackedProcess => ({
  name,
  pid: service.pid,
  ...(service.startTime ? { startTime: service.startTime } : {}),
});

/** Every process of a running lab: its services as recorded, and the containerd each engine's dockerd started. */
function servicesOf(lab: Lab): TrackedProcess[] {
  const services = [
    ...lab.engines.map((e) => recorded(e.name, e)),
    recorded("registry-plain", lab.registries.plain),
    recorded("registry-auth", lab.registries.auth),
    recorded("kasm", lab.kasm),
  ];
  const containerds = lab.engines.map((e) => engineContainerd(lab.dir, e.name, e.dir));
  return [...services, ...containerds.filter((c): c is TrackedProcess => c !== undefined)];
}

/**
 * Stops services first (a dockerd stops its own containerd when asked), then what outlived them (a
 * containerd whose dockerd had to be killed), each only while it still runs as the lab's.
 */
async function stopInOrder(records: TrackedProcess[], dir: string): Promise<void> {
  const helper = (r: TrackedProcess) => r.name.endsWith("/containerd");
  for (const phase of [records.filter((r) => !helper(r)), records.filter(helper)]) {
    await Promise.all(stillOwned(phase, dir).map((r) => stopProcess(r.pid)));
  }
}

const startedAt = (pid: number) => {
  const startTime = processStartTime(pid);
  return startTime ? { startTime } : {};
};

/**
 * Stops every process lab.json tracks (whichever lab command started it: `up`, the demo, a benchmark) and
 * every engine whose pid file is in the lab folder, each only when it is provably the lab's (ownership.ts:
 * a recorded pid now used by another process is left alone); then unmounts what the engines left mounted
 * under the folder. Returns what it stopped, what it left, and the mounts it could not remove.
 */
export async function stopLab(
  dir: string,
): Promise<{ stopped: number[]; foreign: number[]; mounts: string[] }> {
  const saved: LabState = loadState(dir);
  const { plain, auth } = saved.registries;
  const services = [
    ...saved.engines.map((e) => recorded(e.name, e)),
    ...(plain ? [recorded("registry-plain", plain)] : []),
    ...(auth ? [recorded("registry-auth", auth)] : []),
    ...(saved.kasm ? [recorded("kasm", saved.kasm)] : []),
  ].filter((r) => typeof r.pid === "number");
  const records = uniqueByPid([...services, ...saved.processes, ...pidFileProcesses(dir)]);
  const owned = stillOwned(records, dir);
  const result = {
    stopped: owned.map((r) => r.pid),
    foreign: records.filter((r) => !owned.includes(r) && isAlive(r.pid)).map((r) => r.pid),
    mounts: [] as string[],
  };
  await stopInOrder(owned, dir);
  result.mounts = await unmountUnder(dir);
  return result;
}

/** Where tests, `npm run lab` and the demo keep the lab unless KASM_GITOPS_LAB_DIR says otherwise. */
export function defaultLabDir(): string {
  return process.env.KASM_GITOPS_LAB_DIR ?? `/tmp/kasm-gitops-lab-${process.getuid?.() ?? 0}`;
}
