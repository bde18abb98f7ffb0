import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createKasmWrittenFile, fingerprintKeyPath } from "./kasm-written-file.js";

const CREDENTIALS = { username: "ci-bot", password: "hunter2-registry" };
const dirs: string[] = [];
const stateDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), "kasm-written-"));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe("credential fingerprints in the state dir", () => {
  it("are keyed with a random owner-only key made once: never the bare hash a guessed password reproduces", async () => {
    const dir = await stateDir();
    const fp = await createKasmWrittenFile(dir).fingerprinter();
    const value = fp("registry.example.com", CREDENTIALS);
    const bare = createHash("sha256")
      .update(JSON.stringify(["registry.example.com", CREDENTIALS.username, CREDENTIALS.password]))
      .digest("hex");
    expect(value).toMatch(/^[0-9a-f]{64}$/);
    expect(value).not.toBe(bare);
    expect((await stat(fingerprintKeyPath(dir))).mode & 0o777).toBe(0o600);
    // Another process on the same state dir fingerprints alike; another state dir does not.
    expect((await createKasmWrittenFile(dir).fingerprinter())("registry.example.com", CREDENTIALS)).toBe(
      value,
    );
    const other = await createKasmWrittenFile(await stateDir()).fingerprinter();
    expect(other("registry.example.com", CREDENTIALS)).not.toBe(value);
  });

  it.each([
    ["a rotated password", { ...CREDENTIALS, password: "rotated" }, "registry.example.com"],
    ["another user", { ...CREDENTIALS, username: "other" }, "registry.example.com"],
    ["another host", CREDENTIALS, "mirror.example.com"],
  ])("tell %s apart", async (_name, credentials, host) => {
    const fp = await createKasmWrittenFile(await stateDir()).fingerprinter();
    expect(fp(host, credentials)).not.toBe(fp("registry.example.com", CREDENTIALS));
  });

  it("a damaged key file is replaced with a new key", async () => {
    const dir = await stateDir();
    await writeFile(fingerprintKeyPath(dir), "not hex\n");
    await createKasmWrittenFile(dir).fingerprinter();
    expect((await readFile(fingerprintKeyPath(dir), "utf8")).trim()).toMatch(/^[0-9a-f]{64}$/);
  });
});
