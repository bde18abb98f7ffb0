import { describe, expect, it } from "vitest";
import { secretPolicy, secretRefRefusal } from "./secret-policy.js";
import type { SecretRef } from "./types.js";
import { checkManifestFiles } from "./validate.js";

describe("secretPolicy", () => {
  it.each([
    ["defaults", {}, {}, ["/run/secrets"]],
    [
      "systemd credentials",
      {},
      { CREDENTIALS_DIRECTORY: "/run/credentials/kg.service" },
      ["/run/secrets", "/run/credentials/kg.service"],
    ],
    [
      "flags replace the defaults",
      { dirs: ["/etc/kg/secrets/"] },
      { CREDENTIALS_DIRECTORY: "/c" },
      ["/etc/kg/secrets"],
    ],
  ])("%s", (_, flags, env, dirs) => {
    expect(secretPolicy(flags, env).dirs).toEqual(dirs);
  });
});

describe("secretRefRefusal", () => {
  const policy = secretPolicy({ dirs: ["/run/secrets", "/srv/kg"], envNames: ["CORP_TOKEN"] }, {});
  it.each<[SecretRef, string | undefined, RegExp | undefined]>([
    [{ env: "KASM_SECRET_CORP" }, undefined, undefined],
    [{ env: "CORP_TOKEN" }, undefined, undefined],
    [
      { env: "AWS_SECRET_ACCESS_KEY" },
      undefined,
      /--secret-env AWS_SECRET_ACCESS_KEY .*KASM_SECRET_AWS_SECRET_ACCESS_KEY/,
    ],
    [{ env: "KASM_SECRETX" }, undefined, /not a secret variable/],
    [{ file: "/run/secrets/corp" }, undefined, undefined],
    [{ file: "/srv/kg/a/b" }, undefined, undefined],
    [{ file: "/run/secrets-other/x" }, undefined, /outside the secret folders \(\/run\/secrets, \/srv\/kg\)/],
    [{ file: "/run/secrets/../../etc/passwd" }, undefined, /--secret-dir \/etc /],
    [
      { file: "/etc/passwd" },
      undefined,
      /move the file into one, or allow its folder with --secret-dir \/etc/,
    ],
    [{ file: "/run/secrets/link" }, "/etc/shadow", /it resolves to \/etc\/shadow/],
  ])("%j (resolved: %s)", (ref, resolved, refusal) => {
    const result = secretRefRefusal(ref, policy, resolved);
    if (refusal) expect(result).toMatch(refusal);
    else expect(result).toBeUndefined();
  });
});

describe("checkSecretRefs through validation", () => {
  const kasm = (apiKey: string) => `apiVersion: kasm-gitops/v1
kind: KasmServer
metadata: {name: kasm}
spec:
  url: https://kasm.example.com
  apiKey: ${apiKey}
  apiKeySecret: {file: /run/secrets/kasm-secret}
`;
  const policy = secretPolicy({}, {});
  it.each<[string, string, "error" | "warning", string[]]>([
    ["an allowed KasmServer key", "{env: KASM_SECRET_KEY}", "warning", []],
    [
      "a KasmServer key from any variable, for validate",
      "{env: HOME}",
      "warning",
      ["warning 6:11 secret-not-allowed"],
    ],
    [
      "a KasmServer key from a host file, for plan",
      "{file: /etc/shadow}",
      "error",
      ["error 6:11 secret-not-allowed"],
    ],
  ])("%s", (_, apiKey, severity, expected) => {
    const { problems } = checkManifestFiles([{ file: "kasm.yaml", text: kasm(apiKey) }], {
      secrets: { policy, severity },
    });
    expect(problems.map((p) => `${p.severity} ${p.line}:${p.col} ${p.code}`)).toEqual(expected);
  });
});
