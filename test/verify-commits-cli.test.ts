import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createFileLedger } from "../src/adapters/ledger-file.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { inRepo, kasmGitops, repoArgs } from "./helpers/cli.js";
import { type RunningDaemon, startDaemon, waitUntil } from "./helpers/daemon.js";
import { fleetYaml, localDigests, promotionPairYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, git, type TestRepo, tempDir } from "./helpers/git-repos.js";
import { commitAs, type GpgKey, gpgKey, type SshKey, sshKey, stopAgents } from "./helpers/signing.js";

const lab = inject("lab");
const engine = lab.engines[0]!;
const registry = lab.registries.plain;

type Status = {
  revision?: string;
  lastGoodRevision?: string;
  ready: boolean;
  state: string;
  reasons: string[];
  lastError?: { message: string; reason?: string };
  lastCycle?: { result: string };
  agents: Record<string, { reachable: boolean; converged: boolean }>;
};

/** plan, apply and run with --verify-commits, on real signed commits, a real registry and a real engine. */
describe("--verify-commits", () => {
  let repo: TestRepo;
  let alice: SshKey;
  let mallory: SshKey;
  let bob: GpgKey;
  let allowedSigners: string;
  let trustedKeys: string;
  let malformed: string;
  const name = uniqueRepo("signed");
  const image = (tag: string) => `${registry.host}/${name}:${tag}`;
  const manifests = (tag: string) => ({
    "manifests/a.yaml": fleetYaml({
      registries: [{ name: "lab", host: registry.host }],
      agents: [{ name: "a1", host: engine.host }],
      workspaces: [{ name: "app", image: image(tag), registry: "lab" }],
    }),
  });
  const ssh = () => ["--verify-commits", "ssh", "--allowed-signers", allowedSigners];

  beforeAll(async () => {
    [repo, alice, mallory, bob] = await Promise.all([
      createTestRepo(),
      sshKey("alice@example.invalid"),
      sshKey("mallory@example.invalid"),
      gpgKey("Bob <bob@example.invalid>"),
    ]);
    for (const tag of ["v1", "v2", "v3"]) await pushRandomImage({ url: registry.url, repository: name, tag });
    const dir = await tempDir("trust-cli");
    allowedSigners = join(dir, "allowed_signers");
    trustedKeys = join(dir, "trusted.asc");
    malformed = join(dir, "malformed_signers");
    await writeFile(allowedSigners, `${alice.allowedSigner}\n`);
    await writeFile(trustedKeys, bob.publicKey);
    await writeFile(malformed, `${alice.allowedSigner}\nbob@example.invalid ssh-ed25519 AAAAtruncated\n`);
  }, 60_000);
  afterAll(stopAgents);

  it("plan uses a tip signed by a listed key", async () => {
    const commit = await commitAs(repo.work, alice, manifests("v1"), "v1, signed by alice");
    const result = await inRepo("plan", repo.bare, await stateDir(), ["--json", ...ssh()]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).revision).toBe(commit);
  });

  it.each<[string, () => SshKey | undefined, RegExp]>([
    ["an unsigned tip", () => undefined, /no signature git can check \[unsigned\]/],
    ["a tip signed by a key not listed", () => mallory, /not listed as trusted \[unknown-key\]/],
  ])("plan refuses %s, naming the commit, the key and why", async (_, key, why) => {
    const commit = await commitAs(repo.work, key(), manifests("v1"), "v1 again");
    const result = await inRepo("plan", repo.bare, await stateDir(), ssh());
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`commit ${commit} (tip of main) is not trusted`);
    expect(result.stderr).toMatch(why);
    if (key()) expect(result.stderr).toContain(`by key ${key()!.fingerprint}`);
  });

  it("apply (flags from KASM_GITOPS_* variables) pulls nothing from an untrusted tip, and pulls a trusted one", async () => {
    const env = { KASM_GITOPS_VERIFY_COMMITS: "openpgp", KASM_GITOPS_TRUSTED_KEYS: trustedKeys };
    const state = await stateDir();
    const unsigned = await commitAs(repo.work, undefined, manifests("v2"), "v2 unsigned");
    const refused = await inRepo("apply", repo.bare, state, ["--json"], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`commit ${unsigned} (tip of main) is not trusted`);
    expect(await localDigests(engine.host, image("v2"))).toEqual([]);

    const signed = await commitAs(repo.work, bob, manifests("v2"), "v2 signed by bob");
    const applied = await inRepo("apply", repo.bare, state, ["--json"], { env });
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`"revision":"${signed}"`);
    expect(await localDigests(engine.host, image("v2"))).toHaveLength(1);
  });

  // Every command parses the flags with the same code: the usage errors are checked on plan alone.
  it.each<[string, (files: { malformed: string; allowed: string }) => [string[], string, string[]?]]>([
    [
      "a malformed allowed-signers file",
      (f) => [
        ["--verify-commits", "ssh", "--allowed-signers", f.malformed],
        `error: --allowed-signers ${f.malformed}: is not a valid allowed-signers file: line 2: invalid key`,
        ["plan", "apply", "run"],
      ],
    ],
    [
      "a key file without --verify-commits",
      (f) => [["--allowed-signers", f.allowed], "usage error: --allowed-signers needs --verify-commits ssh"],
    ],
    [
      "the other mode's key file",
      (f) => [
        ["--verify-commits", "openpgp", "--allowed-signers", f.allowed],
        "--allowed-signers is for --verify-commits ssh, not openpgp",
      ],
    ],
    ["an unknown mode", () => [["--verify-commits", "x509"], "--verify-commits x509: use ssh or openpgp"]],
    [
      "a mode without its file",
      () => [["--verify-commits", "openpgp"], "--verify-commits openpgp needs --trusted-keys FILE"],
    ],
  ])("stops on %s before fetching anything", async (_, setup) => {
    const [flags, message, commands = ["plan"]] = setup({ malformed, allowed: allowedSigners });
    for (const command of commands) {
      const state = await stateDir();
      const result = await inRepo(command, repo.bare, state, flags);
      expect({ command, code: result.code }).toEqual({ command, code: 1 });
      expect(result.stderr).toContain(message);
      expect(existsSync(join(state, "repos"))).toBe(false);
    }
  });

  describe("the daemon", () => {
    let daemon: RunningDaemon;
    let state: string;
    let good: string;
    /** `run` on the test repo with this state dir. */
    const follow = (dir: string, flags: string[]) =>
      startDaemon(repoArgs("run", repo.bare, dir, ["--interval", "1s", ...flags]).slice(1));
    const status = async () => (await daemon.status()) as Status;
    afterAll(async () => {
      await daemon?.stop();
    });

    it("refuses a new unsigned tip and keeps the last good revision in force", async () => {
      good = await commitAs(repo.work, alice, manifests("v3"), "v3 signed by alice");
      state = await stateDir();
      daemon = await follow(state, ssh());
      await waitUntil(
        "the signed revision in force",
        async () => ((await daemon.status()) as Status).lastGoodRevision === good,
        30_000,
        daemon.logs,
      );
      await waitUntil("v3 pulled", async () => (await localDigests(engine.host, image("v3"))).length === 1);

      const unsigned = await commitAs(repo.work, undefined, manifests("v1"), "v1, unsigned");
      await waitUntil(
        "the unsigned tip refused",
        async () => ((await daemon.status()) as Status).lastCycle?.result === "untrusted-revision",
        30_000,
        daemon.logs,
      );
      const status = (await daemon.status()) as Status;
      expect(status.revision).toBe(unsigned);
      expect(status.lastGoodRevision).toBe(good);
      expect(status.ready).toBe(true);
      expect(status.lastError?.reason).toBe("untrusted-revision");
      expect(status.lastError?.message).toContain(`commit ${unsigned} (tip of main) is not trusted`);
      expect((await daemon.get("/readyz")).status).toBe(200);
      expect((await daemon.get("/metrics")).body).toMatch(
        /kasm_gitops_cycles_total\{result="untrusted-revision"\} [1-9]/,
      );
      expect(daemon.logs()).toMatch(/revision refused: not signed by a trusted key/);
    });

    it("restarted on the unsigned tip, uses the signed revision it saved; never one saved unverified", async () => {
      await daemon.stop();
      daemon = await follow(state, ssh());
      await waitUntil(
        "a first cycle after the restart",
        async () => (await status()).lastCycle !== undefined,
      );
      // The saved revision is reconciled (its agent observed), though the tip is refused: ready, since the
      // last good revision is in force, and degraded with the refused tip as the reason.
      const restarted = await status();
      expect(restarted).toMatchObject({
        lastCycle: { result: "untrusted-revision" },
        agents: { a1: { reachable: true, converged: true } },
        lastGoodRevision: good,
        ready: true,
        state: "degraded",
      });
      expect(restarted.reasons.join("\n")).toMatch(/refused/);
      expect((await daemon.get("/readyz")).status).toBe(200);
      expect(daemon.logs()).toMatch(/using the last good revision from the state dir/);

      // A state dir whose last good revision was saved without --verify-commits: the unsigned tip itself.
      await daemon.stop();
      const unverified = await stateDir();
      daemon = await follow(unverified, []);
      await waitUntil("the unsigned tip saved", async () => (await status()).ready);
      await daemon.stop();
      daemon = await follow(unverified, ssh());
      await waitUntil("a refusal", async () => (await status()).lastCycle?.result === "untrusted-revision");
      expect(await status()).toMatchObject({ ready: false, agents: {} });
      expect(daemon.logs()).toMatch(/not using the last good revision from the state dir/);
    });
  });

  describe("promote --sign", () => {
    /** A testing/production pair whose testing digest the ledger has seen, in a fresh repo. */
    async function promotable() {
      const repository = uniqueRepo("chrome");
      const image = (tag: string) => `${registry.host}/${repository}:${tag}`;
      await pushRandomImage({ url: registry.url, repository, tag: "A" });
      const tested = await pushRandomImage({ url: registry.url, repository, tag: "B" });
      const fleet = await createTestRepo();
      const yaml = promotionPairYaml({
        registryHost: registry.host,
        testingHost: engine.host,
        productionHost: lab.engines[1]!.host,
        testingImage: image("B"),
        productionImage: image("A"),
      });
      await fleet.commit({ "manifests/a.yaml": yaml }, "fleet");
      const state = await stateDir();
      await createFileLedger(state).append({
        time: new Date().toISOString(),
        agent: "a1",
        image: image("B"),
        digest: tested.digest,
        revision: "0".repeat(40),
        workspaces: ["chrome-testing"],
      });
      return { fleet, state };
    }
    /** The user's own ~/.gitconfig: their name and SSH signing key. */
    async function userConfig(signingKey?: string) {
      const home = await tempDir("user");
      const file = join(home, ".gitconfig");
      const signing = signingKey ? `[gpg]\n\tformat = ssh\n[user]\n\tsigningkey = ${signingKey}\n` : "";
      await writeFile(file, `[user]\n\tname = Admin\n\temail = admin@example.invalid\n${signing}`);
      return { HOME: home };
    }

    it("signs the release commit with the user's key, and a verifying plan accepts the pushed branch", async () => {
      const { fleet, state } = await promotable();
      const env = await userConfig(alice.privateKeyFile);
      const result = await kasmGitops(
        ["promote", "chrome", "--sign", "--branch", "release", "--push", "--json"],
        { cwd: fleet.work, env: { ...env, KASM_GITOPS_PATH: "manifests", KASM_GITOPS_STATE_DIR: state } },
      );
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const out = JSON.parse(result.stdout) as { commit: string; signed: boolean };
      expect(out.signed).toBe(true);
      const plan = await inRepo("plan", fleet.bare, await stateDir(), [
        "--branch",
        "release",
        "--no-refresh",
        "--json",
        ...ssh(),
      ]);
      expect(plan.stderr).toBe("");
      expect(plan.code).toBe(0);
      expect(JSON.parse(plan.stdout).revision).toBe(out.commit);
    });

    it("fails without a signing key, leaving no commit, branch or edit behind", async () => {
      const { fleet, state } = await promotable();
      const before = await git(fleet.work, "rev-parse", "HEAD");
      const result = await kasmGitops(["promote", "chrome", "--sign", "--branch", "release"], {
        cwd: fleet.work,
        env: { ...(await userConfig()), KASM_GITOPS_PATH: "manifests", KASM_GITOPS_STATE_DIR: state },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("git commit -S (signing with your configured key) failed");
      expect(await git(fleet.work, "rev-parse", "HEAD")).toBe(before);
      expect(await git(fleet.work, "branch", "--list", "release")).toBe("");
      expect(await git(fleet.work, "status", "--porcelain")).toBe("");
    });
  });
});
