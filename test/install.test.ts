import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VERSION } from "../src/cli/run-cli.js";
import { tempDir } from "./helpers/git-repos.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The README's install path: `npm pack` makes the tarball `npm install -g` would install. Installing it
 * needs the registry for the dependencies, so the test unpacks it into a global-style prefix as npm does
 * (package under lib/node_modules, a bin symlink), with this checkout's dependencies (same lock file).
 */
describe("the packed package", () => {
  let prefix: string;
  let tarball: string;

  beforeAll(async () => {
    prefix = await tempDir("install");
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", prefix], { cwd: ROOT });
    tarball = join(prefix, (JSON.parse(stdout) as [{ filename: string }])[0].filename);
    const pkgDir = join(prefix, "lib", "node_modules", "kasm-gitops");
    await mkdir(pkgDir, { recursive: true });
    await run("tar", ["-xzf", tarball, "-C", pkgDir, "--strip-components=1"]);
    await symlink(join(ROOT, "node_modules"), join(pkgDir, "node_modules"), "dir");
    const pkg = JSON.parse(await readFile(join(pkgDir, "package.json"), "utf8")) as {
      bin: Record<string, string>;
    };
    await mkdir(join(prefix, "bin"));
    const target = join(pkgDir, pkg.bin["kasm-gitops"]!);
    await chmod(target, 0o755);
    await symlink(target, join(prefix, "bin", "kasm-gitops"));
  });
  afterAll(async () => {
    if (prefix) await rm(prefix, { recursive: true, force: true });
  });

  it("holds the built command named by package.json's bin", async () => {
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json"], { cwd: ROOT });
    const files = (JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
    expect(files).toContain("dist/cli/main.js");
    expect(files).toContain("schemas/manifest.schema.json");
    expect(files.filter((f) => f.startsWith("src/") || f.startsWith("test/"))).toEqual([]);
    // The lab, the benchmarks and the docs generator are development tools a checkout runs, not a user.
    expect(files.filter((f) => /^dist\/(lab|bench|docs)\//.test(f))).toEqual([]);
  });

  it("runs from the bin link on PATH, as `npm install -g` leaves it", async () => {
    const { stdout } = await run("kasm-gitops", ["--version"], {
      env: { ...process.env, PATH: `${join(prefix, "bin")}:${process.env.PATH}` },
    });
    expect(stdout).toBe(`${VERSION}\n`);
  });

  it("validates the examples it ships", async () => {
    const examples = join(prefix, "lib", "node_modules", "kasm-gitops", "examples", "manifests");
    const { stdout } = await run(join(prefix, "bin", "kasm-gitops"), ["validate", examples]);
    expect(stdout).toMatch(/files? valid/);
  });
});
