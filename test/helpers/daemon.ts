import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { postGithubPush } from "../../src/lab/github-push.js";
import { freePort, waitFor } from "../../src/lab/processes.js";
import { BIN, repoArgs } from "./cli.js";
import { stateDir } from "./fleet.js";

export type RunningDaemon = {
  url: string;
  process: ChildProcess;
  logs: () => string;
  status: () => Promise<Record<string, unknown>>;
  get: (path: string) => Promise<{ status: number; body: string }>;
  /** POSTs a GitHub push for `branch`, signed with the daemon's secret. */
  push: (branch?: string, secret?: string) => Promise<number>;
  /** Sends a signal and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
};

export const WEBHOOK_SECRET = "lab-webhook-secret";

/** Starts `kasm-gitops run` as a real process listening on a free loopback port. */
export async function startDaemon(args: string[], env: Record<string, string> = {}): Promise<RunningDaemon> {
  const port = await freePort();
  const secretFile = join(args[args.indexOf("--state-dir") + 1]!, "..", `webhook-${port}.secret`);
  await writeFile(secretFile, `${WEBHOOK_SECRET}\n`);
  const child = spawn(
    process.execPath,
    [BIN, "run", ...args, "--listen", `127.0.0.1:${port}`, "--webhook-secret-file", secretFile],
    { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const get = async (path: string) => {
    const response = await fetch(`${url}${path}`);
    return { status: response.status, body: await response.text() };
  };
  await waitUntil(
    `daemon on ${url}`,
    async () => (await get("/healthz").catch(() => ({ status: 0 }))).status === 200,
    30_000,
    () => output,
  );
  return {
    url,
    process: child,
    logs: () => output,
    get,
    status: async () => JSON.parse((await get("/status")).body) as Record<string, unknown>,
    push: (branch = "main", secret = WEBHOOK_SECRET) => postGithubPush(`${url}/hooks/git`, secret, branch),
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls until `probe` holds; the failure message carries the daemon's log for diagnosis. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
  logs: () => string = () => "",
): Promise<void> {
  await waitFor(what, probe, timeoutMs).catch((error: Error) => {
    throw new Error(`${error.message}\n${logs().slice(-4000)}`);
  });
}

/** A daemon following a test repo's `manifests/` folder with a fresh state dir. */
export async function followRepo(bare: string, ...flags: string[]): Promise<RunningDaemon> {
  const [, ...args] = repoArgs("run", bare, await stateDir(), flags);
  return startDaemon(args);
}
