/**
 * The demo's last act, issue 28's whole loop with no hand on it after CI's push: chrome-testing follows dated
 * builds (an update policy) and chrome promotes itself (`promotion.auto: commit`). A new build is pushed,
 * `kasm-gitops update` commits the testing bump, and a short-lived `kasm-gitops run` pulls it on the testing
 * agent, switches the record, smoke-tests it in Kasm, commits the promotion and rolls it out to production.
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { commitAll, git, labKasm, say, showRecords } from "./demo-kit.js";
import type { Lab } from "./lab.js";
import { pushRandomImage } from "./push-image.js";

const CLI = fileURLToPath(new URL("../cli/main.js", import.meta.url));
const TAG = "20261206";
/** The daemon gets this long to carry the build to production; the demo fails beyond it. */
const DEADLINE_MS = 120_000;

export type LoopAct = {
  lab: Lab;
  repoDir: string;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  cli: (...args: string[]) => Promise<number>;
};

/** The update policy on chrome-testing and auto-promotion on chrome: one commit, as an administrator would. */
async function automate(repoDir: string) {
  const file = join(repoDir, "workspaces", "chrome.yaml");
  const text = await readFile(file, "utf8");
  const policy = [
    "  # New dated builds (20261206) become commits moving this tag; see docs/automation.md.",
    "  update:",
    "    policy: numerical",
    "    filter: { pattern: '^(?<ts>\\d{8})$', extract: '$<ts>' }",
    "",
  ].join("\n");
  await writeFile(
    file,
    text
      // A function, so the `$<ts>` and `$'` in the policy are not read as replacement patterns.
      .replace("  smoke: { timeout: 2m, hold: 3s }\n", (smoke) => `${smoke}${policy}`)
      .replace(
        "    from: chrome-testing\n",
        "    from: chrome-testing\n    # Once chrome-testing's smoke test passes, kasm-gitops commits this promotion itself.\n    auto: commit\n",
      ),
  );
  await commitAll(repoDir, "Automate Chrome: dated builds on testing, auto-promotion");
  // kasm-gitops pushes its commits to this repo's main, which is checked out here: let the push update it.
  await git(repoDir, "config", "receive.denyCurrentBranch", "updateInstead");
}

/** A daemon log line as the demo says it, or nothing for the lines it leaves out. */
function said(line: Record<string, unknown>): string | undefined {
  const msg = String(line.msg ?? "");
  const short = (digest: unknown) => String(digest).slice(0, 19);
  switch (msg) {
    case "new revision in force":
      return `revision ${String(line.revision).slice(0, 7)} in force`;
    case "pull done":
      return `pulled ${line.image} on ${line.agent}`;
    case "kasm-update done":
      return `Kasm record of ${line.workspace} switched`;
    case "smoke done":
      return `smoke session of ${line.workspace} passed in Kasm (${Number(line.durationMs) / 1000}s)`;
    case "promote done":
      return `${line.image} → ${short(line.targetDigest)}, the tested digest`;
    case "remove done":
      return `removed ${line.image} from ${line.agent} (no Workspace runs it now)`;
  }
  if (/^(promotion pushed|auto-promotion not written)/.test(msg)) return msg;
  if (Number(line.level) >= 50) return `error: ${msg}`;
  return undefined;
}

/** A cycle's `planned` line that plans nothing. */
const idle = (line: Record<string, unknown>) =>
  ["pull", "promote", "blocked", "kasm", "smoke", "remove"].every((k) => !line[k]);

/** `kasm-gitops run` until chrome's record runs the build and a cycle after it had nothing to do. */
async function daemonUntilSwitched(act: LoopAct, image: string): Promise<number> {
  const child = spawn(
    process.execPath,
    [CLI, "run", "--repo", act.repoDir, "--state-dir", act.stateDir, "--interval", "1s"],
    { env: act.env, stdio: ["ignore", "ignore", "pipe"] },
  );
  const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
  let switched = false;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  createInterface({ input: child.stderr! }).on("line", async (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return void process.stdout.write(`  ${text}\n`);
    }
    const words = said(line);
    if (words) process.stdout.write(`  ${words}\n`);
    if (line.msg === "kasm-update done" && line.workspace === "chrome") {
      // An unreadable stand-in leaves it unswitched: the deadline then ends the act as a failure.
      const state = await labKasm(act.lab, "/state").catch(() => undefined);
      switched = Boolean(state?.images.some((i) => i.friendly_name === "Chrome" && i.name === image));
    }
    // The cycle after the switch plans nothing: the fleet is where Git says.
    if (switched && line.msg === "planned" && idle(line)) done();
  });
  const deadline = setTimeout(done, DEADLINE_MS);
  await Promise.race([finished, exited]);
  clearTimeout(deadline);
  child.kill("SIGTERM");
  const code = await exited;
  return switched && code === 0 ? 0 : 1;
}

/** The last act; resolves 0 when production runs the new build. */
export async function runLoopAct(act: LoopAct): Promise<number> {
  say("The whole loop, automated: chrome-testing follows CI's dated builds, chrome promotes itself");
  await automate(act.repoDir);
  process.stdout.write(`${await git(act.repoDir, "show", "--stat", "--format=%h %s", "HEAD")}\n`);
  say(`CI pushes tonight's build, kasm/chrome:${TAG}`);
  const registry = act.lab.registries.auth;
  const pushed = await pushRandomImage(
    { url: registry.url, repository: "kasm/chrome", tag: TAG, auth: registry.auth! },
    undefined,
    "stays",
  );
  const image = `${registry.host}/kasm/chrome:${TAG}`;
  process.stdout.write(`  pushed ${image} → ${pushed.digest.slice(0, 19)}…\n`);
  say(
    "kasm-gitops update: the policy's newest build becomes a commit (the daemon does this on its schedule)",
  );
  let code = await act.cli("update", "--repo", act.repoDir, "--state-dir", act.stateDir);
  process.stdout.write(
    `${await git(act.repoDir, "log", "-1", "--format=%h %s%n%(trailers:key=Kasm-Gitops-Automation)", "HEAD")}\n`,
  );
  say(
    "kasm-gitops run: testing pulls it, its record switches, the smoke test passes, the daemon commits the promotion, production follows",
  );
  code ||= await daemonUntilSwitched(act, image);
  process.stdout.write(`${await git(act.repoDir, "log", "-3", "--format=%h %an: %s")}\n`);
  say("Kasm: users of Chrome now launch tonight's build, tested, with no hand on it after the push");
  await showRecords(act.lab);
  return code;
}
