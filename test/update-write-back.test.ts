import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { systemClock } from "../src/adapters/clock.js";
import { createGitWriter } from "../src/adapters/git-writer.js";
import { readManifestDir } from "../src/adapters/manifest-files.js";
import { createRegistryClient } from "../src/adapters/registry-client.js";
import { createNotifierFor } from "../src/app.js";
import { pushImageChange } from "../src/engine/authoring/image-commit.js";
import { acceptManifests } from "../src/engine/snapshot.js";
import { type DaemonStatus, initialStatus, reduceStatus } from "../src/engine/status.js";
import { updaterReports } from "../src/engine/update/automation-report.js";
import { createUpdater } from "../src/engine/update/updater.js";
import { createMetrics } from "../src/http/metrics.js";
import { startStatusServer } from "../src/http/server.js";
import { inRepo } from "./helpers/cli.js";
import { AUTHOR, bareLog, datedFleet, pushDated } from "./helpers/dated-fleet.js";
import { stateDir, uniqueRepo } from "./helpers/fleet.js";
import { git, type TestRepo, tempDir } from "./helpers/git-repos.js";
import { startReceiver } from "./helpers/receiver.js";
import { type SshKey, sshKey } from "./helpers/signing.js";

/** One repository of dated builds for every test (pushed once), each test with a manifest repo of its own. */
const R = inject("lab").registries.plain;
const name = uniqueRepo("dated");
let digests: Record<string, string> = {};
beforeAll(async () => {
  digests = await pushDated(name, ["20261201", "20261206", "latest"]);
});
const fleet = (options: { mode?: "commit" | "branch"; notifyEnv?: string } = {}) =>
  datedFleet(name, digests, options);

const changedLines = async (repo: TestRepo, ref = "main") =>
  (await git(repo.bare, "diff", "--unified=0", `${ref}~1`, ref)).split("\n").filter((l) => /^[-+]\s/.test(l));

type Fleet = Awaited<ReturnType<typeof fleet>>;

/** The updater's ports: the fleet's bare repo and the lab registry. */
function updaterDeps(f: Fleet) {
  const client = createRegistryClient({ host: R.host, insecure: true });
  return {
    writer: createGitWriter({
      repo: f.repo.bare,
      stateDir: f.state,
      identity: { name: "Bot", email: "bot@x.invalid" },
    }),
    readManifests: readManifestDir,
    registryFor: async () => ({ client }),
    clock: systemClock,
  };
}

/** The fleet's manifests as the revision in force. */
async function inForce(f: Fleet) {
  const files = await readManifestDir(join(f.repo.work, "manifests"), f.repo.work);
  const { set } = acceptManifests(files, "work");
  const revision = {
    revision: await bareLog(f.repo),
    branch: "main",
    checkoutDir: f.repo.work,
    manifestDir: join(f.repo.work, "manifests"),
  };
  return { set, files, problems: [], revision };
}

describe("update write-back on a real bare repo and the lab registry", () => {
  it("mode commit (after a --dry-run): one commit on main changing only the image tag, named tags and digests, by the given author", async () => {
    const f = await fleet();
    const before = await bareLog(f.repo);
    // --dry-run first: it says what would be written, and writes nothing.
    const dry = await f.update("chrome-testing", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("update available: chrome-testing 20261201 → 20261206");
    expect(await bareLog(f.repo)).toBe(before);
    const result = await f.update();
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("update pushed: chrome-testing → 20261206 on main");
    expect(await git(f.repo.bare, "rev-list", "--count", `${before}..main`)).toBe("1");
    expect(await changedLines(f.repo)).toEqual([
      `-  image: "${f.image("20261201")}"   # moved by automation`,
      `+  image: "${f.image("20261206")}"   # moved by automation`,
    ]);
    const message = await bareLog(f.repo, "main", "%B");
    expect(message.split("\n")[0]).toBe(
      `Update chrome-testing to 20261206 (20261201 -> 20261206, ${f.digests["20261206"]!.slice(0, 19)})`,
    );
    expect(message).toContain(`Digest: ${f.digests["20261201"]} -> ${f.digests["20261206"]}`);
    expect(message.trim().split("\n").at(-1)).toBe("Kasm-Gitops-Automation: update");
    expect(await bareLog(f.repo, "main", "%an <%ae>|%cn")).toBe(
      "Update Bot <bot@example.invalid>|Update Bot",
    );
    // Again: the tip has the newest tag, so nothing more is committed.
    const again = await f.update();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("chrome-testing: up to date (20261206)");
    expect(await git(f.repo.bare, "rev-list", "--count", `${before}..main`)).toBe("1");
  });

  it("mode branch: pushes kasm-gitops/update/<workspace>/<tag> once, main untouched, and not again while it exists", async () => {
    const f = await fleet({ mode: "branch" });
    const before = await bareLog(f.repo);
    const branch = "kasm-gitops/update/chrome-testing/20261206";
    const first = await f.update();
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`update pushed: chrome-testing → 20261206 on ${branch}`);
    expect(await bareLog(f.repo)).toBe(before);
    const pushed = await bareLog(f.repo, branch);
    expect(await git(f.repo.bare, "rev-parse", `${branch}~1`)).toBe(before);
    const second = await f.update();
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`update branch ${branch} is already pushed; not pushed again`);
    expect(await bareLog(f.repo, branch)).toBe(pushed);
    expect(await git(f.repo.bare, "for-each-ref", "--format=%(refname)", "refs/heads/kasm-gitops")).toBe(
      `refs/heads/${branch}`,
    );
  });

  it("a protected branch (a pre-receive hook that refuses): tried on the new tip once more, then reported, exit 1", async () => {
    const f = await fleet();
    const hook = join(f.repo.bare, "hooks", "pre-receive");
    await writeFile(hook, "#!/bin/sh\necho 'main is protected' >&2\nexit 1\n");
    await chmod(hook, 0o755);
    const result = await f.update();
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/update push refused twice \(main\): .*pre-receive hook declined/);
    expect(await bareLog(f.repo, "main", "%s")).toBe("fleet");
  });

  it("a race (another push first): the edit is made again on the new tip and pushed on the second try", async () => {
    const f = await fleet();
    const writer = createGitWriter({
      repo: f.repo.bare,
      stateDir: f.state,
      identity: { name: "Bot", email: "bot@x.invalid" },
    });
    let raced = "";
    const racing = {
      ...writer,
      async push(branch: string) {
        if (!raced)
          raced = await f.repo.commit(
            { "manifests/b.yaml": "# someone else's change\n" },
            "a person's commit",
          );
        return writer.push(branch);
      },
    };
    const result = await pushImageChange(
      racing,
      {
        workspace: "chrome-testing",
        image: f.image("20261206"),
        message: "Update\n\nKasm-Gitops-Automation: update",
      },
      { branch: "main", path: "manifests", sign: false, readManifests: readManifestDir },
    );
    expect(result).toMatchObject({ status: "pushed", branch: "main", attempts: 2, file: "manifests/a.yaml" });
    expect(await git(f.repo.bare, "rev-parse", "main~1")).toBe(raced);
    expect(await changedLines(f.repo)).toHaveLength(2);
  });
});

describe("signed automated commits", () => {
  let key: SshKey;
  let gitconfig: string;
  let allowed: string;
  beforeAll(async () => {
    key = await sshKey("bot@example.invalid");
    const dir = await tempDir("update-sign");
    gitconfig = join(dir, "gitconfig");
    allowed = join(dir, "allowed_signers");
    await writeFile(gitconfig, `[gpg]\n\tformat = ssh\n[user]\n\tsigningkey = ${key.privateKeyFile}\n`);
    await writeFile(allowed, `${key.allowedSigner}\n`);
  });

  it("--sign signs with git's configured key, and plan --verify-commits accepts the new tip", async () => {
    const f = await fleet();
    const result = await inRepo("update", f.repo.bare, f.state, [...AUTHOR, "--sign"], {
      env: { GIT_CONFIG_GLOBAL: gitconfig },
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(await git(f.repo.bare, "cat-file", "commit", "main")).toContain("-----BEGIN SSH SIGNATURE-----");
    const plan = await inRepo("plan", f.repo.bare, await stateDir(), [
      "--verify-commits",
      "ssh",
      "--allowed-signers",
      allowed,
      "--no-refresh",
    ]);
    expect(plan.stderr).not.toContain("not signed");
    expect(plan.code).toBe(0);
  });
});

describe("the daemon's updater", () => {
  it("a schedule's pass commits the testing bump and asks the daemon for a cycle", async () => {
    const f = await fleet();
    const snapshot = await inForce(f);
    let cycles = 0;
    const reported: string[] = [];
    const updater = createUpdater(updaterDeps(f), {
      branch: "main",
      path: "manifests",
      sign: false,
      refreshCron: "0 * * * *",
      report: (outcomes) =>
        void reported.push(
          ...(Array.isArray(outcomes)
            ? outcomes.map((o) => o.result?.status ?? o.finding.status)
            : [outcomes.error]),
        ),
      onPushed: () => void cycles++,
    });
    updater.configure(snapshot);
    // The workspace has no update.schedule, so it follows the refresh schedule: that timer's pass, run now.
    const outcomes = await updater.run("0 * * * *");
    await updater.stop();
    expect(outcomes.map((o) => o.result?.status)).toEqual(["pushed"]);
    expect(reported).toEqual(["pushed"]);
    expect(cycles).toBe(1);
    expect(await bareLog(f.repo, "main", "%s")).toMatch(/^Update chrome-testing to 20261206 /);
    // Another schedule names no workspace: its pass does nothing.
    expect(await updater.run("*/5 * * * *")).toEqual([]);
  });
});

describe("the updater's passes as the operator sees them", () => {
  it("a pushed update shows in /status (automation) and /metrics, and sends one update-proposed notification", async () => {
    const receiver = await startReceiver();
    const f = await fleet({ notifyEnv: "KASM_SECRET_HOOK" });
    const snapshot = await inForce(f);
    const { set } = snapshot;
    const metrics = createMetrics();
    const quiet = { info: () => {}, warn: () => {}, error: () => {} };
    const notifier = createNotifierFor(
      { KASM_SECRET_HOOK: `${receiver.url}/hook` },
      { dirs: [], envNames: [] },
      quiet,
    );
    notifier.configure(set.notifications ?? []);
    let status = initialStatus("main");
    const updater = createUpdater(updaterDeps(f), {
      branch: "main",
      path: "manifests",
      sign: false,
      ...updaterReports(quiet, {
        record: (event) => {
          status = reduceStatus(status, event);
        },
        status: () => status,
        metrics,
        notify: (event) => notifier.emit(event),
        clock: systemClock,
        branch: "main",
      }),
      onPushed: () => {},
    });
    updater.configure(snapshot);
    await updater.run("0 * * * *");
    await updater.stop();
    const server = await startStatusServer({
      listen: "127.0.0.1:0",
      status: () => status,
      ready: () => true,
      metrics,
    });
    try {
      const commit = await bareLog(f.repo);
      const shown = (await (await fetch(`${server.url}/status`)).json()) as DaemonStatus;
      expect(shown.automation?.updates["chrome-testing"]).toMatchObject({
        image: f.image("20261201"),
        inGitTag: "20261201",
        status: "candidate",
        tag: "20261206",
        digest: f.digests["20261206"],
        result: "ok",
        lastProposal: {
          kind: "update",
          status: "pushed",
          branch: "main",
          commit,
          previousDigest: f.digests["20261201"],
        },
      });
      expect(shown.events.map((e) => e.message)).toContain(
        `update pushed: chrome-testing 20261201 → 20261206 on main (${commit.slice(0, 12)})`,
      );
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toContain('kasm_gitops_update_checks_total{result="ok"} 1');
      expect(text).toContain(
        'kasm_gitops_update_proposals_total{workspace="chrome-testing",kind="update",result="pushed"} 1',
      );
      // Pushed on the followed branch: nothing waits.
      expect(text).not.toMatch(/^kasm_gitops_update_candidate\{/m);
      await notifier.drain(5000);
      expect(receiver.delivered("/hook").map((r) => [r.body.event, r.body.revision])).toEqual([
        ["update-proposed", commit],
      ]);
    } finally {
      notifier.close();
      await server.close();
      await receiver.close();
    }
  });
});
