import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommitVerifier } from "../src/adapters/commit-verifier.js";
import { createGitSource } from "../src/adapters/git-source.js";
import { KasmGitopsError } from "../src/core/errors.js";
import type { TrustVerdict, VerifyMode } from "../src/core/revision/trust.js";
import { checkTrust } from "../src/engine/snapshot.js";
import { stateDir } from "./helpers/fleet.js";
import { createTestRepo, type TestRepo, tempDir } from "./helpers/git-repos.js";
import {
  commitAs,
  forgeHead,
  type GpgKey,
  gitAs,
  gpgKey,
  type SshKey,
  sshKey,
  stopAgents,
} from "./helpers/signing.js";

/** Real keys, real signed commits, a real shallow clone: what git says about the tip the daemon would use. */
describe("commit signatures checked by git (RevisionVerifier)", () => {
  let repo: TestRepo;
  let alice: SshKey;
  let mallory: SshKey;
  let bob: GpgKey;
  let eve: GpgKey;
  let expired: GpgKey;
  let allowedSigners: string;
  let trustedKeys: string;

  beforeAll(async () => {
    [repo, alice, mallory, bob, eve, expired] = await Promise.all([
      createTestRepo(),
      sshKey("alice@example.invalid"),
      sshKey("mallory@example.invalid"),
      gpgKey("Bob <bob@example.invalid>"),
      gpgKey("Eve <eve@example.invalid>"),
      // Made and used in January 2024, valid for two days: expired today.
      gpgKey("Old <old@example.invalid>", { at: "20240101T000000", expire: "2d" }),
    ]);
    const dir = await tempDir("trust");
    allowedSigners = join(dir, "allowed_signers");
    trustedKeys = join(dir, "trusted.asc");
    await writeFile(allowedSigners, `# who may sign manifests\n\n${alice.allowedSigner}\n`);
    await writeFile(trustedKeys, bob.publicKey + expired.publicKey);
  }, 60_000);
  afterAll(stopAgents);

  /** What the verifier says about the branch tip, after a real shallow fetch as `plan` does it. */
  async function verdict(mode: VerifyMode): Promise<TrustVerdict> {
    const source = createGitSource({ repo: repo.bare, branch: "main", stateDir: await stateDir() });
    const file = mode === "ssh" ? allowedSigners : trustedKeys;
    return createCommitVerifier({ mode, file }).verify(await source.sync());
  }

  it("accepts a commit signed with a listed SSH key, naming key and principal", async () => {
    await commitAs(repo.work, alice, { "manifests/a.yaml": "a: 2\n" }, "signed by alice");
    expect(await verdict("ssh")).toEqual({
      trusted: true,
      key: alice.fingerprint,
      signer: "alice@example.invalid",
    });
  });

  it("refuses an unsigned tip", async () => {
    await commitAs(repo.work, undefined, { "manifests/a.yaml": "a: 3\n" }, "unsigned");
    expect(await verdict("ssh")).toMatchObject({ trusted: false, reason: "unsigned" });
    expect(await verdict("openpgp")).toMatchObject({ trusted: false, reason: "unsigned" });
  });

  it("refuses a good signature by an SSH key that is not listed, naming that key", async () => {
    await commitAs(repo.work, mallory, { "manifests/a.yaml": "a: 4\n" }, "signed by mallory");
    expect(await verdict("ssh")).toMatchObject({
      trusted: false,
      reason: "unknown-key",
      key: mallory.fingerprint,
    });
  });

  it("refuses a trusted commit amended and re-signed by another key", async () => {
    await commitAs(repo.work, alice, { "manifests/a.yaml": "a: 5\n" }, "signed by alice");
    await writeFile(join(repo.work, "manifests/a.yaml"), "a: evil\n");
    await gitAs(repo.work, undefined, "add", "--all");
    await gitAs(repo.work, mallory, "commit", "--quiet", "--amend", "-S", "--no-edit");
    await gitAs(repo.work, undefined, "push", "--quiet", "--force", "origin", "HEAD:main");
    expect(await verdict("ssh")).toMatchObject({
      trusted: false,
      reason: "unknown-key",
      key: mallory.fingerprint,
    });
  });

  it.each<[VerifyMode, () => SshKey | GpgKey]>([
    ["ssh", () => alice],
    ["openpgp", () => bob],
  ])("refuses a %s-signed commit changed after signing (signature kept)", async (mode, key) => {
    await commitAs(repo.work, key(), { "manifests/a.yaml": "a: 6\n" }, "release 6 by the trusted key");
    await forgeHead(repo.work, "release 6", "release 7");
    expect(await verdict(mode)).toMatchObject({ trusted: false, reason: "bad-signature" });
  });

  it("accepts a commit signed with a trusted OpenPGP key, naming its fingerprint", async () => {
    await commitAs(repo.work, bob, { "manifests/a.yaml": "a: 8\n" }, "signed by bob");
    expect(await verdict("openpgp")).toEqual({
      trusted: true,
      key: bob.fingerprint,
      signer: "Bob <bob@example.invalid>",
    });
  });

  it("refuses an OpenPGP signature by a key not in the trusted keys, naming its fingerprint", async () => {
    await commitAs(repo.work, eve, { "manifests/a.yaml": "a: 9\n" }, "signed by eve");
    expect(await verdict("openpgp")).toMatchObject({
      trusted: false,
      reason: "unknown-key",
      key: eve.fingerprint,
    });
  });

  it("refuses a signature by an OpenPGP key that has expired", async () => {
    await commitAs(repo.work, expired, { "manifests/a.yaml": "a: 10\n" }, "signed in 2024 by old");
    expect(await verdict("openpgp")).toMatchObject({
      trusted: false,
      reason: "expired-key",
      key: expired.fingerprint,
    });
  });

  it("refuses an SSH signature by a listed key whose valid-before passed: expired-key, not unknown-key", async () => {
    await commitAs(repo.work, alice, { "manifests/a.yaml": "a: 10b\n" }, "signed by alice after expiry");
    const file = join(await tempDir("trust-expired"), "allowed_signers");
    await writeFile(file, `alice@example.invalid valid-before="20200101" ${alice.publicKey}\n`);
    const source = createGitSource({ repo: repo.bare, branch: "main", stateDir: await stateDir() });
    const refused = await createCommitVerifier({ mode: "ssh", file }).verify(await source.sync());
    expect(refused).toMatchObject({
      trusted: false,
      reason: "expired-key",
      key: alice.fingerprint,
      detail: expect.stringMatching(
        /had expired when the commit was made \(.*allowed_signers:1: .*valid-before 2020-01-01/,
      ),
    });
    // The same key, listed without a validity window, is trusted for the same commit.
    expect(await verdict("ssh")).toMatchObject({ trusted: true, key: alice.fingerprint });
  });

  it("refuses a signature of the other kind: SSH under openpgp, OpenPGP under ssh", async () => {
    await commitAs(repo.work, alice, { "manifests/a.yaml": "a: 11\n" }, "ssh-signed");
    expect(await verdict("openpgp")).toMatchObject({ trusted: false, key: alice.fingerprint });
    await commitAs(repo.work, bob, { "manifests/a.yaml": "a: 12\n" }, "gpg-signed");
    expect(await verdict("ssh")).toMatchObject({ trusted: false, key: bob.fingerprint });
  });

  it("checks the tip of a merge: a signed merge is used, an unsigned merge of signed commits is not", async () => {
    await commitAs(repo.work, alice, { "manifests/a.yaml": "a: 13\n" }, "base");
    await gitAs(repo.work, undefined, "checkout", "--quiet", "-b", "feature");
    await commitAs(repo.work, alice, { "manifests/b.yaml": "b: 1\n" }, "feature", "feature");
    await gitAs(repo.work, undefined, "checkout", "--quiet", "main");
    await commitAs(repo.work, alice, { "manifests/a.yaml": "a: 14\n" }, "main moves on");
    await gitAs(repo.work, alice, "merge", "--quiet", "--no-ff", "-S", "-m", "signed merge", "feature");
    await gitAs(repo.work, undefined, "push", "--quiet", "origin", "HEAD:main");
    expect(await verdict("ssh")).toMatchObject({ trusted: true, key: alice.fingerprint });

    await gitAs(repo.work, undefined, "reset", "--quiet", "--hard", "HEAD~1");
    await gitAs(repo.work, undefined, "merge", "--quiet", "--no-ff", "-m", "unsigned merge", "feature");
    await gitAs(repo.work, undefined, "push", "--quiet", "--force", "origin", "HEAD:main");
    expect((await gitAs(repo.work, undefined, "log", "-1", "--format=%P")).split(" ")).toHaveLength(2);
    expect(await verdict("ssh")).toMatchObject({ trusted: false, reason: "unsigned" });
  });

  it("never asks the user's own keyring or git config", async () => {
    // Eve's own GNUPGHOME trusts Eve ultimately, and a global git config lists Mallory as allowed.
    const globalConfig = join(await tempDir("global"), "gitconfig");
    const everyone = join(await tempDir("global"), "allowed");
    await writeFile(everyone, `${mallory.allowedSigner}\n${alice.allowedSigner}\n`);
    await writeFile(globalConfig, `[gpg "ssh"]\n\tallowedSignersFile = ${everyone}\n`);
    const saved = { ...process.env };
    Object.assign(process.env, { GNUPGHOME: eve.home, GIT_CONFIG_GLOBAL: globalConfig });
    try {
      await commitAs(repo.work, eve, { "manifests/a.yaml": "a: 15\n" }, "signed by eve");
      expect(await verdict("openpgp")).toMatchObject({ trusted: false, key: eve.fingerprint });
      await commitAs(repo.work, mallory, { "manifests/a.yaml": "a: 16\n" }, "signed by mallory");
      expect(await verdict("ssh")).toMatchObject({ trusted: false, key: mallory.fingerprint });
    } finally {
      process.env.GNUPGHOME = saved.GNUPGHOME;
      process.env.GIT_CONFIG_GLOBAL = saved.GIT_CONFIG_GLOBAL;
      if (saved.GNUPGHOME === undefined) delete process.env.GNUPGHOME;
      if (saved.GIT_CONFIG_GLOBAL === undefined) delete process.env.GIT_CONFIG_GLOBAL;
    }
  });

  it("refuses every revision, saying why, once the key file cannot be read", async () => {
    await commitAs(repo.work, alice, { "manifests/a.yaml": "a: 17\n" }, "signed by alice");
    const source = createGitSource({ repo: repo.bare, branch: "main", stateDir: await stateDir() });
    const revision = await source.sync();
    for (const mode of ["ssh", "openpgp"] as const) {
      const verifier = createCommitVerifier({ mode, file: "/nonexistent/keys" });
      const error = await checkTrust(revision, verifier).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "untrusted-revision", context: { reason: "cannot-check" } });
      expect((error as Error).message).toContain("/nonexistent/keys: cannot be read");
    }
  });

  describe("the key files, read before the first cycle", () => {
    async function check(mode: VerifyMode, text: string) {
      const file = join(await tempDir("keys"), "keys");
      await writeFile(file, text);
      return createCommitVerifier({ mode, file }).check();
    }

    it("lists the principals and fingerprints it trusts", async () => {
      expect(await createCommitVerifier({ mode: "ssh", file: allowedSigners }).check()).toEqual([
        "alice@example.invalid",
      ]);
      expect(await createCommitVerifier({ mode: "openpgp", file: trustedKeys }).check()).toEqual([
        `${bob.fingerprint} Bob <bob@example.invalid>`,
        `${expired.fingerprint} Old <old@example.invalid>`,
      ]);
    });

    it("reads a binary (not armored) export too", async () => {
      const file = join(await tempDir("keys"), "trusted.gpg");
      await writeFile(file, bob.publicKeyBinary);
      expect(await createCommitVerifier({ mode: "openpgp", file }).check()).toEqual([
        `${bob.fingerprint} Bob <bob@example.invalid>`,
      ]);
    });

    it.each<[string, VerifyMode, () => string, RegExp]>([
      ["a truncated key", "ssh", () => `${alice.allowedSigner.slice(0, 40)}\n`, /line 1: invalid key/],
      ["a principal alone", "ssh", () => `# ok\n${alice.allowedSigner}\nbob@example.invalid\n`, /line 3/],
      ["no key at all", "ssh", () => "# nobody yet\n\n", /lists no key/],
      ["text that is no key", "openpgp", () => "not a key\n", /no usable OpenPGP public key/],
      ["an empty file", "openpgp", () => "", /no usable OpenPGP public key/],
    ])("refuses %s (%s) with a clear error", async (_, mode, text, message) => {
      const error = await check(mode, text()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KasmGitopsError);
      expect((error as KasmGitopsError).code).toBe("invalid-trust-file");
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toMatch(
        mode === "ssh" ? /^--allowed-signers \// : /^--trusted-keys \//,
      );
    });

    it("refuses a file that does not exist", async () => {
      const missing = createCommitVerifier({ mode: "ssh", file: "/nonexistent/allowed_signers" });
      await expect(missing.check()).rejects.toThrow(/allowed_signers: cannot be read/);
    });
  });
});
