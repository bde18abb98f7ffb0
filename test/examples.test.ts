import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readManifestDir } from "../src/adapters/manifest-files.js";
import { checkManifestFiles } from "../src/core/manifest/validate.js";
import { kasmGitops } from "./helpers/cli.js";

const EXAMPLES = fileURLToPath(new URL("../examples/", import.meta.url));

describe("examples/", () => {
  it("every manifest folder validates with exit 0 and no warning", async () => {
    const folders = (await readdir(EXAMPLES, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && e.name !== "deploy") // deploy/ holds compose and stack files
      .map((e) => e.name);
    expect(folders).toContain("manifests");
    for (const folder of folders) {
      const result = await kasmGitops(["validate", "--strict", folder], { cwd: EXAMPLES });
      expect(result, folder).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(/^\d+ files valid\n$/),
        stderr: "",
      });
    }
  });

  it("manifests/ is the small fleet the README walks through", async () => {
    const { set, problems } = checkManifestFiles(await readManifestDir(`${EXAMPLES}manifests`));
    expect(problems).toEqual([]);
    expect(set.registries.map((r) => r.spec.auth?.password)).toEqual([
      { env: "KASM_SECRET_CORP_REGISTRY_TOKEN" },
    ]);
    expect(set.agents.map((a) => a.metadata.labels?.ring).sort()).toEqual([
      "production",
      "production",
      "testing",
    ]);
    expect(set.workspaces.length).toBeGreaterThanOrEqual(4);
    const chrome = set.workspaces.find((w) => w.spec.promotion);
    expect(chrome?.spec.promotion).toEqual({ from: "chrome-testing", movingTags: ["latest"] });
    expect(set.workspaces.filter((w) => w.spec.registry === undefined)).toHaveLength(1);
    for (const w of set.workspaces) expect(w.spec.image.startsWith("registry.example.com:5000/")).toBe(true);
    expect(set.settings?.metadata.name).toBe("default");
  });

  it("the README names every example workspace", async () => {
    const readme = await readFile(`${EXAMPLES}README.md`, "utf8");
    const { set } = checkManifestFiles(await readManifestDir(`${EXAMPLES}manifests`));
    for (const w of set.workspaces) expect(readme).toContain(w.metadata.name);
  });
});
