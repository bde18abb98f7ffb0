import { readFileSync } from "node:fs";
import { appendFile, mkdir, readdir, readFile, stat, unlink, utimes, writeFile } from "node:fs/promises";
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

describe("compacted ledger", () => {
  /** `n` pulls: 200 agents pulling each release of 4 workspaces, 8 releases each. */
  const pulls = (n: number): LedgerEntry[] =>
    Array.from({ length: n }, (_, i) => {
      const release = Math.floor(i / 800);
      const w = Math.floor(i / 200) % 4;
      return {
        time: new Date(Date.UTC(2026, 10, 27, 12, 0, 0, i)).toISOString(),
        agent: `agent-${i % 200}`,
        image: `registry.example:5000/kasm/w${w}:r${release}`,
        digest: `sha256:${(release * 10 + w).toString(16).padStart(64, "0")}`,
        revision: "a".repeat(40),
        workspaces: [`w${w}`],
      };
    });
  const lineCount = async (stateDir: string) =>
    (await readFile(ledgerPath(stateDir), "utf8")).split("\n").filter(Boolean).length;

  it("stays bounded after 5,000 pulls, keeping one proof per workspace and digest", async () => {
    const stateDir = await tempDir("ledger");
    const ledger = createFileLedger(stateDir, { compactAfter: 500 });
    const all = pulls(5000);
    for (let i = 0; i < all.length; i += 100) {
      await Promise.all(all.slice(i, i + 100).map((e) => ledger.append(e)));
    }
    // One proof per workspace and digest (25 here), plus at most the lines appended since the last compaction.
    const distinct = new Set(all.map((e) => `${e.workspaces[0]} ${e.digest}`));
    expect(distinct.size).toBe(25);
    expect(await lineCount(stateDir)).toBeLessThanOrEqual(1 + distinct.size + 500);
    const entries = await createFileLedger(stateDir).entries();
    expect(new Set(entries.map((e) => `${e.workspaces[0]} ${e.digest}`))).toEqual(distinct);
    // The newest pull of each digest is the proof kept.
    const last = all.filter((e) => e.digest === all[0]!.digest).at(-1)!;
    expect(entries.find((e) => e.digest === last.digest)).toEqual(last);
  });

  it("compacts a ledger an older version grew without bound on first read, and keeps what prune needs", async () => {
    const stateDir = await tempDir("ledger");
    const all = pulls(4000);
    await writeFile(ledgerPath(stateDir), all.map((e) => `${JSON.stringify(e)}\n`).join(""));
    const entries = await createFileLedger(stateDir).entries();
    expect(entries).toHaveLength(20);
    expect(await lineCount(stateDir)).toBe(21); // a header, then the entries
    expect(await createFileLedger(stateDir).entries()).toEqual(entries);
  });

  it("keeps between reads what it read, and reads again only a file something else changed", async () => {
    const stateDir = await tempDir("ledger");
    const ledger = createFileLedger(stateDir);
    await ledger.append(entry(1));
    await ledger.append(entry(2));
    // A whole-second mtime, so it can be set back exactly below; this change is noticed and read.
    const path = ledgerPath(stateDir);
    const second = new Date(Date.UTC(2026, 0, 1));
    await utimes(path, second, second);
    expect(await ledger.entries()).toEqual([entry(1), entry(2)]);
    // The same size, inode and mtime, other content: a read that opened the file would see entry 3.
    const text = await readFile(path, "utf8");
    await writeFile(path, text.replace(entry(2).digest, entry(3).digest));
    await utimes(path, second, second);
    expect(await ledger.entries()).toEqual([entry(1), entry(2)]);
    expect(await createFileLedger(stateDir).entries()).toEqual([
      entry(1),
      { ...entry(2), digest: entry(3).digest },
    ]);
    // Another writer (a size or mtime change) and a deletion are noticed.
    await appendFile(path, `${JSON.stringify(entry(4))}\n`);
    expect((await ledger.entries()).map((e) => e.digest)).toEqual([1, 3, 4].map((n) => entry(n).digest));
    await unlink(path);
    expect(await ledger.read()).toEqual({ entries: [], covered: {}, departed: {} });
  });

  it("records a rebuild and departures in its header, read back by a new instance", async () => {
    const stateDir = await tempDir("ledger");
    const ledger = createFileLedger(stateDir, { now: () => NOW });
    await ledger.append(entry(1));
    const rebuilt = { ...entry(2), rebuilt: true as const };
    const departed = { "ws-0": { since: NOW.toISOString(), revision: "b".repeat(40) } };
    await ledger.update({ rebuilt: [rebuilt], covered: ["agent-1"], departed });
    const expected = {
      entries: [rebuilt, entry(1)],
      covered: { "agent-1": NOW.toISOString() },
      departed,
    };
    expect(await ledger.read()).toEqual(expected);
    expect(await createFileLedger(stateDir).read()).toEqual(expected);
    await ledger.append(entry(3));
    expect((await createFileLedger(stateDir).read()).covered).toEqual(expected.covered);
  });

  it("covers no agent any more after a torn line, so prune waits for a rebuild", async () => {
    const stateDir = await tempDir("ledger");
    const { warnings, options } = collecting();
    const ledger = createFileLedger(stateDir, options);
    await ledger.update({ covered: ["agent-1"] });
    await ledger.append(entry(1));
    await appendFile(ledgerPath(stateDir), JSON.stringify(entry(2)).slice(0, 20));
    expect(await createFileLedger(stateDir, options).read()).toEqual({
      entries: [entry(1)],
      covered: {},
      departed: {},
    });
    expect(warnings).toHaveLength(1);
  });

  it.each([
    ["a header of another version", `{"kasmGitopsLedger":3,"kept":0,"covered":{},"departed":{}}`],
    ["a header with bad departures", `{"kasmGitopsLedger":2,"kept":0,"covered":{},"departed":{"w":1}}`],
  ])("moves aside a ledger with %s and covers no agent", async (_, header) => {
    const stateDir = await tempDir("ledger");
    await writeFile(ledgerPath(stateDir), `${header}\n${JSON.stringify(entry(5))}\n`);
    const { warnings, options } = collecting();
    expect(await createFileLedger(stateDir, options).read()).toEqual({
      entries: [entry(5)],
      covered: {},
      departed: {},
    });
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining("line 1: not a ledger header")]);
  });
});
