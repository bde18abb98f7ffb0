/**
 * examples/imported/ is exactly what `import` writes for the small deployment below, so the example can
 * never drift from the code. After a deliberate change to the output, rewrite it with
 * `UPDATE_EXAMPLES=1 npx vitest run test/examples-import.test.ts` and review the diff.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildImport, type ImportInput } from "../src/core/import/manifests.js";
import { record } from "./helpers/import-records.js";

const DIR = fileURLToPath(new URL("../examples/imported/", import.meta.url));

/** Kasm stores a registry as the administrator typed it: a URL here, Docker Hub as Kasm's defaults do. */
const corp = {
  dockerRegistry: "https://registry.example.com:5000",
  dockerUser: "ci-bot",
  dockerTokenSet: true,
};
const hub = { dockerRegistry: "https://index.docker.io/v1/" };

/** A small Kasm deployment as an administrator built it in the admin UI. */
const DEPLOYMENT: ImportInput = {
  url: "https://kasm.example.com",
  records: [
    record({
      imageId: "3f2a9c0e5b1d4e7f8a6b2c4d9e0f1a2b",
      name: "registry.example.com:5000/kasm/chrome:20261120",
      friendlyName: "Chrome",
      description: "Chrome browser",
      thumbnail: "img/thumbnails/chrome.png",
      categories: ["Browser"],
      ...corp,
    }),
    record({
      imageId: "7c1e4a2b9d3f4c5e8b0a1d2c3e4f5a6b",
      name: "registry.example.com:5000/kasm/chrome:20261127",
      friendlyName: "Chrome (testing)",
      description: "Chrome browser, next release",
      thumbnail: "img/thumbnails/chrome.png",
      categories: ["Browser"],
      hidden: true,
      ...corp,
    }),
    record({
      imageId: "b4d2e6f8a0c1e3a5b7d9f1a3c5e7a9b1",
      name: "registry.example.com:5000/kasm/firefox:128.5",
      friendlyName: "Firefox Éditeur",
      categories: ["Browser"],
      cores: 1.5,
      memory: 2 * 2 ** 30,
      runConfig: { hostname: "kasm", environment: { LANG: "fr_FR.UTF-8" } },
      ...corp,
    }),
    record({
      imageId: "c9e1a3b5d7f9a1c3e5b7d9f1a3c5e7b9",
      name: "kasmweb/terminal:1.16.0",
      friendlyName: "Terminal",
      categories: ["Development"],
      ...hub,
      volumeMappings: { "/srv/shared": { bind: "/home/kasm-user/shared", mode: "rw", uid: 1000, gid: 1000 } },
    }),
    record({
      imageId: "d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1",
      name: "registry.example.com:5000/kasm/vs-code:1.96",
      friendlyName: "VS Code",
      categories: ["Development"],
      cores: 4,
      memory: 4_000_000_000,
      enabled: false,
      ...corp,
    }),
    record({
      imageId: "e5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5",
      name: "kasmweb/edge",
      friendlyName: "Edge",
      categories: ["Browser"],
      ...hub,
    }),
  ],
  groups: [
    { groupId: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", name: "All Users" },
    { groupId: "1b2c3d4e5f60718293a4b5c6d7e8f90a", name: "Administrators" },
    { groupId: "2c3d4e5f60718293a4b5c6d7e8f90a1b", name: "qa" },
  ],
  memberships: [
    { groupId: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", imageId: "3f2a9c0e5b1d4e7f8a6b2c4d9e0f1a2b" },
    { groupId: "2c3d4e5f60718293a4b5c6d7e8f90a1b", imageId: "7c1e4a2b9d3f4c5e8b0a1d2c3e4f5a6b" },
    { groupId: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", imageId: "b4d2e6f8a0c1e3a5b7d9f1a3c5e7a9b1" },
    { groupId: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", imageId: "c9e1a3b5d7f9a1c3e5b7d9f1a3c5e7b9" },
    { groupId: "1b2c3d4e5f60718293a4b5c6d7e8f90a", imageId: "d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1" },
  ],
};

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe("examples/imported/", () => {
  it("is what import writes for the example deployment, file for file", async () => {
    const { files } = buildImport(DEPLOYMENT);
    if (process.env.UPDATE_EXAMPLES === "1") {
      for (const file of files) {
        await mkdir(dirname(join(DIR, file.path)), { recursive: true });
        await writeFile(join(DIR, file.path), file.text);
      }
    }
    expect(await filesUnder(DIR)).toEqual(files.map((f) => f.path).sort());
    for (const file of files) expect(await readFile(join(DIR, file.path), "utf8"), file.path).toBe(file.text);
  });
});
