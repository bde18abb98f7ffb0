import { stripVTControlCharacters } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { pushRandomImage } from "../src/lab/push-image.js";
import { repoArgs } from "./helpers/cli.js";
import { fleetYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo } from "./helpers/git-repos.js";
import { renderScreen } from "./helpers/screen.js";
import { inTerminal } from "./helpers/terminal.js";

const ESC = "\u001b";
const lab = inject("lab");
/** A fresh two-agent fleet of three new images, each agent pulling two at a time; returns apply's arguments. */
async function fleet(): Promise<string[]> {
  const R = lab.registries.plain.host;
  const prefix = uniqueRepo("x").split("/")[0]!;
  // Short enough for the plan's lines (full references, never cut); two pulls in flight on a row still
  // need their references elided at 70 columns.
  const names = ["web", "ide", "cli"];
  for (const name of names)
    await pushRandomImage({ url: lab.registries.plain.url, repository: `${prefix}/${name}`, tag: "v1" });
  const repo = await createTestRepo();
  await repo.commit(
    {
      "manifests/a.yaml": fleetYaml({
        registries: [{ name: "corp", host: R }],
        agents: lab.engines.slice(0, 2).map((e, i) => ({
          name: `agent-${i + 1}`,
          host: e.host,
          maxConcurrentPulls: 2,
        })),
        workspaces: names.map((name) => ({ name, image: `${R}/${prefix}/${name}:v1`, registry: "corp" })),
      }),
    },
    "fleet",
  );
  return repoArgs("apply", repo.bare, await stateDir());
}

describe("apply's live progress on a real terminal", () => {
  it("on 70 columns keeps every line inside the width, redraws in place, and ends with each pull done", async () => {
    const result = await inTerminal(await fleet(), 70, { NO_COLOR: "1" });
    expect(result.output).toContain("Apply complete: 6 pulled, 0 failed.");
    expect(result.code).toBe(0);
    // Live rows were drawn (erase-line and cursor-up), not plain event lines.
    expect(result.output).toContain(`${ESC}[2K`);
    expect(result.output).toMatch(new RegExp(`${ESC}\\[\\d+A`));
    const lines = stripVTControlCharacters(result.output).split(/\r?\n/);
    for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(70);
    // What the terminal shows at the end: one row per agent, all three pulls done, no stale rows.
    const screen = renderScreen(result.output, 70);
    const rows = screen.filter((row) => /^ {2}agent-\d: \d+ done/.test(row));
    expect(rows).toEqual(["  agent-1: 3 done, 0 failed, 0 queued", "  agent-2: 3 done, 0 failed, 0 queued"]);
  });

  it.each([
    [30, "xterm"],
    [100, "dumb"],
    [0, "xterm"],
  ])(
    "on %d columns (0: width unknown) with TERM=%s prints one line per event, without cursor movement",
    async (columns, term) => {
      const result = await inTerminal(await fleet(), columns, { NO_COLOR: "1", TERM: term });
      expect(result.code, result.output).toBe(0);
      expect(result.output.includes(ESC)).toBe(false);
      const events = result.output.split(/\r?\n/).filter((line) => /^(start|done) {3,}pull /.test(line));
      expect(events).toHaveLength(12);
      expect(result.output).toContain("Apply complete: 6 pulled, 0 failed.");
    },
  );
});
