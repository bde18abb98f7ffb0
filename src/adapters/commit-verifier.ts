/**
 * Commit signatures checked by git itself (`git log --format=%G?…`), with gpg or ssh-keygen behind it, in a
 * sealed environment: no system or global git config, a temporary HOME, and for OpenPGP a temporary GNUPGHOME
 * holding only the trusted keys, so neither the user's keyring nor their config can vouch for a commit.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KasmGitopsError } from "../core/errors.js";
import {
  allowedSignersProblems,
  errsigFingerprint,
  judgeSignature,
  type SignatureReport,
  type TrustVerdict,
  type VerifyMode,
} from "../core/revision/trust.js";
import type { GitRevision, RevisionVerifier } from "../ports.js";

export type CommitVerifierOptions = {
  mode: VerifyMode;
  /** The allowed-signers file (ssh) or the exported public keys (openpgp). */
  file: string;
  /** PATH to find git, gpg and ssh-keygen; the process's by default. */
  path?: string;
  timeoutMs?: number;
};

type Run = { stdout: string; stderr: string; code: number };
const FORMAT = ["%G?", "%GF", "%GP", "%GK", "%GS", "%GG"].join("%x00");
const DEFAULT_TIMEOUT_MS = 60_000;

export function createCommitVerifier(options: CommitVerifierOptions): RevisionVerifier {
  const { mode, file } = options;
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const flag = mode === "ssh" ? "--allowed-signers" : "--trusted-keys";
  const fileError = (message: string, cause?: unknown) =>
    new KasmGitopsError(
      "invalid-trust-file",
      `${flag} ${file}: ${message}`,
      { file, mode },
      cause ? { cause } : {},
    );

  /** Runs a program in the sealed environment of `home`; resolves with its exit code, never rejects on one. */
  function run(
    home: string,
    cmd: string,
    args: string[],
    input?: string | Buffer,
    signal?: AbortSignal,
  ): Promise<Run> {
    const env = {
      PATH: options.path ?? process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: home,
      GNUPGHOME: join(home, "gnupg"),
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_TERMINAL_PROMPT: "0",
      LC_ALL: "C",
    };
    return new Promise((resolve, reject) => {
      const child = execFile(
        cmd,
        args,
        { env, timeout, maxBuffer: 16 << 20, ...(signal ? { signal } : {}) },
        (error, stdout, stderr) => {
          const code = (error as { code?: unknown } | null)?.code;
          if (error && typeof code !== "number") reject(error);
          else resolve({ stdout, stderr, code: typeof code === "number" ? code : 0 });
        },
      );
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  /** A fresh sealed home; for OpenPGP its keyring holds the trusted keys, ultimately trusted, and nothing else. */
  async function withHome<T>(task: (home: string) => Promise<T>): Promise<T> {
    const home = await mkdtemp(join(tmpdir(), "kg-trust-"));
    try {
      await mkdir(join(home, "gnupg"), { mode: 0o700 });
      // Never start a gpg-agent: nothing here needs a secret key, and an agent would outlive the folder.
      await writeFile(join(home, "gnupg", "gpg.conf"), "no-autostart\n");
      return await task(home);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }

  /** Imports the trusted keys into `home`'s keyring and trusts them; returns `fingerprint uid` per key. */
  async function importKeys(home: string, signal?: AbortSignal): Promise<string[]> {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      throw fileError(`cannot be read (${(error as Error).message})`, error);
    }
    const imported = await run(
      home,
      "gpg",
      [
        "--batch",
        "--no-tty",
        "--status-fd",
        "1",
        "--import-options",
        "import-show",
        "--with-colons",
        "--import",
      ],
      data,
      signal,
    );
    const fingerprints = [
      ...new Set(
        imported.stdout.match(/^\[GNUPG:\] IMPORT_OK \d+ ([0-9A-F]+)$/gm)?.map((l) => l.split(" ")[3]!),
      ),
    ];
    if (imported.code !== 0 || fingerprints.length === 0) {
      const said = imported.stderr
        .split("\n")
        .map((l) => l.replace(/^gpg:\s*/, "").trim())
        .filter((l) => l && !/keybox .* created|trustdb created|Total number processed/.test(l));
      throw fileError(
        `holds no usable OpenPGP public key${said.length ? ` (gpg: ${said.slice(0, 3).join("; ")})` : ""}`,
      );
    }
    const trust = await run(
      home,
      "gpg",
      ["--batch", "--no-tty", "--import-ownertrust"],
      fingerprints.map((f) => `${f}:6:\n`).join(""),
      signal,
    );
    if (trust.code !== 0) throw fileError(`gpg could not trust its keys: ${trust.stderr.trim()}`);
    const uids = new Map<string, string>();
    let current: string | undefined;
    let pendingFpr = false;
    for (const line of imported.stdout.split("\n")) {
      const fields = line.split(":");
      if (fields[0] === "pub") pendingFpr = true;
      else if (fields[0] === "fpr" && pendingFpr) {
        current = fields[9];
        pendingFpr = false;
      } else if (fields[0] === "uid" && current && !uids.has(current)) uids.set(current, fields[9] ?? "");
    }
    return fingerprints.map((f) => (uids.get(f) ? `${f} ${uids.get(f)}` : f));
  }

  /** Signs a throwaway message with a throwaway key and asks ssh-keygen to find its signer: it reads every line. */
  async function checkAllowedSigners(home: string, signal?: AbortSignal): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw fileError(`cannot be read (${(error as Error).message})`, error);
    }
    const key = join(home, "probe");
    const message = join(home, "probe.txt");
    await writeFile(message, "kasm-gitops allowed-signers check\n");
    const steps: [string, string[]][] = [
      ["ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "probe", "-f", key]],
      ["ssh-keygen", ["-q", "-Y", "sign", "-f", key, "-n", "git", message]],
    ];
    for (const [cmd, args] of steps) {
      const step = await run(home, cmd, args, undefined, signal);
      if (step.code !== 0) throw fileError(`ssh-keygen failed while checking it: ${step.stderr.trim()}`);
    }
    const found = await run(
      home,
      "ssh-keygen",
      ["-Y", "find-principals", "-f", file, "-s", `${message}.sig`],
      undefined,
      signal,
    );
    const problems = allowedSignersProblems(text, file, found.stderr);
    if (problems.length > 0) throw fileError(`is not a valid allowed-signers file: ${problems.join("; ")}`);
    return text
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => line.split(/\s+/)[0]!);
  }

  /** git's signature report for one commit, in `dir`, with only the trusted keys in reach. */
  async function report(home: string, dir: string, revision: string, signal?: AbortSignal) {
    const config = [
      "-c",
      `gpg.ssh.allowedSignersFile=${mode === "ssh" ? file : "/dev/null"}`,
      "-c",
      "gpg.program=gpg",
      "-c",
      "gpg.ssh.program=ssh-keygen",
      "-c",
      "log.showSignature=false",
    ];
    const shown = await run(
      home,
      "git",
      ["-C", dir, ...config, "log", "-1", "--no-walk", `--format=${FORMAT}`, revision, "--"],
      undefined,
      signal,
    );
    if (shown.code !== 0) {
      throw new KasmGitopsError("git-failed", `git log of ${revision} failed: ${shown.stderr.trim()}`, {
        revision,
      });
    }
    const [status = "", fingerprint = "", primaryFingerprint = "", keyId = "", signer = "", raw = ""] =
      shown.stdout.split("\0");
    const parsed: SignatureReport = {
      status: status.trim(),
      fingerprint,
      primaryFingerprint,
      keyId,
      signer,
      raw: `${raw}${shown.stderr}`,
    };
    if (parsed.status === "E" && !parsed.fingerprint) {
      // Git passes on only the key ID of a key gpg does not have; gpg's status lines carry its fingerprint.
      const raw = await run(
        home,
        "git",
        ["-C", dir, ...config, "verify-commit", "--raw", revision],
        undefined,
        signal,
      );
      parsed.fingerprint = errsigFingerprint(raw.stderr) ?? "";
    }
    return parsed;
  }

  return {
    mode,
    async check(signal) {
      return withHome((home) =>
        mode === "ssh" ? checkAllowedSigners(home, signal) : importKeys(home, signal),
      );
    },
    async verify(revision: GitRevision, signal?: AbortSignal): Promise<TrustVerdict> {
      return withHome(async (home) => {
        if (mode === "openpgp") await importKeys(home, signal);
        // git reads an unreadable allowed-signers file as "no signature": say what is wrong instead.
        else
          await readFile(file).catch((error: Error) => {
            throw fileError(`cannot be read (${error.message})`, error);
          });
        return judgeSignature(await report(home, revision.checkoutDir, revision.revision, signal));
      });
    },
  };
}
