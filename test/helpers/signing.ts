/**
 * Freshly generated signing keys (ed25519, for speed) and commits signed with them by git itself, for the
 * trust tests. Every key lives in its own temporary folder; `stopAgents` ends the gpg-agents signing started.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { GIT_ENV, tempDir } from "../../src/lab/git-repo.js";

const exec = promisify(execFile);

/** A key git can sign commits with: the `-c` settings and environment that select it. */
export type SigningKey = {
  fingerprint: string;
  config: string[];
  env: Record<string, string>;
};
export type SshKey = SigningKey & { privateKeyFile: string; publicKey: string; allowedSigner: string };
export type GpgKey = SigningKey & { home: string; publicKey: string; publicKeyBinary: Buffer };

const gpgHomes: string[] = [];

async function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string) {
  const { stdout } = await exec(cmd, args, {
    env: { ...GIT_ENV, GIT_CONFIG_GLOBAL: "/dev/null", ...env },
    cwd,
    maxBuffer: 16 << 20,
  });
  return stdout;
}

/** An SSH ed25519 key; `allowedSigner` is its line for an allowed-signers file. */
export async function sshKey(principal: string): Promise<SshKey> {
  const dir = await tempDir("ssh-key");
  const file = join(dir, "id_ed25519");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", file]);
  const publicKey = (await readFile(`${file}.pub`, "utf8")).trim().split(/\s+/).slice(0, 2).join(" ");
  const fingerprint = (await run("ssh-keygen", ["-l", "-f", `${file}.pub`])).split(/\s+/)[1]!;
  return {
    fingerprint,
    privateKeyFile: file,
    publicKey,
    allowedSigner: `${principal} ${publicKey}`,
    config: ["-c", "gpg.format=ssh", "-c", `user.signingkey=${file}`],
    env: {},
  };
}

/**
 * An OpenPGP ed25519 key with no passphrase in its own GNUPGHOME. With `at` (gpg's `20240101T000000`), the key
 * is made and signs at that time, so `expire` can make it expired today.
 */
export async function gpgKey(uid: string, options: { at?: string; expire?: string } = {}): Promise<GpgKey> {
  const home = await tempDir("gpg-key");
  await chmod(home, 0o700);
  gpgHomes.push(home);
  const faked = options.at ? ["--faked-system-time", `${options.at}!`] : [];
  const env = { GNUPGHOME: home };
  await run(
    "gpg",
    [
      ...faked,
      "--batch",
      "--passphrase",
      "",
      "--quick-gen-key",
      uid,
      "ed25519",
      "sign",
      options.expire ?? "1y",
    ],
    env,
  );
  const colons = await run("gpg", ["--batch", "--with-colons", "--list-keys", uid], env);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(colons)![1]!;
  const publicKey = await run("gpg", ["--batch", "--armor", "--export", fingerprint], env);
  const { stdout: publicKeyBinary } = await exec("gpg", ["--batch", "--export", fingerprint], {
    env: { ...GIT_ENV, ...env },
    encoding: "buffer",
  });
  let program = "gpg";
  if (options.at) {
    program = join(home, "gpg-at");
    await writeFile(program, `#!/bin/sh\nexec gpg --faked-system-time '${options.at}!' "$@"\n`, {
      mode: 0o755,
    });
  }
  return {
    fingerprint,
    home,
    publicKey,
    publicKeyBinary,
    config: [
      "-c",
      "gpg.format=openpgp",
      "-c",
      `user.signingkey=${fingerprint}`,
      "-c",
      `gpg.program=${program}`,
    ],
    env,
  };
}

/** Ends the gpg-agents that signing started, one per key folder. */
export async function stopAgents(): Promise<void> {
  for (const home of gpgHomes.splice(0)) {
    await run("gpgconf", ["--homedir", home, "--kill", "gpg-agent"]).catch(() => {});
  }
}

/** Runs git in `work` as the given signer (or nobody), with no user configuration. */
export function gitAs(work: string, key: SigningKey | undefined, ...args: string[]): Promise<string> {
  return run("git", [...(key?.config ?? []), ...args], key?.env ?? {}, work).then((out) => out.trim());
}

/** Writes files, commits them (signed when `key` is given) and force-pushes the branch; returns the commit. */
export async function commitAs(
  work: string,
  key: SigningKey | undefined,
  files: Record<string, string>,
  message: string,
  branch = "main",
): Promise<string> {
  for (const [file, content] of Object.entries(files)) {
    await mkdir(join(work, file, ".."), { recursive: true });
    await writeFile(join(work, file), content);
  }
  await gitAs(work, undefined, "add", "--all");
  await gitAs(work, key, "commit", "--quiet", "--allow-empty", ...(key ? ["-S"] : []), "-m", message);
  await gitAs(work, undefined, "push", "--quiet", "--force", "origin", `HEAD:${branch}`);
  return gitAs(work, undefined, "rev-parse", "HEAD");
}

/** Rewrites HEAD's message without re-signing, keeping its signature: a commit changed after it was signed. */
export async function forgeHead(work: string, from: string, to: string, branch = "main"): Promise<string> {
  const object = await gitAs(work, undefined, "cat-file", "commit", "HEAD");
  const forged = `${object.replace(from, to)}\n`;
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    const child = execFile(
      "git",
      ["hash-object", "-t", "commit", "-w", "--stdin"],
      { cwd: work, env: { ...GIT_ENV, GIT_CONFIG_GLOBAL: "/dev/null" } },
      (error, out) => (error ? reject(error) : resolve({ stdout: out })),
    );
    child.stdin!.end(forged);
  });
  const commit = stdout.trim();
  await gitAs(work, undefined, "reset", "--quiet", "--hard", commit);
  await gitAs(work, undefined, "push", "--quiet", "--force", "origin", `HEAD:${branch}`);
  return commit;
}
