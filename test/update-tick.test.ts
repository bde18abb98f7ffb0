/**
 * The daemon's update schedule, through a real `kasm-gitops run`: a new dated build in the lab registry
 * becomes one commit on main at the schedule's first tick after its push, and a later tick pushes nothing.
 * Validation refuses update schedules under a minute apart, so the schedule is once a minute at a second a few
 * seconds ahead (`S * * * * *`, six fields): the test waits seconds, not a minute.
 */
import { describe, expect, inject, it } from "vitest";
import { pushRandomImage } from "../src/lab/push-image.js";
import { followRepo, waitUntil } from "./helpers/daemon.js";
import { datedManifest } from "./helpers/dated-fleet.js";
import { uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, git } from "./helpers/git-repos.js";

const R = inject("lab").registries.plain;

/** Once a minute, at the second `ahead` seconds from now. */
function secondAhead(ahead: number): { cron: string; next: (after: number) => number } {
  const second = Math.floor(Date.now() / 1000 + ahead) % 60;
  return {
    cron: `${second} * * * * *`,
    // The first tick at or after `after` (ms).
    next: (after) => {
      const minute = Math.floor(after / 60_000) * 60_000;
      const tick = minute + second * 1000;
      return tick >= after ? tick : tick + 60_000;
    },
  };
}

/** The dated-build manifest on `image`, its update checked at `schedule`. */
const manifest = (image: string, schedule: string) =>
  datedManifest(image, { update: [`schedule: "${schedule}"`] });

type LogLine = { time: number | string; msg: string } & Record<string, unknown>;
const logLines = (text: string): LogLine[] =>
  text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);

describe("the daemon's update tick", () => {
  it("commits the testing bump within one tick of the push, through kasm-gitops run, and not again on a later tick", async () => {
    const name = uniqueRepo("tick");
    const image = (tag: string) => `${R.host}/${name}:${tag}`;
    await pushRandomImage({ url: R.url, repository: name, tag: "20261201" });
    const first = secondAhead(5);
    const repo = await createTestRepo();
    const start = await repo.commit({ "manifests/a.yaml": manifest(image("20261201"), first.cron) }, "fleet");
    const daemon = await followRepo(
      repo.bare,
      "--git-author",
      "Update Bot <bot@example.invalid>",
      "--log-level",
      "debug",
    );
    try {
      const lines = () => logLines(daemon.logs());
      const listings = () =>
        lines().filter((l) => l.msg === "registry request" && String(l.url).includes(`/${name}/tags/list`));
      await waitUntil(
        "the first revision in force",
        async () => lines().some((l) => l.msg === "new revision in force"),
        30_000,
        daemon.logs,
      );
      // CI pushes the new build; the schedule's next tick commits it.
      const pushing = Date.now();
      const { digest } = await pushRandomImage({ url: R.url, repository: name, tag: "20261206" });
      // The first tick after the push ended; or the one during it, if that one already saw the new tag.
      const ticks = [first.next(pushing), first.next(Date.now())];
      const pushed = () => lines().filter((l) => l.msg.startsWith("update pushed"));
      await waitUntil("update pushed", async () => pushed().length > 0, 90_000, daemon.logs);
      const [line] = pushed();
      expect(line).toMatchObject({
        msg: "update pushed: chrome-testing → 20261206 on main",
        workspace: "chrome-testing",
        tag: "20261206",
        digest,
        branch: "main",
        schedule: first.cron,
      });
      // Within that one tick: the pass that pushed started at it.
      const at = new Date(line!.time).getTime();
      expect(at).toBeGreaterThanOrEqual(ticks[0]!);
      expect(at).toBeLessThan(ticks[1]! + 15_000);
      expect(await git(repo.bare, "rev-list", "--count", `${start}..main`)).toBe("1");
      expect(await git(repo.bare, "rev-parse", "main")).toBe(line!.commit);
      const diff = (await git(repo.bare, "diff", "--unified=0", "main~1", "main"))
        .split("\n")
        .filter((l) => /^[-+]\s/.test(l));
      expect(diff).toEqual([
        `-  image: "${image("20261201")}"   # moved by automation`,
        `+  image: "${image("20261206")}"   # moved by automation`,
      ]);
      const message = await git(repo.bare, "log", "-1", "--format=%B", "main");
      expect(message.trim().split("\n").at(-1)).toBe("Kasm-Gitops-Automation: update");

      // A later tick: a person moves the schedule to a few seconds ahead (a tick a minute later is the same
      // pass, a minute slower); the daemon follows it at the webhook's cycle, its tick lists the tags again and
      // finds main up to date.
      const later = secondAhead(6);
      const bumped = await git(repo.bare, "rev-parse", "main");
      // (commit force-pushes the work clone: it starts from the bump)
      await git(repo.work, "fetch", "--quiet", "origin");
      await git(repo.work, "reset", "--quiet", "--hard", "origin/main");
      const moved = await repo.commit(
        { "manifests/a.yaml": manifest(image("20261206"), later.cron) },
        "check at another second",
      );
      expect(await git(repo.bare, "rev-parse", "main~1")).toBe(bumped);
      const before = listings().length;
      expect(await daemon.push()).toBe(202);
      await waitUntil(
        "a later tick's tag listing",
        async () => listings().length > before,
        90_000,
        daemon.logs,
      );
      // Its pass has nothing to write: let it finish (a stop waits for a pass under way), then look.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await daemon.stop()).toBe(0);
      expect(pushed()).toHaveLength(1);
      expect(await git(repo.bare, "rev-parse", "main")).toBe(moved);
    } finally {
      await daemon.stop();
    }
    // A tick missed on a loaded machine costs a minute, never the test: it then waits for the next one.
  }, 240_000);
});
