/**
 * Kasm 1.15 as it really is, end to end: the strict stand-in (only Kasm's write keys, values it ignores,
 * All Users on create only with its setting), lost answers and a killed daemon, each repaired on the next
 * cycle; configuration and hang failures said as what they are.
 */
import { describe, expect, it } from "vitest";
import { inRepo, lines, repoArgs } from "./helpers/cli.js";
import { startDaemon, waitUntil } from "./helpers/daemon.js";
import {
  apply,
  chrome,
  env,
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

useKasmSync();

/** The records this test's workspace manages: exactly one, whatever was lost on the way. */
const managed = (workspace: string) =>
  records().filter((r) => (r.notes ?? "").includes(`managed-by: kasm-gitops/${workspace}`));

describe("a new record ends in its own groups, whatever Kasm's default-group setting", () => {
  it.each([true, false])(
    "add_images_to_default_group %s: in qa only, and the next cycle writes nothing",
    async (on) => {
      kit.kasm.setAddImagesToDefaultGroup(on);
      try {
        const f = await fleet();
        await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))]) }, "chrome");
        expect((await apply(f)).code).toBe(0);
        expect(groupsOf(record("chrome")!.image_id)).toEqual(["qa"]);
        kit.kasm.clearCalls();
        expect((await apply(f)).code).toBe(0);
        expect(writes()).toEqual([]);
      } finally {
        kit.kasm.setAddImagesToDefaultGroup(true);
      }
    },
  );
});

describe("faults between Kasm doing the work and kasm-gitops knowing it are repaired next cycle", () => {
  it("a lost create_image answer: one record, taken out of All Users and put in its groups next cycle", async () => {
    const f = await fleet();
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))]) }, "chrome");
    kit.kasm.addFault({ fn: "create_image", lose: true });
    const first = await apply(f);
    expect(first.code).toBe(1);
    expect(lines(first.stdout).find((l) => l.event === "done" && l.type === "kasm-create")).toMatchObject({
      status: "failed",
    });
    const made = managed("chrome");
    expect(made).toHaveLength(1);
    // Kasm put it in All Users on its own; the group fix never ran.
    expect(groupsOf(made[0]!.image_id)).toEqual(["All Users"]);
    const planned = await plan(f);
    expect(planned.actions.filter((a) => a.type === "kasm-create")).toEqual([]);
    expect(planned.actions.map((a) => `${a.type} ${"group" in a ? a.group : ""}`)).toEqual([
      "kasm-group-add qa",
      "kasm-group-remove All Users",
    ]);
    expect((await apply(f)).code).toBe(0);
    expect(managed("chrome")).toHaveLength(1);
    expect(groupsOf(made[0]!.image_id)).toEqual(["qa"]);
    kit.kasm.clearCalls();
    expect((await apply(f)).code).toBe(0);
    expect(writes()).toEqual([]);
  });
});

describe("values Kasm ignores on update are never written", () => {
  it("a description typed in Kasm's UI, none in Git: 0 writes, a warning naming the field, converged", async () => {
    const f = await fleet();
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))]) }, "chrome");
    expect((await apply(f)).code).toBe(0);
    const id = record("chrome")!.image_id;
    kit.kasm.seed({ images: [{ ...record("chrome")!, description: "typed in the UI" }] });
    kit.kasm.clearCalls();
    const planned = await plan(f);
    expect(planned.actions).toEqual([]);
    expect(planned.warnings).toMatchObject([{ code: "kasm-field-kept", workspace: "chrome" }]);
    expect(planned.warnings[0]!.message).toContain("description");
    const applied = await apply(f);
    expect(applied.code).toBe(0);
    expect(lines(applied.stdout).at(-1)).toMatchObject({ converged: true });
    expect(writes()).toEqual([]);
    expect(record("chrome")).toMatchObject({ image_id: id, description: "typed in the UI" });
    const text = await inRepo("plan", f.repo.bare, f.state, ["--detailed-exitcode"], { env: env() });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("No changes.");
  });

  it("cores 0 in Kasm and no cores in Git: the image switch still succeeds, and cores stay as Kasm has them", async () => {
    const f = await fleet();
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))]) }, "v1");
    expect((await apply(f)).code).toBe(0);
    kit.kasm.seed({ images: [{ ...record("chrome")!, cores: 0 }] });
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v2"))]) }, "v2");
    const switched = await apply(f);
    expect(switched.code).toBe(0);
    expect(record("chrome")).toMatchObject({ name: f.image("v2"), cores: 0 });
    kit.kasm.clearCalls();
    expect((await apply(f)).code).toBe(0);
    expect(writes()).toEqual([]);
  });
});

describe("held changes, configuration and a hung Kasm are said as what they are", () => {
  it("plan --detailed-exitcode exits 2 for a change held on a group Kasm lacks", async () => {
    const f = await fleet();
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))]) }, "v1");
    expect((await apply(f)).code).toBe(0);
    await f.repo.commit(
      { "manifests/a.yaml": yaml([chrome(f.image("v1"), { groups: ["qa", "no-such-group"] })]) },
      "group",
    );
    const planned = await inRepo("plan", f.repo.bare, f.state, ["--detailed-exitcode"], { env: env() });
    expect(planned.code).toBe(2);
    expect(planned.stdout).toContain("no-such-group");
    expect((await apply(f)).code).toBe(1);
  });

  it("an unset KasmServer secret is kasm-config naming the variable: plan and apply exit 1, nothing asked of Kasm", async () => {
    const f = await fleet();
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))]) }, "v1");
    const { KASM_SECRET_KASM_API_KEY_SECRET: _unset, ...partial } = env();
    const planned = await inRepo("plan", f.repo.bare, f.state, ["--json"], { env: partial });
    expect(planned.code).toBe(1);
    expect(planned.stderr).toContain("KASM_SECRET_KASM_API_KEY_SECRET");
    expect(planned.stderr).not.toMatch(/unreachable/);
    const plan = JSON.parse(planned.stdout) as { unknown: { reason: string }[] };
    expect(plan.unknown.map((u) => u.reason)).toEqual(["kasm-config"]);
    const applied = await inRepo("apply", f.repo.bare, f.state, ["--json"], { env: partial });
    expect(applied.code).toBe(1);
    expect(kit.kasm.calls()).toEqual([]);
  });

  it("a hung Kasm costs one timeout per cycle: its first calls time out and nothing more is asked", async () => {
    const f = await fleet();
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))], { timeout: "1s" }) }, "v1");
    kit.kasm.addFault({ delayMs: 2_500, count: 1000 });
    const result = await apply(f);
    expect(result.code).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toMatch(/no answer within 1000 ms/);
    // The stand-in logs a call once its delay is over: wait for the ones that were sent, then count them.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(
      kit.kasm
        .calls()
        .map((c) => c.fn)
        .sort(),
    ).toEqual(["get_groups", "get_images"]);
    kit.kasm.clearFaults();
  });
});

// Last in the file: the hung group writes it leaves behind answer (and are logged) after it ends.
describe("a daemon killed mid-cycle", () => {
  it("a daemon killed between the create and the group fix: the next cycle takes the record out of All Users", async () => {
    const f = await fleet();
    await f.repo.commit({ "manifests/a.yaml": yaml([chrome(f.image("v1"))]) }, "chrome");
    // The group writes hang (and then fail, doing nothing), so the kill lands after create_image and
    // before any group fix.
    for (const fn of ["add_images_group", "remove_images_group"])
      kit.kasm.addFault({ fn, delayMs: 20_000, status: 503, count: 1000 });
    const [, ...args] = repoArgs("run", f.repo.bare, f.state, ["--interval", "1s"]);
    const daemon = await startDaemon(args, env());
    try {
      await waitUntil("the record created", async () => managed("chrome").length === 1, 60_000);
    } finally {
      expect(await daemon.stop("SIGKILL")).toBe(null);
    }
    kit.kasm.clearFaults();
    const id = managed("chrome")[0]!.image_id;
    expect(groupsOf(id)).toEqual(["All Users"]);
    expect((await apply(f)).code).toBe(0);
    expect(managed("chrome")).toHaveLength(1);
    expect(groupsOf(id)).toEqual(["qa"]);
  });
});
