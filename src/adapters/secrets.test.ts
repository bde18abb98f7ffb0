import { mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KasmGitopsError } from "../core/errors.js";
import type { SecretPolicy } from "../core/manifest/secret-policy.js";
import type { ValueOrRef } from "../core/manifest/types.js";
import { resolveCredentials, resolveSecret } from "./secrets.js";

const dir = mkdtempSync(join(tmpdir(), "kasm-gitops-secrets-"));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const env = { TOKEN: "s3cr3t-env", EMPTY: "", KASM_SECRET_X: "s3cr3t-prefixed", HOME_TOKEN: "s3cr3t-home" };
const outside = mkdtempSync(join(tmpdir(), "kasm-gitops-not-secrets-"));
writeFileSync(join(outside, "host-file"), "s3cr3t-host\n");
symlinkSync(join(outside, "host-file"), join(dir, "link-out"));
const policy: SecretPolicy = { dirs: [dir], envNames: ["TOKEN", "EMPTY", "MISSING_VAR", "NOT_SET_ANYWHERE"] };

describe("resolveSecret", () => {
  it.each<[string, ValueOrRef, string]>([
    ["a literal", "ci-bot", "ci-bot"],
    ["an environment variable", { env: "TOKEN" }, "s3cr3t-env"],
    ["a KASM_SECRET_ variable, not listed", { env: "KASM_SECRET_X" }, "s3cr3t-prefixed"],
    ["a file without newline", { file: file("plain", "s3cr3t-file") }, "s3cr3t-file"],
    ["a file with one final newline", { file: file("nl", "s3cr3t-file\n") }, "s3cr3t-file"],
    ["a file with CRLF", { file: file("crlf", "s3cr3t-file\r\n") }, "s3cr3t-file"],
    ["only the final newline is trimmed", { file: file("two", " pass word\n\n") }, " pass word\n"],
  ])("resolves %s", async (_, value, expected) => {
    expect(await resolveSecret(value, env, policy)).toBe(expected);
  });

  it.each<[string, ValueOrRef, RegExp]>([
    [
      "an unset variable",
      { env: "MISSING_VAR" },
      /\{env: MISSING_VAR\} cannot be resolved: environment variable MISSING_VAR is not set/,
    ],
    ["an empty variable", { env: "EMPTY" }, /environment variable EMPTY is empty/],
    [
      "a missing file",
      { file: join(dir, "nope") },
      /\{file: .*nope\} cannot be resolved: the file does not exist/,
    ],
    ["a directory", { file: dir }, /the path is a directory/],
    ["an empty file", { file: file("empty", "\n") }, /the file is empty/],
  ])("refuses %s with secret-unresolved", async (_, value, message) => {
    const error = await resolveSecret(value, env, policy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KasmGitopsError);
    expect((error as KasmGitopsError).code).toBe("secret-unresolved");
    expect((error as KasmGitopsError).message).toMatch(message);
    expect(JSON.stringify((error as KasmGitopsError).context)).not.toContain("s3cr3t");
  });

  it.each<[string, ValueOrRef, RegExp]>([
    ["a variable neither prefixed nor listed", { env: "HOME_TOKEN" }, /--secret-env HOME_TOKEN/],
    ["a file outside the secret folders", { file: join(outside, "host-file") }, /outside the secret folders/],
    [
      "a link in a secret folder to a file outside",
      { file: join(dir, "link-out") },
      /it resolves to .*host-file/,
    ],
    ["a path that climbs out of a secret folder", { file: `${dir}/../x` }, /outside the secret folders/],
  ])("refuses %s with secret-not-allowed, before reading it", async (_, value, message) => {
    const error = (await resolveSecret(value, env, policy).catch((e: unknown) => e)) as KasmGitopsError;
    expect(error.code).toBe("secret-not-allowed");
    expect(error.message).toMatch(message);
    expect(`${error.message}${JSON.stringify(error.context)}`).not.toContain("s3cr3t");
  });
});

describe("resolveCredentials", () => {
  it.each([
    ["no auth", undefined, undefined],
    [
      "literal user, env password",
      { username: "ci-bot", password: { env: "TOKEN" } },
      { username: "ci-bot", password: "s3cr3t-env" },
    ],
    [
      "file user, file password",
      { username: { file: file("user", "robot\n") }, password: { file: file("pw", "pw-from-file\n") } },
      { username: "robot", password: "pw-from-file" },
    ],
  ] as const)("%s", async (_, auth, expected) => {
    expect(await resolveCredentials(auth, env, policy)).toEqual(expected);
  });

  it("names the missing reference and not the other value", async () => {
    const error = (await resolveCredentials(
      { username: "ci-bot", password: { env: "NOT_SET_ANYWHERE" } },
      env,
      policy,
    ).catch((e: unknown) => e)) as KasmGitopsError;
    expect(error.code).toBe("secret-unresolved");
    expect(error.message).toContain("NOT_SET_ANYWHERE");
  });
});
