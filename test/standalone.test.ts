import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, rm, symlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GIT_ENV, git, tempDir } from "./helpers/git-repos.js";

const run = promisify(execFile);
const PROJECT = fileURLToPath(new URL("..", import.meta.url));

/** Env for the nested vitest: without the outer run's VITEST_* markers, which would make it act as a worker. */
const CHILD_ENV = Object.fromEntries(Object.entries(GIT_ENV).filter(([key]) => !key.startsWith("VITEST")));

/**
 * A new user's view: the committed HEAD cloned into a folder with nothing beside it. Only committed files
 * are there, so a test or comment that reaches outside the repository shows up here.
 */
describe("the repository stands alone", () => {
  let root: string;
  let clone: string;

  beforeAll(async () => {
    root = await tempDir("standalone");
    clone = join(root, "kasm-gitops");
    const head = await git(PROJECT, "rev-parse", "HEAD");
    await git(root, "clone", "--quiet", "--no-checkout", PROJECT, clone);
    await git(clone, "checkout", "--quiet", "--detach", head.trim());
    // The dependencies `npm ci` would install are the ones this checkout already has: same lock file.
    await symlink(join(PROJECT, "node_modules"), join(clone, "node_modules"), "dir");
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("is cloned into a folder of its own", async () => {
    expect(await readdir(root)).toEqual(["kasm-gitops"]);
  });

  it("names no file outside itself in any committed file", async () => {
    const hits = await run("git", ["grep", "-n", "-I", "-E", "DESIGN\\.md|\\.\\./shared"], {
      cwd: clone,
      env: CHILD_ENV,
    }).then(
      (r) => r.stdout,
      (error: { code?: number; stdout?: string }) => (error.code === 1 ? "" : String(error.stdout ?? error)),
    );
    expect(hits).toBe("");
  });

  it("links, in every Markdown file, only to files inside it", async () => {
    const files = (await git(clone, "ls-files", "*.md")).split("\n").filter(Boolean);
    expect(files).toContain("README.md");
    const broken: string[] = [];
    for (const file of files) {
      // Code (fenced blocks and inline spans, e.g. regular expressions) holds no links.
      const text = (await readFile(join(clone, file), "utf8"))
        .replace(/^```[\s\S]*?^```/gm, "")
        .replace(/`[^`\n]*`/g, "");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target!)) continue;
        const path = resolve(dirname(join(clone, file)), target!.replace(/#.*$/, ""));
        if (!path.startsWith(`${clone}/`) || !existsSync(path)) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("passes its unit tests from the clone", async () => {
    const result = await run("npx", ["vitest", "run", "--project", "unit", "--reporter", "dot"], {
      cwd: clone,
      env: { ...CHILD_ENV, NO_COLOR: "1", FORCE_COLOR: "0" },
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? -1,
        out: `${error.stdout ?? ""}${error.stderr ?? ""}`,
      }),
    );
    expect(result.out).not.toMatch(/\bfailed\b/i);
    expect(result.code, result.out.slice(-4000)).toBe(0);
    const passed = /Tests\s+(\d+) passed/.exec(result.out);
    expect(Number(passed?.[1] ?? 0), result.out.slice(-2000)).toBeGreaterThan(500);
  });
});
