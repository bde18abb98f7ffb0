/**
 * `kasm-gitops run` as an operator starts it, in a child process: the built CLI, a status server on a free
 * loopback port, a webhook secret from the environment. The bench talks to it only over HTTP and signals.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { fileURLToPath } from "node:url";
import type { DaemonStatus } from "../engine/status.js";
import { postGithubPush } from "../lab/github-push.js";

export type DaemonProcess = {
  pid: number;
  url: string;
  status(): Promise<DaemonStatus>;
  /** POSTs a GitHub push webhook for `revision`, signed with the secret. */
  push(branch: string, revision: string): Promise<number>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
};

const CLI = fileURLToPath(new URL("../cli/main.js", import.meta.url));

export async function startDaemon(options: {
  repo: string;
  path: string;
  stateDir: string;
  interval: string;
  secret: string;
  /** Where to keep the daemon's JSON log lines (by default only the last ones, for error messages). */
  logFile?: string;
}): Promise<DaemonProcess> {
  // biome-ignore format: flag and value pairs
  const args = [CLI, "run", "--repo", options.repo, "--path", options.path, "--state-dir", options.stateDir,
    "--interval", options.interval, "--listen", "127.0.0.1:0"];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, KASM_GITOPS_WEBHOOK_SECRET: options.secret },
    stdio: ["ignore", "ignore", "pipe"],
  });
  if (options.logFile) child.stderr!.pipe(createWriteStream(options.logFile));
  const url = await serverUrl(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    pid: child.pid!,
    url,
    status: async () => (await (await fetch(`${url}/status`)).json()) as DaemonStatus,
    push: (branch, revision) => postGithubPush(`${url}/hooks/git`, options.secret, branch, revision),
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Reads the daemon's JSON log lines until it says where it serves; its last lines explain a failure. */
function serverUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const recent: string[] = [];
    let buffer = "";
    let found = false;
    const timer = setTimeout(() => fail("did not start serving within 30 s"), 30_000);
    function fail(why: string) {
      clearTimeout(timer);
      if (!found) reject(new Error(`kasm-gitops run ${why}; its last log lines:\n${recent.join("\n")}`));
    }
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        recent.push(line);
        if (recent.length > 20) recent.shift();
        if (found) continue;
        try {
          const entry = JSON.parse(line) as { url?: string };
          if (entry.url) {
            found = true;
            clearTimeout(timer);
            resolve(entry.url);
          }
        } catch {
          // not a log line
        }
      }
    });
    child.once("exit", (code) => fail(`exited with code ${code}`));
  });
}
