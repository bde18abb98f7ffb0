import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { handleCall, initialState, type KasmAuth, type KasmDeps, type KasmState } from "./kasm-records.js";
import { type DigestsOf, placeSession, sessionRan, sessionStopped } from "./kasm-sessions.js";

/** Kasm 1.15's session facts, shared with the client's tests. */
const S = (
  JSON.parse(readFileSync(new URL("../../test/fixtures/kasm-1.15.json", import.meta.url), "utf8")) as {
    sessions: {
      permissions: string[];
      requestAnswerKeys: string[];
      requestStatus: string;
      notRunning: string;
      runningKeys: string[];
      kasmKeys: string[];
      noResources: string;
      limitExceeded: string;
      notAuthorized: string;
      destroyRefused: string;
    };
  }
).sessions;

const NAME = "reg.example/chrome:1";
const HASH = `sha256:${"a".repeat(64)}`;
const auth: KasmAuth = { apiKey: "key", apiKeySecret: "secret", expired: false };
let n = 0;
const deps: KasmDeps = { newId: () => (++n).toString(16).padStart(32, "0"), now: () => new Date(0) };
const holds = { x: { tags: [NAME] } };

/** Two zones, agent a1 (zone z1) and a2 (zone z2) both holding the image, one user, one image. */
function world(image: Record<string, unknown> = {}, servers: Record<string, unknown>[] = []): KasmState {
  return initialState(deps, {
    zones: [
      { zone_id: "z1", zone_name: "one" },
      { zone_id: "z2", zone_name: "two" },
    ],
    users: [{ username: "smoke", user_id: "u1" }],
    images: [{ image_id: "i1", name: NAME, cores: 1, memory: 1_000, ...image }],
    servers: (servers.length > 0
      ? servers
      : [
          { hostname: "a1", server_id: "s1", zone_name: "one", docker_images: holds },
          { hostname: "a2", server_id: "s2", zone_name: "two", docker_images: holds },
        ]) as never,
  });
}
const image = (state: KasmState) => state.images[0]!;
const call = (state: KasmState, fn: string, body: Record<string, unknown>, a = auth) =>
  handleCall(state, a, fn, { api_key: "key", api_key_secret: "secret", ...body }, deps);
const bodyOf = (r: ReturnType<typeof call>) => (r.reply.type === "json" ? r.reply.body : {});

describe("placement: a running, enabled agent that may launch the record and holds the image", () => {
  const only =
    (serverId: string, digests: string[]): DigestsOf =>
    (id) =>
      id === serverId ? digests : undefined;
  it.each<[string, Record<string, unknown>, Record<string, unknown>[], DigestsOf | undefined, string]>([
    ["the first agent holding it", {}, [], undefined, "s1"],
    ["the record's server", { restrict_to_server: true, server_id: "s2" }, [], undefined, "s2"],
    ["the record's zone", { restrict_to_zone: true, zone_id: "z2" }, [], undefined, "s2"],
    [
      "not an agent without the image",
      {},
      [
        { hostname: "a1", server_id: "s1", docker_images: { x: { tags: ["other:1"] } } },
        { hostname: "a2", server_id: "s2", docker_images: holds },
      ],
      undefined,
      "s2",
    ],
    [
      "not a disabled or stopped agent",
      {},
      [
        { hostname: "a1", server_id: "s1", enabled: false, docker_images: holds },
        { hostname: "a2", server_id: "s2", operational_status: "stopped", docker_images: holds },
        { hostname: "a3", server_id: "s3", docker_images: holds },
      ],
      undefined,
      "s3",
    ],
    ["not one without enough cores", { cores: 8 }, [], undefined, "none"],
    [
      "with a hash, the agent whose engine holds that digest",
      { hash: HASH },
      [],
      only("s2", [`r@${HASH}`]),
      "s2",
    ],
    [
      "with a hash no agent holds: none (issue 24's pinned record refused)",
      { hash: HASH },
      [],
      only("s1", ["r@sha256:b"]),
      "none",
    ],
    ["with a hash and no digests known: none (fail safe)", { hash: HASH }, [], undefined, "none"],
    [
      "a server of another type: none",
      {},
      [{ hostname: "rdp", server_type: "desktop", docker_images: holds }],
      undefined,
      "none",
    ],
  ])("%s", (_, fields, servers, digests, expected) => {
    const state = world(fields, servers);
    const placed = placeSession(state, image(state), digests);
    expect("serverId" in placed ? placed.serverId : "none").toBe(expected);
    if (!("serverId" in placed)) expect(placed.error).toContain(S.noResources);
  });
});

describe("a session's life", () => {
  it("starts as `starting`, shows only the starting text, then runs, then is destroyed by its owner only", () => {
    let state = world();
    const requested = call(state, "request_kasm", { image_id: "i1", user_id: "u1" });
    expect(Object.keys(bodyOf(requested)).sort()).toEqual([...S.requestAnswerKeys].sort());
    expect(bodyOf(requested).status).toBe(S.requestStatus);
    state = requested.state;
    const kasmId = bodyOf(requested).kasm_id as string;
    const status = () => bodyOf(call(state, "get_kasm_status", { kasm_id: kasmId, user_id: "u1" }));
    expect(status()).toEqual({ error_message: S.notRunning.replace("<status>", "starting") });
    sessionRan(state, kasmId, "c1", new Date(0));
    expect(Object.keys(status()).sort()).toEqual([...S.runningKeys].sort());
    const kasm = status().kasm as Record<string, unknown>;
    for (const key of S.kasmKeys) expect(kasm).toHaveProperty(key);
    expect(kasm).toMatchObject({ server_id: "s1", container_id: "c1", operational_status: "running" });
    expect(bodyOf(call(state, "get_kasms", {})).kasms).toHaveLength(1);
    const refused = call(state, "destroy_kasm", { kasm_id: kasmId, user_id: "someone" });
    expect(bodyOf(refused)).toEqual({ error_message: S.destroyRefused });
    expect(refused.state.kasms).toHaveLength(1);
    const destroyed = call(state, "destroy_kasm", { kasm_id: kasmId, user_id: "u1" });
    expect(bodyOf(destroyed)).toEqual({});
    expect(destroyed.state.kasms).toEqual([]);
  });

  it("a container that exits shows the session stopped, with Docker's account, until destroyed", () => {
    const requested = call(world(), "request_kasm", { image_id: "i1", user_id: "u1" });
    const kasmId = bodyOf(requested).kasm_id as string;
    sessionStopped(requested.state, kasmId, "exited (exit code 1)", "c9");
    const kasm = bodyOf(call(requested.state, "get_kasm_status", { kasm_id: kasmId, user_id: "u1" })).kasm;
    expect(kasm).toMatchObject({ operational_status: "stopped", container_id: "c9" });
    expect(kasm).not.toHaveProperty("stopped_reason");
  });

  it("delete_image is refused while a session of the image exists", () => {
    const requested = call(world(), "request_kasm", { image_id: "i1", user_id: "u1" });
    const refused = bodyOf(call(requested.state, "delete_image", { target_image: { image_id: "i1" } }));
    expect(refused.error_message).toMatch(/currently has \(1\) associated Kasm/);
  });
});

describe("request_kasm refusals", () => {
  it.each<[string, (s: KasmState) => KasmState, Record<string, unknown>, string]>([
    ["an unknown user", (s) => s, { image_id: "i1", user_id: "nobody" }, "Invalid Request"],
    ["an unknown image", (s) => s, { image_id: "nope", user_id: "u1" }, S.notAuthorized],
    ["no agent holds it", (s) => ({ ...s, servers: [] }), { image_id: "i1", user_id: "u1" }, S.noResources],
    [
      "the user's session limit",
      (s) => {
        for (let i = 0; i < 2; i++) s = call(s, "request_kasm", { image_id: "i1", user_id: "u1" }).state;
        return s;
      },
      { image_id: "i1", user_id: "u1" },
      `${S.limitExceeded}: (smoke)`,
    ],
  ])("%s", (_, prepare, body, message) => {
    const before = prepare(world());
    const answer = call(before, "request_kasm", body);
    expect(String(bodyOf(answer).error_message)).toContain(message);
    expect(answer.state.kasms).toEqual(before.kasms);
  });
});

describe("the key's permissions", () => {
  it.each<[string, string[] | undefined, string, number]>([
    ["a full key", undefined, "request_kasm", 200],
    ["without USERS_AUTH_SESSION", ["USER", "USERS_VIEW", "SESSIONS_VIEW"], "request_kasm", 401],
    ["without USER", ["USERS_AUTH_SESSION", "USERS_VIEW"], "get_kasm_status", 401],
    ["without USERS_AUTH_SESSION, destroy", ["USER"], "destroy_kasm", 401],
    ["with both", S.permissions, "request_kasm", 200],
    ["without USERS_VIEW, get_user", S.permissions, "get_user", 401],
  ])("%s: %s → %i", (_, permissions, fn, status) => {
    const key: KasmAuth = permissions ? { ...auth, permissions: permissions as never } : auth;
    const answer = call(world(), fn, { image_id: "i1", user_id: "u1", kasm_id: "k", target_user: {} }, key);
    expect(answer.reply.status).toBe(status);
    if (status === 401) expect(bodyOf(answer)).toEqual({ error_message: "Unauthorized" });
  });
});

describe("get_user", () => {
  it.each<[Record<string, unknown>, string | undefined]>([
    [{ username: "smoke" }, "u1"],
    [{ user_id: "u1" }, "u1"],
    [{ username: "nobody" }, undefined],
  ])("%j → %s", (target, userId) => {
    const body = bodyOf(call(world(), "get_user", { target_user: target }));
    expect((body.user as { user_id?: string } | undefined)?.user_id).toBe(userId);
    if (!userId) expect(body.error_message).toBeTruthy();
  });
});
