/**
 * `kasm-gitops import`: what it accepts and refuses before it writes, the built CLI against the Kasm API
 * stand-in seeded with the deployment: the output folder (--force, links out of it), the key pair (wrong,
 * missing, from files, old names), and the connection (unreachable, a private CA, plain http off loopback).
 */
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KasmStandIn } from "../src/lab/kasm-stand-in.js";
import { kasmGitops } from "./helpers/cli.js";
import { tempDir } from "./helpers/git-repos.js";
import { type Deployment, filesUnder, noKeys, startDeployment } from "./helpers/import-cli.js";
import { DEPLOYMENT } from "./helpers/kasm-deployment.js";
import { startTlsFront } from "./helpers/tls-front.js";

let deployment: Deployment;
let kasm: KasmStandIn;
const keys = () => deployment.keys();
const runImport: Deployment["runImport"] = (...args) => deployment.runImport(...args);
const secrets = () => deployment.secrets();

beforeAll(async () => {
  deployment = await startDeployment();
  kasm = deployment.kasm;
});
afterAll(async () => {
  await deployment?.close();
});

describe("kasm-gitops import", () => {
  it("refuses a non-empty folder without --force, reading nothing from Kasm", async () => {
    const dir = await tempDir("import-full");
    await writeFile(join(dir, "notes.txt"), "mine\n");
    kasm.clearCalls();
    const result = await runImport(dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `kasm-gitops: usage error: ${dir} is not empty (notes.txt): import writes into an empty folder; pass --force to add only the files that do not exist yet (it never overwrites one)\n`,
    );
    expect(await readdir(dir)).toEqual(["notes.txt"]);
    expect(kasm.calls()).toEqual([]);
  });

  it("with --force writes only the files that do not exist, and reports the conflict", async () => {
    const dir = await tempDir("import-force");
    await mkdir(join(dir, "workspaces"));
    await writeFile(join(dir, "workspaces", "chrome.yaml"), "# my own chrome\n");
    const result = await runImport(dir, ["--force"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `kasm-gitops: conflict: ${dir}/workspaces/chrome.yaml already exists and was left as it is\n`,
    );
    expect(await readFile(join(dir, "workspaces", "chrome.yaml"), "utf8")).toBe("# my own chrome\n");
    expect(Object.keys(await filesUnder(dir))).toHaveLength(DEPLOYMENT.records + 6);
    expect(result.stdout).toContain(`wrote ${dir}/workspaces/chrome-2.yaml\n`);
  });

  it.each<[string, (out: string, outside: string) => Promise<void>, string]>([
    ["a sub-folder", (o, x) => symlink(x, join(o, "workspaces")), "workspaces"],
    [
      "a file",
      async (o, x) => {
        await mkdir(join(o, "workspaces"));
        await symlink(join(x, "chrome.yaml"), join(o, "workspaces", "chrome.yaml"));
      },
      "workspaces/chrome.yaml",
    ],
  ])(
    "--force never writes through %s linked to outside --out: refused by name, nothing written anywhere",
    async (_, link, linked) => {
      const base = await tempDir("import-link");
      const [dir, outside] = [join(base, "out"), join(base, "outside")];
      await mkdir(dir);
      await mkdir(outside);
      await writeFile(join(outside, "chrome.yaml"), "# not import's\n");
      await link(dir, outside);
      const before = await readdir(dir, { recursive: true });
      const result = await runImport(dir, ["--force"]);
      expect(result.code).toBe(1);
      const target = linked === "workspaces" ? outside : join(outside, "chrome.yaml");
      expect(result.stderr).toBe(
        `kasm-gitops: usage error: ${dir}/${linked} is a symbolic link (to ${target}): import never writes through a link, which could lead outside the output folder; remove the link or choose another --out\n`,
      );
      expect(result.stdout).toBe("");
      expect(await readdir(dir, { recursive: true })).toEqual(before);
      expect(await readdir(outside)).toEqual(["chrome.yaml"]);
      expect(await readFile(join(outside, "chrome.yaml"), "utf8")).toBe("# not import's\n");
    },
  );

  it.each([
    [
      "a wrong secret",
      () => ({ ...keys(), KASM_SECRET_KASM_API_KEY_SECRET: "0".repeat(32) }),
      /Kasm at http:\/\/127\.0\.0\.1:\d+ refused the API key \(HTTP 403\): the key or its secret is wrong; import used the key from KASM_SECRET_KASM_API_KEY and its secret from KASM_SECRET_KASM_API_KEY_SECRET/,
    ],
    [
      "no key at all",
      () => ({ ...noKeys }),
      /usage error: KASM_SECRET_KASM_API_KEY is not set: import reads the Kasm API key pair from KASM_SECRET_KASM_API_KEY and KASM_SECRET_KASM_API_KEY_SECRET, the variables the KasmServer it writes names/,
    ],
    [
      "a key without its secret",
      () => ({ ...noKeys, KASM_SECRET_KASM_API_KEY: kasm.apiKey }),
      /usage error: KASM_SECRET_KASM_API_KEY_SECRET is not set: import reads .* from KASM_SECRET_KASM_API_KEY and KASM_SECRET_KASM_API_KEY_SECRET/,
    ],
  ])("%s: a clear error and nothing written", async (_, env, message) => {
    const dir = join(await tempDir("import-bad"), "out");
    const result = await runImport(dir, [], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe("");
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
    for (const secret of secrets()) expect(result.stderr).not.toContain(secret);
  });

  it("reads the key pair from files and named variables", async () => {
    const dir = await tempDir("import-keyfile");
    await writeFile(join(dir, "key"), `${kasm.apiKey}\n`);
    const result = await kasmGitops(
      [
        "import",
        "--kasm-url",
        kasm.url,
        "--out",
        join(dir, "out"),
        "--kasm-api-key-file",
        join(dir, "key"),
        "--kasm-api-key-secret-env",
        "MY_SECRET",
      ],
      { env: { ...noKeys, MY_SECRET: kasm.apiKeySecret } },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("still reads the old variable names, with a warning naming the new ones", async () => {
    const dir = join(await tempDir("import-old-names"), "out");
    const result = await runImport(dir, [], {
      ...noKeys,
      KASM_GITOPS_KASM_API_KEY: kasm.apiKey,
      KASM_GITOPS_KASM_API_KEY_SECRET: kasm.apiKeySecret,
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      [
        "kasm-gitops: warning: KASM_GITOPS_KASM_API_KEY is an old name: set KASM_SECRET_KASM_API_KEY instead (the variable the imported KasmServer reads, so one setting serves import and the sync)",
        "kasm-gitops: warning: KASM_GITOPS_KASM_API_KEY_SECRET is an old name: set KASM_SECRET_KASM_API_KEY_SECRET instead (the variable the imported KasmServer reads, so one setting serves import and the sync)",
        "",
      ].join("\n"),
    );
    expect(await readFile(join(dir, "kasm-server.yaml"), "utf8")).toContain(
      "apiKey: { env: KASM_SECRET_KASM_API_KEY }",
    );
  });

  it("an unreachable Kasm: a clear error naming it, nothing written", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port: free } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const dir = join(await tempDir("import-down"), "out");
    const result = await kasmGitops(["import", "--kasm-url", `http://127.0.0.1:${free}`, "--out", dir], {
      env: keys(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`kasm-gitops: error: .*http://127\\.0\\.0\\.1:${free}`));
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });

  it("an https Kasm signed by a private CA: trusted with --kasm-ca-file, named in the KasmServer; refused without", async () => {
    const dir = await tempDir("import-tls");
    const front = await startTlsFront(kasm.url, dir);
    try {
      const untrusted = await kasmGitops(["import", "--kasm-url", front.url, "--out", join(dir, "no")], {
        env: keys(),
      });
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toMatch(
        /Kasm at https:\/\/127\.0\.0\.1:\d+: its TLS certificate is not trusted \(.+\): pass --kasm-ca-file/,
      );
      await expect(readdir(join(dir, "no"))).rejects.toThrow(/ENOENT/);

      const trusted = await kasmGitops(
        ["import", "--kasm-url", front.url, "--out", join(dir, "out"), "--kasm-ca-file", front.ca],
        { env: keys() },
      );
      expect(trusted.stderr).toBe("");
      expect(trusted.code).toBe(0);
      const server = await readFile(join(dir, "out", "kasm-server.yaml"), "utf8");
      expect(server).toContain(`  url: ${front.url}\n`);
      expect(server).toContain(`  tls:\n    ca: { file: ${front.ca} }\n`);
    } finally {
      await front.close();
    }
  });

  it("refuses plain http to a host that is not loopback, before sending the key", async () => {
    const result = await kasmGitops(["import", "--kasm-url", "http://kasm.example.com", "--out", "x"], {
      env: keys(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "is plain http to kasm.example.com: the API key would cross the network in clear",
    );
  });
});
