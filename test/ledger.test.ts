import { readFileSync } from "node:fs";
import { appendFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeFileAtomic } from "../src/adapters/atomic-file.js";
import { lastGoodPath, readLastGood, writeLastGood } from "../src/adapters/last-good.js";
import { createFileLedger, ledgerPath } from "../src/adapters/ledger-file.js";
import type { StateWarning } from "../src/adapters/state-file.js";
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

const NOW = new Date(Date.UTC(2026, 10, 30, 14, 5, 6, 789));
const STAMP = "2026-11-30T14-05-06.789Z";
/** Options that collect warnings and stamp moved-aside files with a fixed time. */
const collecting = () => {
  const warnings: StateWarning[] = [];
  return { warnings, options: { onWarning: (w: StateWarning) => warnings.push(w), now: () => NOW } };
};

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

  it("writes appends that arrive together in their order, each resolving only once its line is in the file", async () => {
    const stateDir = await tempDir("ledger");
    const ledger = createFileLedger(stateDir);
    const seen: boolean[] = [];
    await Promise.all(
      Array.from({ length: 30 }, (_, n) =>
        ledger.append(entry(n)).then(() => {
          seen[n] = readFileSync(ledgerPath(stateDir), "utf8").includes(JSON.stringify(entry(n)));
        }),
      ),
    );
    expect(seen).toEqual(Array.from({ length: 30 }, () => true));
    expect(await ledger.entries()).toEqual(Array.from({ length: 30 }, (_, n) => entry(n)));
  });

  it("moves a ledger with a torn line aside once, keeps its good entries, and a later append lands on its own line", async () => {
    const stateDir = await tempDir("ledger");
    const { warnings, options } = collecting();
    const ledger = createFileLedger(stateDir, options);
    await ledger.append(entry(1));
    await ledger.append(entry(2));
    await appendFile(ledgerPath(stateDir), JSON.stringify(entry(3)).slice(0, 37));
    const torn = await readFile(ledgerPath(stateDir), "utf8");
    expect(await ledger.entries()).toEqual([entry(1), entry(2)]);
    expect(warnings).toEqual([
      {
        file: ledgerPath(stateDir),
        movedTo: `${ledgerPath(stateDir)}.corrupt-${STAMP}`,
        message: `state file ${ledgerPath(stateDir)} has 1 unreadable line(s) (line 3: not JSON (a torn write?)): moved aside as ledger.jsonl.corrupt-${STAMP}; the 2 readable entries are kept in ledger.jsonl`,
      },
    ]);
    expect(await readFile(`${ledgerPath(stateDir)}.corrupt-${STAMP}`, "utf8")).toBe(torn);
    // Repaired: read again without a word.
    expect(await ledger.entries()).toEqual([entry(1), entry(2)]);
    expect(warnings).toHaveLength(1);
    await ledger.append(entry(4));
    expect(await createFileLedger(stateDir).entries()).toEqual([entry(1), entry(2), entry(4)]);
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
  ])("moves aside a ledger with a line with %s and says why", async (_, line, reason) => {
    const stateDir = await tempDir("ledger");
    await writeFile(ledgerPath(stateDir), `${line}\n${JSON.stringify(entry(5))}\n`);
    const { warnings, options } = collecting();
    const entries = await createFileLedger(stateDir, options).entries();
    expect(entries).toEqual([entry(5)]);
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining(`(line 1: ${reason})`)]);
  });

  it("moves a folder in place of ledger.jsonl aside with a warning; reads and appends then work", async () => {
    const stateDir = await tempDir("ledger");
    await mkdir(join(ledgerPath(stateDir), "junk"), { recursive: true });
    const { warnings, options } = collecting();
    const ledger = createFileLedger(stateDir, options);
    expect(await ledger.entries()).toEqual([]);
    expect(warnings.map((w) => w.message)).toEqual([
      `state file ${ledgerPath(stateDir)} is not a regular file; the ledger starts empty: moved aside as ledger.jsonl.corrupt-${STAMP}`,
    ]);
    expect((await stat(`${ledgerPath(stateDir)}.corrupt-${STAMP}`)).isDirectory()).toBe(true);
    await ledger.append(entry(7));
    expect(await ledger.entries()).toEqual([entry(7)]);
  });

  it("names the ledger file when it cannot be read at all", async () => {
    const stateDir = join(await tempDir("ledger"), "a-file");
    await writeFile(stateDir, "not a folder");
    await expect(createFileLedger(stateDir).entries()).rejects.toThrow(
      `state file ${ledgerPath(stateDir)} (ENOTDIR)`,
    );
    await expect(createFileLedger(stateDir).append(entry(1))).rejects.toThrow(/a-file/);
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
    ["half a file", '{"revision": "bbbb', "is not JSON"],
    [
      "another shape",
      JSON.stringify({ revision: "HEAD", branch: "main", time: "now" }),
      "is not a last good",
    ],
    ["null", "null", "is not a last good"],
    [
      "a record without its files",
      JSON.stringify({ revision: "b".repeat(40), branch: "main", time: "now" }),
      "is not a last good",
    ],
  ])("moves %s aside with a warning and reads as none", async (_, content, why) => {
    const stateDir = await tempDir("lastgood");
    await writeFile(lastGoodPath(stateDir), content);
    const { warnings, options } = collecting();
    expect(await readLastGood(stateDir, options)).toBeUndefined();
    expect(warnings).toEqual([
      {
        file: lastGoodPath(stateDir),
        movedTo: `${lastGoodPath(stateDir)}.corrupt-${STAMP}`,
        message: expect.stringMatching(
          new RegExp(
            `^state file ${lastGoodPath(stateDir)} ${why}.*no last good revision is recorded now: moved aside as last-good.json.corrupt-${STAMP}$`,
          ),
        ),
      },
    ]);
    expect(await readFile(`${lastGoodPath(stateDir)}.corrupt-${STAMP}`, "utf8")).toBe(content);
    expect(await readdir(stateDir)).toEqual([`last-good.json.corrupt-${STAMP}`]);
  });

  it("moves a folder in place of last-good.json aside on read and on write, then saves", async () => {
    const stateDir = await tempDir("lastgood");
    await mkdir(join(lastGoodPath(stateDir), "blocker"), { recursive: true });
    const { warnings, options } = collecting();
    expect(await readLastGood(stateDir, options)).toBeUndefined();
    await mkdir(join(lastGoodPath(stateDir), "again"), { recursive: true });
    await writeLastGood(stateDir, good, { ...options, now: () => new Date(NOW.getTime() + 1000) });
    expect(await readLastGood(stateDir, options)).toEqual(good);
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(
        /last-good\.json is not a regular file: moved aside as last-good\.json\.corrupt-2026-11-30T14-05-06\.789Z$/,
      ),
      expect.stringMatching(
        /last-good\.json is not a regular file: moved aside as last-good\.json\.corrupt-2026-11-30T14-05-07\.789Z$/,
      ),
    ]);
  });

  it("names the file when the record cannot be written", async () => {
    const stateDir = join(await tempDir("lastgood"), "a-file");
    await writeFile(stateDir, "not a folder");
    await expect(writeLastGood(stateDir, good)).rejects.toThrow(`state file ${lastGoodPath(stateDir)}`);
  });

  it("an atomic write leaves no temp file behind when the rename fails", async () => {
    const stateDir = await tempDir("lastgood");
    // A non-empty folder where the file should go makes the rename fail after the temp file was written.
    await mkdir(join(lastGoodPath(stateDir), "blocker"), { recursive: true });
    await expect(writeFileAtomic(lastGoodPath(stateDir), "{}")).rejects.toThrow();
    expect(await readdir(stateDir)).toEqual(["last-good.json"]);
  });
});
