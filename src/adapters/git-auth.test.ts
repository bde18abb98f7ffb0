import { describe, expect, it } from "vitest";
import { authorizationHeader, fetchUrl, gitEnvironment, redact, repoKind, sshCommand } from "./git-auth.js";

describe("repoKind", () => {
  it.each([
    ["https://github.com/org/repo.git", "http"],
    ["http://127.0.0.1:8080/repo.git", "http"],
    ["ssh://git@github.com/org/repo.git", "ssh"],
    ["git@github.com:org/repo.git", "ssh"],
    ["file:///srv/git/repo.git", "file"],
    ["/srv/git/repo.git", "local"],
    ["./manifests-repo", "local"],
    ["repo", "local"],
    ["dir/with:colon", "local"],
  ] as const)("%s is %s", (repo, kind) => {
    expect(repoKind(repo)).toBe(kind);
  });

  it.each([
    ["repo", "/base", "/base/repo"],
    ["../x.git", "/base/dir", "/base/x.git"],
    ["/abs/x.git", "/base", "/abs/x.git"],
    ["https://h/x.git", "/base", "https://h/x.git"],
  ])("fetchUrl(%s) from %s is %s", (repo, cwd, url) => {
    expect(fetchUrl(repo, cwd)).toBe(url);
  });
});

describe("redact", () => {
  it.each([
    ["fetch https://user:pass@host/r.git failed", [], "fetch https://host/r.git failed"],
    ["https://tok-only@host/r.git", [], "https://host/r.git"],
    ["no url here", [], "no url here"],
    ["ssh://git@host/r.git and git@host:r.git", [], "ssh://git@host/r.git and git@host:r.git"],
    ["ssh://git:pw@host/r.git", [], "ssh://host/r.git"],
    ["header abcd1234 echoed twice abcd1234", ["abcd1234"], "header *** echoed twice ***"],
    ["short secrets are not masked: ab", ["ab"], "short secrets are not masked: ab"],
  ] as [string, string[], string][])("%s", (input, secrets, output) => {
    expect(redact(input, secrets)).toBe(output);
  });
});

describe("sshCommand", () => {
  it.each([
    [{}, "ssh -o StrictHostKeyChecking=accept-new -o BatchMode=yes"],
    [
      { sshKeyFile: "/keys/deploy_key" },
      "ssh -i /keys/deploy_key -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o BatchMode=yes",
    ],
    [
      { sshKeyFile: "/my keys/it's", knownHostsFile: "/etc/kh" },
      "ssh -i '/my keys/it'\\''s' -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o BatchMode=yes -o UserKnownHostsFile=/etc/kh",
    ],
  ])("%j", (options, command) => {
    expect(sshCommand(options)).toBe(command);
  });
});

describe("gitEnvironment", () => {
  const base = {
    PATH: "/bin",
    GIT_DIR: "/hook/.git",
    GIT_SSL_CAINFO: "/ca.pem",
    EDITOR: "vi",
    TOKEN: "s3cr3t-token",
  };

  it.each([
    // A variable not named as the token is passed through like any other.
    ["https://h.example/r.git", {}, { TOKEN: "s3cr3t-token" }],
    [
      "https://h.example/r.git",
      { tokenEnv: "TOKEN" },
      {
        GIT_CONFIG_COUNT: "1",
        GIT_CONFIG_KEY_0: "http.https://h.example/.extraHeader",
        GIT_CONFIG_VALUE_0: `Authorization: ${authorizationHeader("s3cr3t-token")}`,
      },
    ],
    [
      "https://u@h.example:8443/r.git",
      { tokenEnv: "TOKEN", tokenScheme: "bearer" },
      {
        GIT_CONFIG_COUNT: "1",
        GIT_CONFIG_KEY_0: "http.https://h.example:8443/.extraHeader",
        GIT_CONFIG_VALUE_0: "Authorization: Bearer s3cr3t-token",
      },
    ],
    [
      "git@h.example:r.git",
      { sshKeyFile: "/k" },
      { GIT_SSH_COMMAND: sshCommand({ sshKeyFile: "/k" }), TOKEN: "s3cr3t-token" },
    ],
    ["/srv/r.git", { tokenEnv: "TOKEN" }, {}],
  ] as const)("%s with %j", (repo, options, extra) => {
    const { env, secrets } = gitEnvironment(repo, options, base);
    expect(env).toEqual({ PATH: "/bin", GIT_SSL_CAINFO: "/ca.pem", GIT_TERMINAL_PROMPT: "0", ...extra });
    expect(secrets.length > 0).toBe("GIT_CONFIG_COUNT" in extra);
  });

  it("reads the default token variable, and refuses a named variable that is unset", () => {
    const { env } = gitEnvironment("https://h/r.git", {}, { KASM_GITOPS_GIT_TOKEN: "abc123" });
    expect(env.GIT_CONFIG_VALUE_0).toBe(`Authorization: ${authorizationHeader("abc123")}`);
    expect(authorizationHeader("abc123")).toBe(
      `Basic ${Buffer.from("x-access-token:abc123").toString("base64")}`,
    );
    expect(() => gitEnvironment("https://h/r.git", { tokenEnv: "MISSING" }, {})).toThrow(/MISSING/);
  });
});
