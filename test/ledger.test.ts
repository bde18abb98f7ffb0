import { appendFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lastGoodPath, readLastGood, writeLastGood } from "../src/adapters/last-good.js";
import { createFileLedger, ledgerPath } from "../src/adapters/ledger-file.js";
import type { LedgerEntry } from "../src/ports.js";
import { tempDir } from "./helpers/git-repos.js";

const entry = (n: number): LedgerEntry => ({
  time: new Date(Date.UTC(2026, 10, 27, 12, 0, n)).toISOString(),
  agent: `agent-${n % 3}`,
  image: `registry.example:5000/kasm/chrome:${n}`,
  digest: `sha256:${n.toString(16).padStart(64, "0")}`,
  revision: "a".repeat(40),
  workspaces: [`ws-${n}`],
});

describe("file ledger", () => {
  it("is empty before the first pull, and creates its state dir on the first append", async () => {
    const stateDir = join(await tempDir("ledger"), "nested", "state");
    const ledger = createFileLedger(stateDir);
    expect(await ledger.entries()).toEqual([]);
    await ledger.append(entry(1));
    expect(await ledger.entries()).toEqual([entry(1)]);
    expect(await readFile(ledgerPath(stateDir), "utf8")).toBe(`${JSON.stringify(entry(1))}\n`);
  });

  it("keeps every entry when many appends run at once, and across instances", async () => {
    const stateDir = await tempDir("ledger");
    const ledger = createFileLedger(stateDir);
    await Promise.all(Array.from({ length: 40 }, (_, n) => ledger.append(entry(n))));
    const again = await createFileLedger(stateDir).entries();
    expect(again).toHaveLength(40);
    expect(new Set(again.map((e) => e.digest)).size).toBe(40);
  });

  it("skips a torn last line, and a later append still lands on its own line", async () => {
    const stateDir = await tempDir("ledger");
    const skipped: [number, string][] = [];
    const ledger = createFileLedger(stateDir, { onSkippedLine: (line, why) => skipped.push([line, why]) });
    await ledger.append(entry(1));
    await ledger.append(entry(2));
    await appendFile(ledgerPath(stateDir), JSON.stringify(entry(3)).slice(0, 37));
    expect(await ledger.entries()).toEqual([entry(1), entry(2)]);
    expect(skipped).toEqual([[3, "not JSON (a torn write?)"]]);

    await ledger.append(entry(4));
    expect(await ledger.entries()).toEqual([entry(1), entry(2), entry(4)]);
  });

  it.each([
    ["an array", "[1,2]", "not an object"],
    [
      "a missing digest",
      JSON.stringify({ ...entry(1), digest: undefined }),
      '"digest" is missing or not a string',
    ],
    [
      "bad workspaces",
      JSON.stringify({ ...entry(1), workspaces: [1] }),
      '"workspaces" is not a list of names',
    ],
  ])("skips a line with %s and says why", async (_, line, reason) => {
    const stateDir = await tempDir("ledger");
    await writeFile(ledgerPath(stateDir), `${line}\n${JSON.stringify(entry(5))}\n`);
    const skipped: string[] = [];
    const entries = await createFileLedger(stateDir, {
      onSkippedLine: (_n, why) => skipped.push(why),
    }).entries();
    expect(entries).toEqual([entry(5)]);
    expect(skipped).toEqual([reason]);
  });

  it("reads an entry written without workspaces as having none", async () => {
    const stateDir = await tempDir("ledger");
    const { workspaces: _, ...bare } = entry(6);
    await writeFile(ledgerPath(stateDir), `${JSON.stringify(bare)}\n`);
    expect(await createFileLedger(stateDir).entries()).toEqual([{ ...bare, workspaces: [] }]);
  });
});

describe("last good revision", () => {
  const good = {
    revision: "b".repeat(40),
    branch: "main",
    time: "2026-11-27T12:00:00.000Z",
    files: [{ file: "fleet.yaml", text: "apiVersion: kasm-gitops/v1\n" }],
  };

  it("is undefined until written, then reads back what was written last", async () => {
    const stateDir = await tempDir("lastgood");
    expect(await readLastGood(stateDir)).toBeUndefined();
    await writeLastGood(stateDir, good);
    expect(await readLastGood(stateDir)).toEqual(good);
    const next = { ...good, revision: "c".repeat(40) };
    await writeLastGood(stateDir, next);
    expect(await readLastGood(stateDir)).toEqual(next);
    expect(await readdir(stateDir)).toEqual(["last-good.json"]);
  });

  it.each([
    ["half a file", '{"revision": "bbbb'],
    ["another shape", JSON.stringify({ revision: "HEAD", branch: "main", time: "now" })],
    ["null", "null"],
    ["a record without its files", JSON.stringify({ revision: "b".repeat(40), branch: "main", time: "now" })],
  ])("is undefined for %s", async (_, content) => {
    const stateDir = await tempDir("lastgood");
    await writeFile(lastGoodPath(stateDir), content);
    expect(await readLastGood(stateDir)).toBeUndefined();
  });

  it("leaves no temp file behind when the rename fails", async () => {
    const stateDir = await tempDir("lastgood");
    // A non-empty folder where the file should go makes the rename fail after the temp file was written.
    await mkdir(join(lastGoodPath(stateDir), "blocker"), { recursive: true });
    await expect(writeLastGood(stateDir, good)).rejects.toThrow();
    expect(await readdir(stateDir)).toEqual(["last-good.json"]);
  });
});
