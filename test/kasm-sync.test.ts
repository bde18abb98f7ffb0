/**
 * Kasm Web App sync end to end: the built CLI, two real Docker engines, a real registry (behind the lab's
 * proxy, to make pulls fail on purpose) and the Kasm API stand-in in-process.
 */
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { createKasmClient } from "../src/adapters/kasm-client.js";
import { parseImageReference } from "../src/core/image/reference.js";
import type { KasmUpdateAction, Plan } from "../src/core/plan/types.js";
import { type CliResult, inRepo, lines, repoArgs } from "./helpers/cli.js";
import { startDaemon, waitUntil } from "./helpers/daemon.js";
import { localDigests } from "./helpers/fleet.js";
import {
  apply,
  chrome,
  env,
  expectNoSecrets,
  type Fleet,
  fleet,
  groupsOf,
  kit,
  plan,
  record,
  records,
  useKasmSync,
  writes,
  yaml,
} from "./helpers/kasm-sync.js";
import { startReceiver } from "./helpers/receiver.js";

const lab = inject("lab");
useKasmSync();

describe("Kasm records from Git", () => {
  it("creates the record after its pulls, joins its groups only, and a converged cycle writes nothing", async () => {
    const f = await fleet();
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))]) }, "chrome");
    const before = await plan(f);
    const pulls = before.actions.flatMap((a, i) => (a.type === "pull" ? [i] : []));
    const create = before.actions.find((a) => a.type === "kasm-create");
    expect(pulls).toHaveLength(2);
    expect(create).toMatchObject({ workspace: "chrome", after: pulls, record: { name: f.image("v1") } });
    expect(before.summary.kasm).toBe(3);

    const text = await inRepo("plan", f.repo.bare, f.state, [], { env: env() });
    expect(text.stdout).toContain(`kasm ${kit.kasm.url}`);
    expect(text.stdout).toMatch(/\+ chrome {2}new record for .*:v1 {2}\(after 2 pulls\)/);
    expectNoSecrets(text);
    const first = await apply(f);
    expect(first.code).toBe(0);
    expectNoSecrets(first);
    const made = record("chrome")!;
    expect(made).toMatchObject({ name: f.image("v1"), friendly_name: "chrome", docker_registry: null });
    expect(groupsOf(made.image_id)).toEqual(["qa"]);
    // The create came after both pulls ended.
    const done = lines(first.stdout).filter((l) => l.event === "done");
    expect(done.findIndex((l) => l.type === "kasm-create")).toBeGreaterThan(
      Math.max(...done.flatMap((l, i) => (l.type === "pull" ? [i] : []))),
    );

    kit.kasm.clearCalls();
    const second = await apply(f);
    expect(second.code).toBe(0);
    expect(writes()).toEqual([]);
    // The whole membership is read (All Users included): one get_images_group per group Kasm has.
    const reads = kit.kasm.calls().map((c) => c.fn);
    expect([...new Set(reads)].sort()).toEqual(["get_groups", "get_images", "get_images_group"]);
    expect(reads.filter((fn) => fn === "get_images_group")).toHaveLength(kit.kasm.state().groups.length);
    expect((await plan(f)).actions).toEqual([]);
  });

  it("holds the switch while a pull fails, and makes it once the pull succeeds", async () => {
    const f = await fleet();
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))]) }, "v1");
    expect((await apply(f)).code).toBe(0);
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v2"))]) }, "v2");
    const repository = parseImageReference(f.image("v2")).repository;
    kit.proxy.setBehaviour({
      inject: [
        {
          // v1 is on the agents already, so the only blobs fetched from this repository are v2's. A 404
          // (a blob missing) fails the pull at once; a 500 would fail it too, after the retries.
          match: (req) => req.kind === "blob-get" && req.repository === repository,
          status: 404,
          times: 1000,
        },
      ],
    });
    const held = await apply(f);
    expect(held.code).toBe(1);
    const update = lines(held.stdout).find((l) => l.event === "done" && l.type === "kasm-update")!;
    expect(update.status).toBe("skipped");
    expect(String((update.error as { message: string }).message)).toMatch(
      /^held: the pull of .*:v2 on a[12]/,
    );
    expect(record("chrome")!.name).toBe(f.image("v1"));

    kit.proxy.setBehaviour({ inject: [] });
    const made = await apply(f);
    expect(made.code).toBe(0);
    expect(record("chrome")!.name).toBe(f.image("v2"));
  });

  it("puts a record edited in Kasm back, naming the fields", async () => {
    const f = await fleet();
    await f.repo.commit(
      { "manifests/a.yaml": yaml([chrome(f.image("v1"), { kasm: { cores: 2, description: "Chrome" } })]) },
      "chrome",
    );
    expect((await apply(f)).code).toBe(0);
    const id = record("chrome")!.image_id;
    const ui = createKasmClient({
      url: kit.kasm.url,
      apiKey: kit.kasm.apiKey,
      apiKeySecret: kit.kasm.apiKeySecret,
    });
    await ui.updateImage(id, { cores: 6, description: "edited by hand" });

    const drift = (await plan(f)).actions.find((a): a is KasmUpdateAction => a.type === "kasm-update")!;
    expect(drift.reason).toBe("drift");
    expect(drift.changes).toEqual([
      { field: "description", from: "edited by hand", to: "Chrome" },
      { field: "cores", from: 6, to: 2 },
    ]);
    // A saved plan is carried out exactly, Kasm actions included.
    const file = join(f.state, "drift.json");
    expect((await inRepo("plan", f.repo.bare, f.state, ["--out", file], { env: env() })).code).toBe(0);
    kit.kasm.clearCalls();
    const repaired = await inRepo("apply", f.repo.bare, f.state, [file, "--json"], { env: env() });
    expect(repaired.code).toBe(0);
    expect(writes()).toEqual(["update_image"]);
    expect(record("chrome")).toMatchObject({ cores: 2, description: "Chrome" });
  });

  it("owns the record fields the manifest names, puts them back, and leaves the others as Kasm has them", async () => {
    const f = await fleet();
    const kasm = {
      resolution: { width: 1280, height: 720 },
      sessionTimeLimit: "2h",
      restrictNetworks: ["kasm-lab"],
      cpuAllocationMethod: "Quotas",
    };
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"), { kasm })]) }, "fields");
    expect((await apply(f)).code).toBe(0);
    expect(record("chrome")).toMatchObject({
      x_res: 1280,
      y_res: 720,
      session_time_limit: 7200,
      restrict_to_network: true,
      restrict_network_names: ["kasm-lab"],
      cpu_allocation_method: "Quotas",
      gpu_count: 0,
    });
    const ui = createKasmClient({
      url: kit.kasm.url,
      apiKey: kit.kasm.apiKey,
      apiKeySecret: kit.kasm.apiKeySecret,
    });
    // Edited in the UI: one field Git names, two it does not.
    await ui.updateImage(record("chrome")!.image_id, {
      xRes: 1920,
      gpuCount: 1,
      persistentProfilePath: "/p",
    });
    const drift = (await plan(f)).actions.find((a): a is KasmUpdateAction => a.type === "kasm-update")!;
    expect(drift).toMatchObject({ reason: "drift", changes: [{ field: "xRes", from: 1920, to: 1280 }] });
    expect((await apply(f)).code).toBe(0);
    expect(record("chrome")).toMatchObject({ x_res: 1280, gpu_count: 1, persistent_profile_path: "/p" });
    kit.kasm.clearCalls();
    expect((await apply(f)).code).toBe(0);
    expect(writes()).toEqual([]);
  });

  it("refuses a saved plan whose Kasm record was edited again since, and writes nothing", async () => {
    const f = await fleet();
    await f.repo.commit(
      { "manifests/a.yaml": yaml([chrome(f.image("v1"), { kasm: { cores: 2 } })]) },
      "chrome",
    );
    expect((await apply(f)).code).toBe(0);
    const ui = createKasmClient({
      url: kit.kasm.url,
      apiKey: kit.kasm.apiKey,
      apiKeySecret: kit.kasm.apiKeySecret,
    });
    const id = record("chrome")!.image_id;
    await ui.updateImage(id, { cores: 6 });
    const file = join(f.state, "drift.json");
    expect((await inRepo("plan", f.repo.bare, f.state, ["--out", file], { env: env() })).code).toBe(0);
    // Someone edits the record again after the plan was reviewed: the plan's "6 → 2" is no longer true.
    await ui.updateImage(id, { cores: 8 });
    kit.kasm.clearCalls();
    const stale = await inRepo("apply", f.repo.bare, f.state, [file], { env: env() });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`the saved plan ${file} is stale; run plan again`);
    expect(stale.stderr).toContain(
      "Kasm changed since the plan: kasm-update chrome was planned against records that differ now",
    );
    expect(writes()).toEqual([]);
    expect(record("chrome")).toMatchObject({ cores: 8 });
  });

  it("changes groups by the pairs that differ", async () => {
    const f = await fleet();
    await f.repo.commit(
      { "manifests/a.yaml": yaml([chrome(f.image("v1"), { groups: ["qa", "All Users"] })]) },
      "1",
    );
    expect((await apply(f)).code).toBe(0);
    const id = record("chrome")!.image_id;
    expect(groupsOf(id)).toEqual(["All Users", "qa"]);
    await f.repo.commit(
      { "manifests/a.yaml": yaml([chrome(f.image("v1"), { groups: ["dev", "All Users"] })]) },
      "2",
    );
    kit.kasm.clearCalls();
    expect((await apply(f)).code).toBe(0);
    expect(writes().sort()).toEqual(["add_images_group", "remove_images_group"]);
    expect(groupsOf(id)).toEqual(["All Users", "dev"]);
  });

  it("a group Kasm lacks is blocked with unknown-group; the record is still created", async () => {
    const f = await fleet();
    await f.repo.commit(
      { "manifests/a.yaml": yaml([chrome(f.image("v1"), { groups: ["qa", "testers"] })]) },
      "1",
    );
    const p = await plan(f);
    expect(p.blocked).toMatchObject([{ type: "kasm-group-add", group: "testers", reason: "unknown-group" }]);
    const result = await apply(f);
    expect(result.code).toBe(1);
    expect(lines(result.stdout).at(-1)).toMatchObject({ converged: false, held: 1 });
    expect(groupsOf(record("chrome")!.image_id)).toEqual(["qa"]);
  });

  it("Kasm refusing the key is a kasm unknown cause: the plan is incomplete, pulls go on, apply exits 1", async () => {
    const f = await fleet();
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))]) }, "1");
    const wrong = { KASM_SECRET_KASM_API_KEY_SECRET: "not-the-secret" };
    const planned = await inRepo("plan", f.repo.bare, f.state, ["--json"], { env: { ...env(), ...wrong } });
    const p = JSON.parse(planned.stdout) as Plan;
    expect(p.unknown).toMatchObject([{ kind: "kasm", reason: "kasm-unreachable" }]);
    expect(p.summary).toMatchObject({ incomplete: true, unknown: 1, kasm: 0, pull: 2 });
    const text = await inRepo("plan", f.repo.bare, f.state, [], { env: { ...env(), ...wrong } });
    expect(text.stdout.trimEnd().split("\n").at(-1)).toMatch(
      /^Plan incomplete: 1 Kasm check failed \(\S+: kasm-unreachable\)\. /,
    );
    const result = await apply(f, wrong);
    expect(result.code).toBe(1);
    expect(lines(result.stdout).at(-1)).toMatchObject({
      failed: 0,
      unknown: 1,
      incomplete: true,
      converged: false,
    });
    expect(records()).toEqual([]);
  });

  it("a reconciler limited with --agent leaves the records alone and says so", async () => {
    const f = await fleet();
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))]) }, "1");
    const result = await inRepo("plan", f.repo.bare, f.state, ["--json", "--agent", "a1"], { env: env() });
    const p = JSON.parse(result.stdout) as Plan;
    expect(p.actions.map((a) => a.type)).toEqual(["pull"]);
    expect(p.warnings.map((w) => w.code)).toContain("kasm-not-synced");
    expect(kit.kasm.calls()).toEqual([]);
    // A puller's node holds no Kasm key: the KasmServer's secrets are not even resolved there.
    const keyless = await inRepo("plan", f.repo.bare, f.state, ["--json", "--agent", "a1"]);
    expect(keyless.stderr).toBe("");
    expect(keyless.code).toBe(0);
    expect((JSON.parse(keyless.stdout) as Plan).unknown).toEqual([]);
  });

  it.each([
    ["disable", { enabled: false }],
    ["delete", undefined],
  ] as const)("removed: %s when the Workspace leaves Git", async (removed, expected) => {
    const f = await fleet();
    const other = { ...chrome(f.image("v1")), name: "other", groups: [] };
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1")), other], { removed }) }, "1");
    expect((await apply(f)).code).toBe(0);
    const id = record("chrome")!.image_id;
    await f.repo.commit({ "manifests/a.yaml": yaml([other], { removed }) }, "2");
    expect((await apply(f)).code).toBe(0);
    const left = records().find((r) => r.image_id === id);
    if (expected) expect(left).toMatchObject(expected);
    else expect(left).toBeUndefined();
    expect(record("other")).toMatchObject({ enabled: true });
  });

  it("adopts an unmarked record named by kasm.imageId, and touches no other unmarked record", async () => {
    const f = await fleet();
    kit.kasm.seed({
      images: [
        {
          image_id: "a".repeat(32),
          name: f.image("v1"),
          friendly_name: "Chrome",
          notes: "by hand",
          cores: 2,
        },
        { image_id: "b".repeat(32), name: "other/by-hand:1", friendly_name: "Other", notes: null },
      ],
      groupImages: [{ image_id: "a".repeat(32), group_name: "qa" }],
    });
    const ws = chrome(f.image("v1"), { friendlyName: "Chrome", kasm: { imageId: "a".repeat(32) } });
    await f.repo.commit({ "manifests/a.yaml": yaml([ws]) }, "adopt");
    const p = await plan(f);
    expect(p.actions.filter((a) => a.type.startsWith("kasm-"))).toMatchObject([
      { type: "kasm-update", adopt: true, imageId: "a".repeat(32) },
    ]);
    kit.kasm.clearCalls();
    expect((await apply(f)).code).toBe(0);
    expect(writes()).toEqual(["update_image"]);
    expect(record("chrome")).toMatchObject({
      image_id: "a".repeat(32),
      notes: "by hand\nmanaged-by: kasm-gitops/chrome",
    });
    expect(records().find((r) => r.image_id === "b".repeat(32))).toMatchObject({
      notes: null,
      friendly_name: "Other",
    });
    expect((await plan(f)).actions).toEqual([]);
  });

  it("a record Kasm returns malformed leaves only its workspace unknown; the others are synced", async () => {
    const f = await fleet();
    const broken = "c".repeat(32);
    // A run_config edited by hand into invalid JSON: Kasm stores it as text and returns it as it is.
    kit.kasm.seed({
      images: [
        {
          image_id: broken,
          name: f.image("v1"),
          friendly_name: "Chrome",
          notes: "managed-by: kasm-gitops/chrome",
          run_config: "{hostname: kasm",
        },
      ],
    });
    const firefox = chrome(f.image("v2"), { name: "firefox" });
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v2")), firefox]) }, "two");
    const p = await plan(f);
    expect(
      p.actions
        .filter((a) => a.type.startsWith("kasm-"))
        .map((a) => `${a.type} ${"workspace" in a ? a.workspace : ""}`),
    ).toEqual(["kasm-create firefox", "kasm-group-add firefox", "kasm-group-remove firefox"]);
    expect(p.summary).toMatchObject({ incomplete: true, unknown: 1 });
    expect(p.unknown).toMatchObject([{ kind: "kasm", reason: "kasm-record-unreadable" }]);
    expect(p.unknown[0]!.message).toMatch(/"chrome".*run_config/);
    const applied = await apply(f);
    expect(applied.code).toBe(1);
    expectNoSecrets(applied);
    expect(record("firefox")).toMatchObject({ name: f.image("v2"), enabled: true });
    expect(records().find((r) => r.image_id === broken)).toMatchObject({
      name: f.image("v1"),
      run_config: "{hostname: kasm",
    });
  });

  it("pulls: kasm writes the Registry's credentials once, and again only after the password changes", async () => {
    const f = await fleet(true);
    await f.repo.commit(
      { "manifests/a.yaml": yaml([chrome(f.image("v1"))], { pulls: "kasm", auth: true }) },
      "1",
    );
    const planned = await inRepo("plan", f.repo.bare, f.state, ["--json"], { env: env() });
    expectNoSecrets(planned);
    const first = await apply(f);
    expect(first.code).toBe(0);
    expectNoSecrets(first);
    expect(record("chrome")).toMatchObject({
      docker_registry: lab.registries.auth.host,
      docker_user: lab.registries.auth.auth!.username,
      docker_token: lab.registries.auth.auth!.password,
    });
    kit.kasm.clearCalls();
    expect((await apply(f)).code).toBe(0);
    expect(writes()).toEqual([]);

    const rotated = await apply(f, { KASM_SECRET_REGISTRY_PASSWORD: "rotated-password" });
    expectNoSecrets(rotated);
    expect(rotated.stdout).not.toContain("rotated-password");
    expect(writes()).toEqual(["update_image"]);
    expect(record("chrome")!.docker_token).toBe("rotated-password");
  });
});

describe("Kasm failures are reported clearly and the pulls go on", () => {
  async function pulledDespite(
    setup: (f: Fleet) => Promise<Record<string, string>>,
    message: RegExp,
  ): Promise<CliResult> {
    const f = await fleet();
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))]) }, "1");
    const extraEnv = await setup(f);
    const result = await apply(f, extraEnv);
    expect(result.code).toBe(1);
    expectNoSecrets(result);
    const out = lines(result.stdout);
    expect(out.filter((l) => l.event === "done" && l.type === "pull").map((l) => l.status)).toEqual([
      "ok",
      "ok",
    ]);
    expect(`${result.stdout}${result.stderr}`).toMatch(message);
    expect(out.at(-1)).toMatchObject({ converged: false });
    return result;
  }

  it("401: an expired key or a missing permission", async () => {
    await pulledDespite(async () => {
      kit.kasm.expireKey(true);
      return {};
    }, /get_images: unauthorized \(HTTP 401\): the API key has expired or lacks a permission/);
    kit.kasm.expireKey(false);
  });

  it("403: a wrong key", async () => {
    await pulledDespite(
      async () => ({ KASM_SECRET_KASM_API_KEY: "wrong-key" }),
      /forbidden \(HTTP 403\): the API key or secret is wrong/,
    );
  });

  it("HTML 500 on every read", async () => {
    await pulledDespite(async () => {
      kit.kasm.addFault({ fn: "get_images", status: 500, count: 100 });
      return {};
    }, /get_images: Kasm failed with an unhandled error \(HTTP 500/);
    kit.kasm.clearFaults();
  });

  it("error_message: a delete refused while a session uses the image; the other changes are made", async () => {
    const f = await fleet();
    const other = { ...chrome(f.image("v1")), name: "other" };
    await f.repo.commit(
      { "manifests/a.yaml": yaml([chrome(f.image("v1")), other], { removed: "delete" }) },
      "1",
    );
    expect((await apply(f)).code).toBe(0);
    const id = record("chrome")!.image_id;
    kit.kasm.setSessions(id, 1);
    await f.repo.commit(
      { "manifests/a.yaml": yaml([{ ...other, friendlyName: "Other 2" }], { removed: "delete" }) },
      "2",
    );
    const result = await apply(f);
    expect(result.code).toBe(1);
    const failed = lines(result.stdout).find((l) => l.event === "done" && l.type === "kasm-delete")!;
    expect(failed.status).toBe("failed");
    expect((failed.error as { message: string }).message).toMatch(
      /delete_image was refused: Image \(chrome\): ID \(\w+\) currently has \(1\) associated Kasm\(s\) and cannot be deleted/,
    );
    expect(record("other")!.friendly_name).toBe("Other 2");
    expect(records().some((r) => r.image_id === id)).toBe(true);
  });
});

describe("the daemon keeps the records in line", () => {
  it("puts drift back on its own, notifies it, and shows the records in /status and /metrics", async () => {
    const f = await fleet();
    const receiver = await startReceiver();
    const hook =
      "apiVersion: kasm-gitops/v1\nkind: Notification\nmetadata: {name: hook}\nspec:\n  type: webhook\n  url: {env: KASM_SECRET_HOOK}\n  events: [drift]\n";
    await f.repo.commit(
      { "manifests/a.yaml": yaml([chrome(f.image("v1"))]), "manifests/hook.yaml": hook },
      "1",
    );
    const [, ...args] = repoArgs("run", f.repo.bare, f.state, ["--interval", "1s"]);
    const running = await startDaemon(args, { ...env(), KASM_SECRET_HOOK: `${receiver.url}/hook` });
    try {
      type Status = { kasm?: { managed: number; drift: number; reachable: boolean; pending: number } };
      const status = async () => (await running.status()) as Status;
      await waitUntil(
        "record created",
        async () => (await status()).kasm?.managed === 1,
        30_000,
        running.logs,
      );
      const id = record("chrome")!.image_id;
      const ui = createKasmClient({
        url: kit.kasm.url,
        apiKey: kit.kasm.apiKey,
        apiKeySecret: kit.kasm.apiKeySecret,
      });
      await ui.updateImage(id, { friendlyName: "renamed by hand" });
      await waitUntil(
        "drift put back",
        async () => record("chrome")!.friendly_name === "chrome",
        30_000,
        running.logs,
      );
      await waitUntil("drift notified", async () => receiver.delivered("/hook").length > 0, 20_000);
      expect(receiver.delivered("/hook")[0]!.body).toMatchObject({
        event: "drift",
        details: { workspaces: ["chrome"] },
      });
      const metrics = (await running.get("/metrics")).body;
      expect(metrics).toMatch(/kasm_gitops_kasm_actions_total\{type="kasm-update",status="ok"\} [1-9]/);
      expect(metrics).toMatch(/kasm_gitops_kasm_managed_records 1/);
      expect((await status()).kasm).toMatchObject({ reachable: true, managed: 1 });
      for (const secret of [kit.kasm.apiKey, kit.kasm.apiKeySecret])
        expect(running.logs()).not.toContain(secret);
    } finally {
      await running.stop();
      await receiver.close();
    }
  });
});

describe("rings are where Kasm launches", () => {
  const mapped = (ring2: string) => ({
    a1: { labels: { ring: "testing" }, kasm: { server: "host-a1", zone: "testing" } },
    a2: { labels: { ring: ring2 }, kasm: { server: "host-a2", zone: "testing" } },
  });
  const seedAgents = () =>
    kit.kasm.seed({
      zones: [{ zone_name: "testing" }],
      servers: [
        { hostname: "host-a1", zone_name: "testing" },
        { hostname: "host-a2", zone_name: "testing" },
      ],
    });

  it("a workspace on one zone's agents is restricted to it, and switched only once both Kasm agents report the image", async () => {
    // The agents report what the lab's engines hold, as Kasm's own agents report their Docker hosts.
    const [e1, e2] = lab.engines;
    kit.kasm.seed({
      zones: [{ zone_name: "testing" }],
      servers: [
        { hostname: "host-a1", zone_name: "testing", engine: e1!.host },
        { hostname: "host-a2", zone_name: "testing", engine: e2!.host },
      ],
    });
    const f = await fleet();
    await f.repo.commit(
      { "manifests/a.yaml": yaml([chrome(f.image("v1"))], { agents: mapped("testing") }) },
      "zone",
    );
    const planned = await plan(f);
    expect(planned.actions.find((a) => a.type === "kasm-create")).toMatchObject({
      awaitReports: { servers: [{ hostname: "host-a1" }, { hostname: "host-a2" }], image: f.image("v1") },
    });
    // host-a2's agent stops checking in: its engine pulls the image, but Kasm never hears of it there.
    kit.kasm.freezeReports("host-a2");
    try {
      const held = await apply(f, { KASM_GITOPS_KASM_REPORT_WAIT: "2s" });
      expect(held.code).toBe(1);
      const create = lines(held.stdout).find((l) => l.event === "done" && l.type === "kasm-create")!;
      expect(create.status).toBe("failed");
      expect((create.error as { message: string }).message).toMatch(
        /^Kasm's agents did not report \S+:v1 within 2s: host-a2 \(lacks-tag\)\. Kasm launches only where an agent reports the image/,
      );
      expect(record("chrome")).toBeUndefined();
      expect(await localDigests(e2!.host, f.image("v1"))).toHaveLength(1);
    } finally {
      kit.kasm.freezeReports("host-a2", false);
    }
    // It checks in again: the next apply finds the pulls done and makes the switch once both report it.
    expect((await apply(f)).code).toBe(0);
    const zone = kit.kasm.state().zones.find((z) => z.zone_name === "testing")!;
    expect(record("chrome")).toMatchObject({
      restrict_to_zone: true,
      zone_id: zone.zone_id,
      restrict_to_server: false,
    });
    const after = await plan(f);
    expect(after.actions).toEqual([]);
    expect(after.kasm?.agents).toMatchObject([
      { agent: "a1", server: "host-a1", zone: "testing", seen: [f.image("v1")], unseen: [] },
      { agent: "a2", server: "host-a2", zone: "testing", seen: [f.image("v1")], unseen: [] },
    ]);
    kit.kasm.clearCalls();
    expect((await apply(f)).code).toBe(0);
    expect(writes()).toEqual([]);
  });

  it("the switch waits for an agent Kasm may launch on outside the selector, and holds for a Kasm agent Git does not name", async () => {
    seedAgents();
    const f = await fleet();
    const ws = chrome(f.image("v1"), { kasm: { placement: "any" } });
    await f.repo.commit({ "manifests/a.yaml": yaml([ws], { agents: mapped("production") }) }, "any");
    const held = await plan(f);
    expect(held.blocked).toMatchObject([
      { type: "kasm-create", workspace: "chrome", reason: "image-not-on-agents", agents: ["a2"] },
    ]);
    expect(held.warnings.map((w) => w.code)).not.toContain("kasm-placement");
    kit.kasm.seed({ servers: [{ hostname: "host-x", zone_name: "default" }] });
    const stranger = await plan(f);
    expect(stranger.blocked).toMatchObject([
      { type: "kasm-create", reason: "kasm-agent-not-in-git", agents: ["host-x"] },
    ]);
    expect(stranger.blocked[0]!.message).toContain("no Agent in Git names");
    const result = await apply(f);
    expect(result.code).toBe(1);
    expect(records()).toEqual([]);
  });
});
