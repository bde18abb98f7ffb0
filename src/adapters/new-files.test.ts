import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeNewFiles } from "./new-files.js";

const FILES = [
  { path: "README.md", text: "readme\n" },
  { path: "workspaces/chrome.yaml", text: "chrome\n" },
  { path: "workspaces/deep/x.yaml", text: "x\n" },
];

/** An output folder and a folder outside it, with `setup` laying links or files in the output. */
async function scene(setup: (out: string, outside: string) => Promise<void>) {
  const base = await mkdtemp(join(tmpdir(), "kg-new-files-"));
  const out = join(base, "out");
  const outside = join(base, "outside");
  await mkdir(out);
  await mkdir(outside);
  await writeFile(join(outside, "chrome.yaml"), "theirs\n");
  await setup(out, outside);
  return { out, outside };
}

describe("writeNewFiles", () => {
  it("writes every file, making the folders, and reports none as existing", async () => {
    const { out } = await scene(async () => {});
    expect(await writeNewFiles(out, FILES)).toEqual({ written: FILES.map((f) => f.path), existing: [] });
    expect(await readFile(join(out, "workspaces/deep/x.yaml"), "utf8")).toBe("x\n");
  });

  it("never replaces a file that is there, and leaves no temp file behind", async () => {
    const { out } = await scene(async (o) => {
      await mkdir(join(o, "workspaces"));
      await writeFile(join(o, "workspaces/chrome.yaml"), "mine\n");
    });
    expect(await writeNewFiles(out, FILES)).toEqual({
      written: ["README.md", "workspaces/deep/x.yaml"],
      existing: ["workspaces/chrome.yaml"],
    });
    expect(await readFile(join(out, "workspaces/chrome.yaml"), "utf8")).toBe("mine\n");
    expect((await readdir(join(out, "workspaces"))).sort()).toEqual(["chrome.yaml", "deep"]);
  });

  it.each<[string, (out: string, outside: string) => Promise<void>, string]>([
    [
      "a folder that is a link to outside",
      (o, x) => symlink(x, join(o, "workspaces")),
      "workspaces is a symbolic link (to OUTSIDE)",
    ],
    [
      "a file that is a link to outside",
      async (o, x) => {
        await mkdir(join(o, "workspaces"));
        await symlink(join(x, "chrome.yaml"), join(o, "workspaces/chrome.yaml"));
      },
      "workspaces/chrome.yaml is a symbolic link (to OUTSIDE/chrome.yaml)",
    ],
    [
      "a dangling link where a file goes",
      (o, x) => symlink(join(x, "new.md"), join(o, "README.md")),
      "README.md is a symbolic link (to OUTSIDE/new.md)",
    ],
    [
      "a deeper folder that is a link",
      async (o, x) => {
        await mkdir(join(o, "workspaces"));
        await symlink(x, join(o, "workspaces/deep"));
      },
      "workspaces/deep is a symbolic link (to OUTSIDE)",
    ],
    [
      "a file where a folder goes",
      (o) => writeFile(join(o, "workspaces"), "a file\n"),
      "workspaces is not a folder: import cannot write workspaces/chrome.yaml there",
    ],
  ])("refuses %s, naming it, and writes nothing anywhere", async (_, setup, message) => {
    const { out, outside } = await scene(setup);
    const before = await readdir(out, { recursive: true });
    const error = await writeNewFiles(out, FILES).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message.replaceAll(outside, "OUTSIDE")).toContain(`${out}/${message}`);
    expect(error?.message).toContain("import");
    expect(await readdir(out, { recursive: true })).toEqual(before);
    expect(await readdir(outside)).toEqual(["chrome.yaml"]);
    expect(await readFile(join(outside, "chrome.yaml"), "utf8")).toBe("theirs\n");
  });

  it("writes through the output folder itself when it is a link: the operator chose it", async () => {
    const { out, outside } = await scene(async () => {});
    const linked = join(out, "..", "linked-out");
    await symlink(outside, linked);
    expect((await writeNewFiles(linked, [FILES[0]!])).written).toEqual(["README.md"]);
    expect(await readFile(join(outside, "README.md"), "utf8")).toBe("readme\n");
  });
});
