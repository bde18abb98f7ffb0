import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createGitWriter } from "../src/adapters/git-writer.js";
import { readManifestDir } from "../src/adapters/manifest-files.js";
import { createAutoPromotionsFile, createDeps } from "../src/app.js";
import { resultKey, type SmokeResult, specFingerprint } from "../src/core/kasm/smoke.js";
import { secretPolicy } from "../src/core/manifest/secret-policy.js";
import { automationOf } from "../src/core/update/message.js";
import { acceptManifests } from "../src/engine/snapshot.js";
import { createUpdater } from "../src/engine/update/updater.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { inRepo } from "./helpers/cli.js";
import { labRegistryDoc, prePull, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, git, type TestRepo, tempDir } from "./helpers/git-repos.js";
import { sshKey } from "./helpers/signing.js";

const lab = inject("lab");
const R = lab.registries.plain;
const engine = lab.engines[0]!;

/** Testing (smoke-tested, on the testing ring) and production (auto-promoted from it) on one repository. */
function yaml(name: string, auto: "commit" | "branch") {
  return [
    ...labRegistryDoc(R.host),
    "apiVersion: kasm-gitops/v1",
    "kind: KasmServer",
    "metadata: {name: kasm}",
    "spec:",
    "  url: http://127.0.0.1:1",
    "  apiKey: {env: KASM_SECRET_KASM_API_KEY}",
    "  apiKeySecret: {env: KASM_SECRET_KASM_API_KEY_SECRET}",
    "  smoke: {user: smoke}",
    "---",
    "apiVersion: kasm-gitops/v1",
    "kind: Agent",
    "metadata: {name: a1, labels: {ring: testing}}",
    `spec: {docker: {host: "${engine.host}"}}`,
    "---",
    "apiVersion: kasm-gitops/v1",
    "kind: Workspace",
    "metadata: {name: chrome-testing}",
    "spec:",
    `  image: "${R.host}/${name}:20261206"`,
    "  registry: lab",
    "  agents: {matchLabels: {ring: testing}}",
    "  smoke: true",
    "---",
    "apiVersion: kasm-gitops/v1",
    "kind: Workspace",
    "metadata: {name: chrome}   # production",
    "spec:",
    `  image: "${R.host}/${name}:20261201"   # moved by promotion`,
    "  registry: lab",
    "  agents: {matchLabels: {ring: production}}",
    `  promotion: {from: chrome-testing, auto: ${auto}}`,
    "",
  ].join("\n");
}

const digests: Record<string, Record<string, string>> = {};
const names = { pulled: uniqueRepo("auto"), unpulled: uniqueRepo("auto-unpulled") };
beforeAll(async () => {
  for (const name of Object.values(names)) {
    digests[name] = {};
    for (const tag of ["20261201", "20261206"])
      digests[name]![tag] = (await pushRandomImage({ url: R.url, repository: name, tag })).digest;
  }
  // The testing ring pulled the new build (a real pull on a lab engine): the promote command's proof.
  await prePull(engine.host, `${R.host}/${names.pulled}:20261206`);
});

async function fleet(
  auto: "commit" | "branch",
  name = names.pulled,
  verdict: "pass" | "fail" = "pass",
  /** Sign with the key this git configuration names (GIT_CONFIG_GLOBAL of the writer). */
  signWith?: string,
) {
  const repo = await createTestRepo();
  await repo.commit({ "manifests/a.yaml": yaml(name, auto) }, "fleet");
  const state = await stateDir();
  const files = await readManifestDir(join(repo.work, "manifests"), repo.work);
  const { set } = acceptManifests(files, "work");
  // A smoke result as the cycle writes it, straight into the state dir's smoke store.
  const testing = set.workspaces.find((w) => w.metadata.name === "chrome-testing")!;
  const digest = digests[name]!["20261206"]!;
  const result: SmokeResult = {
    digest,
    workspace: "chrome-testing",
    result: verdict,
    message: verdict === "pass" ? "running for 30s" : "the container exited",
    startedAt: "2026-12-06T10:00:00.000Z",
    finishedAt: "2026-12-06T10:00:40.000Z",
    spec: specFingerprint(testing),
  };
  await writeFile(
    join(state, "smoke.json"),
    JSON.stringify({ results: { [resultKey("chrome-testing", digest)]: result }, pending: [] }),
  );
  const deps = createDeps({
    secrets: secretPolicy({}, process.env),
    repo: repo.bare,
    stateDir: state,
    env: {},
  });
  const updater = createUpdater(
    {
      ...deps,
      writer: createGitWriter({
        repo: repo.bare,
        stateDir: state,
        identity: { name: "Bot", email: "bot@x.invalid" },
        ...(signWith ? { env: { ...process.env, GIT_CONFIG_GLOBAL: signWith } } : {}),
      }),
      readManifests: readManifestDir,
      autoPromotions: createAutoPromotionsFile(state),
    },
    {
      branch: "main",
      path: "manifests",
      sign: signWith !== undefined,
      report: () => {},
      onPushed: () => void pushes++,
    },
  );
  let pushes = 0;
  updater.configure({
    set,
    files,
    problems: [],
    revision: {
      revision: await git(repo.bare, "rev-parse", "main"),
      branch: "main",
      checkoutDir: repo.work,
      manifestDir: join(repo.work, "manifests"),
    },
  });
  return {
    repo,
    state,
    updater,
    digest,
    image: (tag: string) => `${R.host}/${name}:${tag}`,
    pushes: () => pushes,
  };
}

const log = (repo: TestRepo, ref = "main", format = "%H") =>
  git(repo.bare, "log", "-1", `--format=${format}`, ref);

describe("auto-promotion on a real bare repo, the lab registry and a lab engine", () => {
  it("auto: commit — a smoke-passed, pulled digest becomes promote's commit on main, once; a revert is not undone", async () => {
    const f = await fleet("commit");
    const before = await log(f.repo);
    const outcomes = await f.updater.promote();
    expect(outcomes.map((o) => [o.decision.status, o.result?.status, o.error?.code])).toEqual([
      ["due", "pushed", undefined],
    ]);
    expect(f.pushes()).toBe(1);
    expect(await git(f.repo.bare, "rev-list", "--count", `${before}..main`)).toBe("1");
    const diff = (await git(f.repo.bare, "diff", "--unified=0", "main~1", "main"))
      .split("\n")
      .filter((l) => /^[-+]\s/.test(l));
    expect(diff).toEqual([
      `-  image: "${f.image("20261201")}"   # moved by promotion`,
      `+  image: "${f.image("20261206")}"   # moved by promotion`,
    ]);
    const message = await log(f.repo, "main", "%B");
    expect(message.split("\n")[0]).toBe(
      `Promote chrome to 20261206 (${f.digest.slice(0, 19)} verified on chrome-testing)`,
    );
    expect(message).toContain(`Digest: ${f.digest}`);
    expect(message).toContain("Verified on: workspace chrome-testing, agent a1");
    expect(automationOf(message)).toBe("promote");
    const record = JSON.parse(await readFile(join(f.state, "auto-promotions.json"), "utf8"));
    expect(Object.keys(record.proposed)).toEqual([`chrome@${f.digest}`]);

    // A person reverts it: the same digest is never proposed again.
    await git(f.repo.work, "fetch", "--quiet", "origin");
    await git(f.repo.work, "reset", "--quiet", "--hard", "origin/main");
    await git(f.repo.work, "revert", "--no-edit", "HEAD");
    await git(f.repo.work, "push", "--quiet", "origin", "HEAD:main");
    const reverted = await log(f.repo);
    const again = await f.updater.promote();
    expect(again.map((o) => o.decision)).toMatchObject([{ status: "waiting", reason: "already-proposed" }]);
    expect(await log(f.repo)).toBe(reverted);
    expect(automationOf(await log(f.repo, "main", "%B"))).toBeUndefined();
  });

  it("auto: branch — pushes kasm-gitops/promote/chrome/<tag>, main untouched, and not again", async () => {
    const f = await fleet("branch");
    const before = await log(f.repo);
    const branch = "kasm-gitops/promote/chrome/20261206";
    const [first] = await f.updater.promote();
    expect(first!.result).toMatchObject({ status: "pushed", branch });
    expect(f.pushes()).toBe(0);
    expect(await log(f.repo)).toBe(before);
    expect(await git(f.repo.bare, "rev-parse", `${branch}~1`)).toBe(before);
    expect((await log(f.repo, branch, "%B")).trim().split("\n").at(-1)).toBe(
      "Kasm-Gitops-Automation: promote",
    );
    const [second] = await f.updater.promote();
    expect(second!.decision).toMatchObject({ status: "waiting", reason: "already-proposed" });
    await f.updater.stop();
  });

  it.each([
    ["a failed smoke test stops it", names.pulled, "fail", "waiting", undefined],
    [
      "a digest the testing ring never pulled is refused by promote's check",
      names.unpulled,
      "pass",
      "due",
      "not-verified",
    ],
  ] as const)("%s: nothing is pushed", async (_, name, verdict, status, code) => {
    const f = await fleet("commit", name, verdict);
    const before = await log(f.repo);
    const [outcome] = await f.updater.promote();
    expect(outcome!.decision.status).toBe(status);
    expect(outcome!.error?.code).toBe(code);
    expect(outcome!.result).toBeUndefined();
    expect(await log(f.repo)).toBe(before);
    expect(await git(f.repo.bare, "for-each-ref", "refs/heads/kasm-gitops")).toBe("");
  });
});

describe("a signed auto-promotion", () => {
  it("is signed with git's configured key, and a reconciler with --verify-commits accepts the new tip", async () => {
    const key = await sshKey("bot@example.invalid");
    const dir = await tempDir("promote-sign");
    const gitconfig = join(dir, "gitconfig");
    const allowed = join(dir, "allowed_signers");
    await writeFile(gitconfig, `[gpg]\n\tformat = ssh\n[user]\n\tsigningkey = ${key.privateKeyFile}\n`);
    await writeFile(allowed, `${key.allowedSigner}\n`);
    const f = await fleet("commit", names.pulled, "pass", gitconfig);
    const [outcome] = await f.updater.promote();
    expect(outcome!.result).toMatchObject({ status: "pushed", branch: "main" });
    const tip = await git(f.repo.bare, "cat-file", "commit", "main");
    expect(tip).toContain("-----BEGIN SSH SIGNATURE-----");
    expect(automationOf(await log(f.repo, "main", "%B"))).toBe("promote");
    const verify = (file: string) =>
      inRepo("plan", f.repo.bare, f.state, [
        "--verify-commits",
        "ssh",
        "--allowed-signers",
        file,
        "--no-refresh",
        "--json",
      ]);
    const plan = await verify(allowed);
    expect(plan.stderr).not.toMatch(/not signed|untrusted|refused/i);
    expect(JSON.parse(plan.stdout).revision).toBe(await log(f.repo));
    // The same check with another key trusted refuses the tip: the signature is what was checked.
    const other = join(dir, "other_signers");
    await writeFile(other, `${(await sshKey("someone@example.invalid")).allowedSigner}\n`);
    const refused = await verify(other);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(await log(f.repo));
  });
});
