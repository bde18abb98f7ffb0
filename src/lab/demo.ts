#!/usr/bin/env node
/**
 * `npm run demo`: the whole product on an embedded default, with nothing to configure. It starts the lab
 * (three Docker engines as Kasm agents, an htpasswd registry), turns examples/manifests into a Git repo
 * pointed at them, pushes the example images, and runs plan → apply → smoke test → promote → plan → apply,
 * then a broken build whose smoke test fails and blocks its promotion, reverted; and last the whole loop:
 * a new dated build committed by its update policy, smoke-tested and promoted by the daemon itself.
 * The lab's Kasm API stand-in is the embedded Kasm: the Workspace records follow Git, the testing
 * Workspace's smoke session runs on its agent's engine before promote, and the user-facing record switches
 * to the tested tag only once production's agents pulled it.
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDockerAgent } from "../adapters/docker-agent.js";
import { createRegistryClient } from "../adapters/registry-client.js";
import { processIo } from "../cli/process-io.js";
import { runCli } from "../cli/run-cli.js";
import { parseImageReference } from "../core/image/reference.js";
import { commitAll, git, labKasm, say, showRecords } from "./demo-kit.js";
import { runLoopAct } from "./demo-loop.js";
import { defaultLabDir, type Lab, startLab } from "./lab.js";
import { pushRandomImage } from "./push-image.js";

const EXAMPLES = fileURLToPath(new URL("../../examples/manifests/", import.meta.url));
const EXAMPLE_HOST = "registry.example.com:5000";

/** Rewrites the example fleet for the lab: its registry, its engines, its credentials. */
function localise(text: string, lab: Lab): string {
  const [e1, e2, e3] = lab.engines;
  return text
    .replaceAll(EXAMPLE_HOST, lab.registries.auth.host)
    .replace(/insecure: false/g, "insecure: true # the lab registry speaks plain HTTP on loopback")
    .replace(/username: ci-bot/g, `username: ${lab.registries.auth.auth!.username}`)
    .replace("unix:///var/run/docker.sock", e1!.host)
    .replace("tcp://10.0.0.12:2376", e2!.host)
    .replace("tcp://10.0.1.12:2376", e3!.host)
    .replace("url: https://kasm.example.com", `url: ${lab.kasm.url}`)
    .replace(/^ {4}tls:\n( {6}\w+: .*\n){3}/gm, "");
}

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && /\.ya?ml$/.test(e.name)).map((e) => join(e.parentPath, e.name));
}

/** Pushes every image the examples name (random content), and points `latest` at production's tag. */
async function pushImages(repoDir: string, lab: Lab) {
  const registry = lab.registries.auth;
  const images = new Set<string>();
  for (const file of await files(repoDir)) {
    for (const [, image] of (await readFile(file, "utf8")).matchAll(/image: (\S+)/g)) images.add(image!);
  }
  const digests = new Map<string, string>();
  for (const image of images) {
    const ref = parseImageReference(image);
    const platforms = ref.repository.endsWith("chrome")
      ? [
          { os: "linux", architecture: "amd64" },
          { os: "linux", architecture: "arm64" },
        ]
      : undefined;
    // Each image runs a program that stays up, so a smoke session of it in Kasm keeps running.
    const pushed = await pushRandomImage(
      { url: registry.url, repository: ref.repository, tag: ref.tag!, auth: registry.auth! },
      platforms,
      "stays",
    );
    digests.set(image, pushed.digest);
    process.stdout.write(`  pushed ${image} → ${pushed.digest.slice(0, 19)}…\n`);
  }
  const client = createRegistryClient({ host: registry.host, insecure: true, credentials: registry.auth! });
  const production = parseImageReference(`${registry.host}/kasm/chrome:20261120`);
  const manifest = await client.getManifest(production, digests.get(production.canonical)!);
  await client.putManifest(production, "latest", manifest.body, manifest.mediaType);
  process.stdout.write(`  ${registry.host}/kasm/chrome:latest → the digest of :20261120\n`);
}

/** The terminal workspace has no registry, so its image is loaded on the agents by hand, as its file says. */
async function loadByHand(repoDir: string, lab: Lab) {
  const text = await readFile(join(repoDir, "workspaces", "terminal.yaml"), "utf8");
  const image = /image: (\S+)/.exec(text)![1]!;
  for (const engine of lab.engines) {
    await createDockerAgent({ name: engine.name, host: engine.host }).pull(image, {
      auth: lab.registries.auth.auth!,
    });
  }
  process.stdout.write(`  loaded ${image} on every agent by hand (it has no registry)\n`);
}

/**
 * A fresh fleet per run, like the fresh folder: an earlier demo's images left on the agents turn dangling
 * once this run pushes new content under the same tags, and the last plan would prune them instead of
 * saying the fleet converged. Only the demo's own repositories are touched; by tag, then untagged by id.
 */
async function clearEarlierDemo(lab: Lab) {
  const prefix = `${lab.registries.auth.host}/kasm/`;
  let removed = 0;
  for (const engine of lab.engines) {
    const agent = createDockerAgent({ name: engine.name, host: engine.host });
    for (const image of await agent.listImages()) {
      if (![...image.repoTags, ...image.repoDigests].some((r) => r.startsWith(prefix))) continue;
      const names = image.repoTags.length > 0 ? image.repoTags : [image.id];
      for (const name of names) if ((await agent.removeImage(name)).status === "removed") removed++;
    }
  }
  if (removed > 0) process.stdout.write(`  removed ${removed} image(s) an earlier demo left on the agents\n`);
}

/** chrome-testing asks for a smoke test, run as Kasm's `smoke` user: one commit, as an administrator would. */
async function enableSmoke(repoDir: string) {
  const kasm = join(repoDir, "kasm.yaml");
  await writeFile(
    kasm,
    `${await readFile(kasm, "utf8")}  # Smoke tests of Workspaces that ask for them run as this Kasm user.\n  smoke: { user: smoke }\n`,
  );
  const chrome = join(repoDir, "workspaces", "chrome.yaml");
  const text = await readFile(chrome, "utf8");
  // The first Workspace of the file is chrome-testing: its digest passes a session in Kasm before promote.
  await writeFile(
    chrome,
    text.replace("  groups: [qa]\n", "  groups: [qa]\n  smoke: { timeout: 2m, hold: 3s }\n"),
  );
  await commitAll(repoDir, "Smoke-test chrome-testing in Kasm before promotion");
}

/**
 * A broken build: a new dated tag whose container exits at once, pushed and put on chrome-testing by a
 * commit, as a nightly build would be. Returns the tag.
 */
async function breakTesting(repoDir: string, lab: Lab): Promise<string> {
  const registry = lab.registries.auth;
  const tag = "20261204";
  await pushRandomImage(
    { url: registry.url, repository: "kasm/chrome", tag, auth: registry.auth! },
    undefined,
    "exits",
  );
  const chrome = join(repoDir, "workspaces", "chrome.yaml");
  // The first image line of the file is chrome-testing's.
  const text = await readFile(chrome, "utf8");
  await writeFile(chrome, text.replace(/^( {2}image: \S+\/kasm\/chrome:)20261127$/m, `$1${tag}`));
  await commitAll(repoDir, `chrome-testing: the nightly build ${tag}`);
  return tag;
}

export async function runDemo(options: { keep: boolean }) {
  say("Starting the lab: 3 Docker engines (the Kasm agents) and an htpasswd registry on loopback");
  const handle = await startLab({
    dir: defaultLabDir(),
    engines: 3,
    log: (l) => process.stdout.write(`  ${l}\n`),
  });
  const { lab } = handle;
  await clearEarlierDemo(lab);
  // A fresh folder per run: nothing of an earlier demo (or another user's) is reused or overwritten.
  const dir = await mkdtemp(join(tmpdir(), "kasm-gitops-demo-"));
  const repoDir = join(dir, "manifests");
  const stateDir = join(dir, "state");
  await cp(EXAMPLES, repoDir, { recursive: true });
  for (const file of await files(repoDir)) await writeFile(file, localise(await readFile(file, "utf8"), lab));
  await git(repoDir, "init", "--quiet", "--initial-branch=main");
  await git(repoDir, "add", "--all");
  await git(repoDir, "commit", "--quiet", "-m", "Our Kasm fleet, from examples/manifests");
  process.stdout.write(`  manifest repo: ${repoDir}\n`);

  say("Pushing the example images (the build and push steps of the Kasm image process)");
  await pushImages(repoDir, lab);
  await loadByHand(repoDir, lab);
  // A fresh embedded Kasm with the groups the examples name besides the built-in ones.
  await labKasm(lab, "/reset", {});
  // Its agents are the lab's engines (each reports what its engine holds), and a user for smoke sessions.
  await labKasm(lab, "/seed", {
    groups: [{ name: "qa" }, { name: "developers" }],
    servers: lab.engines.map((e, i) => ({ hostname: `agent-${i + 1}`, engine: e.host })),
    users: [{ username: "smoke" }],
  });
  process.stdout.write(`  Kasm (the lab's API stand-in): ${lab.kasm.url}, no Workspace records yet\n`);

  const io = processIo({
    env: {
      ...process.env,
      KASM_SECRET_CORP_REGISTRY_TOKEN: lab.registries.auth.auth!.password,
      KASM_SECRET_KASM_API_KEY: lab.kasm.apiKey,
      KASM_SECRET_KASM_API_KEY_SECRET: lab.kasm.apiKeySecret,
    },
    cwd: repoDir,
  });
  const cli = (...args: string[]) => runCli(args, io);
  const repoFlags = ["--repo", repoDir, "--state-dir", stateDir];
  let code = 0;
  say("kasm-gitops validate");
  code ||= await cli("validate", repoDir);
  say("kasm-gitops plan: what the fleet lacks, and the Kasm records, each after the pulls it waits for");
  code ||= await cli("plan", ...repoFlags);
  say("kasm-gitops apply: pulls, at most 2 at a time per agent (1 on agent-3), then the records");
  code ||= await cli("apply", ...repoFlags);
  say("Kasm now shows the records Git describes");
  await showRecords(lab);
  say("The Test step, automated: a commit asks for a smoke test in Kasm of chrome-testing");
  await enableSmoke(repoDir);
  process.stdout.write(`${await git(repoDir, "show", "--stat", "--format=%h %s", "HEAD")}\n`);
  say(
    "kasm-gitops apply: a session of chrome-testing's record starts in Kasm, runs for its hold, is destroyed",
  );
  code ||= await cli("apply", ...repoFlags);
  say("The smoke test passed for that digest; kasm-gitops promote checks it and makes the release commit");
  code ||= await cli("promote", "chrome", "--repo", repoDir, "--state-dir", stateDir);
  process.stdout.write(`${await git(repoDir, "show", "--stat", "--format=%h %s", "HEAD")}\n`);
  say(
    "kasm-gitops plan: latest moves to the tested digest, production pulls it, then Chrome's record switches",
  );
  code ||= await cli("plan", ...repoFlags);
  say("kasm-gitops apply: the record switches only after both production agents hold the image");
  code ||= await cli("apply", ...repoFlags);
  say("Kasm: users of Chrome now launch the tested tag");
  await showRecords(lab);
  say("A broken nightly build reaches the testing ring: its container exits as soon as it starts");
  const broken = await breakTesting(repoDir, lab);
  process.stdout.write(`${await git(repoDir, "show", "--stat", "--format=%h %s", "HEAD")}\n`);
  say(`kasm-gitops apply: chrome-testing switches to ${broken}, and its smoke session fails in Kasm`);
  // Expected to end 1 (the smoke test failed): not the demo's own failure.
  await cli("apply", ...repoFlags);
  say("kasm-gitops promote: refused, naming what Kasm reported of the session");
  if ((await cli("promote", "chrome", "--repo", repoDir, "--state-dir", stateDir)) === 0) code ||= 1;
  say("git revert: chrome-testing goes back to the tested tag; kasm-gitops apply puts its record back");
  await git(repoDir, "revert", "--no-edit", "HEAD");
  code ||= await cli("apply", ...repoFlags);
  code ||= await runLoopAct({ lab, repoDir, stateDir, env: io.env, cli });
  say("kasm-gitops plan: converged");
  code ||= await cli("plan", ...repoFlags);
  if (!options.keep) {
    await handle.stop();
    await rm(dir, { recursive: true, force: true });
    say(
      handle.started.length
        ? "Stopped the lab services this demo started"
        : "The lab was already running; left it",
    );
  } else {
    say(`The lab keeps running (npm run lab -- down stops it); the demo's repo and state are in ${dir}`);
  }
  return code;
}

const keep = process.argv.includes("--keep");
process.exitCode = await runDemo({ keep });
