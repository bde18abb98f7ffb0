import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MASKED_TOKEN, READ_KEYS, WRITE_KEYS } from "./kasm-image-fields.js";
import {
  ALL_USERS,
  applySeed,
  handleCall,
  hexId,
  initialState,
  type KasmAuth,
  type KasmDeps,
  type KasmHeaders,
  type KasmReply,
  type KasmState,
  upgradeState,
} from "./kasm-records.js";

/** The facts of Kasm 1.15 the stand-in must agree with, shared with the client's tests. */
const FACTS = JSON.parse(
  readFileSync(new URL("../../test/fixtures/kasm-1.15.json", import.meta.url), "utf8"),
) as {
  auth: Record<"oneAlone" | "badKey" | "expired" | "unauthorized", { status: number; error_message: string }>;
  unhandled: { status: number; body: string };
  image: {
    readKeys: string[];
    derivedReadKeys: string[];
    readObjectKeys: string[];
    readListKeys: string[];
    writeKeys: string[];
    rejectedWriteKeys: string[];
    jsonStringKeys: string[];
    badJson: string;
    emptyJson: { sent: string; stored: unknown };
    newlineJoinedKeys: string[];
    numberKeys: string[];
    ignoredValues: Record<string, unknown[]>;
    neverStored: string[];
    resetWhenAbsent: Record<string, unknown>;
    maskedToken: string;
    deleteRefused: string;
    defaultGroup: string;
  };
  groups: { groupImageKeys: string[]; removeUnknown: string; addUnknownStatus: number };
  servers: { keys: string[]; agentType: string; zoneKeys: string[] };
};
const F = FACTS.image;

const auth: KasmAuth = { apiKey: "key", apiKeySecret: "secret", expired: false };
const keys = { api_key: "key", api_key_secret: "secret" };
const ID = "a".repeat(32);

function deps(): KasmDeps {
  let n = 0;
  return { newId: () => (++n).toString(16).padStart(32, "0"), now: () => new Date("2026-01-02T03:04:05Z") };
}

/** A state with one seeded image (ID) in All Users and a group "qa". */
function world(addToDefault = true): KasmState {
  return initialState(
    deps(),
    {
      groups: [{ name: "qa" }],
      images: [{ image_id: ID, name: "kasmweb/chrome:1.0", friendly_name: "Chrome", docker_token: "stored" }],
      groupImages: [{ image_id: ID, group_name: ALL_USERS }],
    },
    { add_images_to_default_group: addToDefault },
  );
}

let counter = 0;
function call(state: KasmState, fn: string, body: Record<string, unknown>, a = auth, headers?: KasmHeaders) {
  // Ids unique across calls, as Kasm's uuid4 are.
  const d: KasmDeps = { newId: () => (++counter).toString(16).padStart(32, "f"), now: () => new Date() };
  return handleCall(state, a, fn, { ...keys, ...body }, d, headers);
}
/** update_image of ID with these fields; the state after it (the test fails on any error). */
function update(state: KasmState, fields: Record<string, unknown>): KasmState {
  const { state: next, reply } = call(state, "update_image", { target_image: { image_id: ID, ...fields } });
  expect(bodyOf(reply).error_message).toBeUndefined();
  return next;
}
const stored = (state: KasmState, key: string) =>
  (state.images.find((i) => i.image_id === ID) as Record<string, unknown>)[key];
const listed = (state: KasmState) =>
  (bodyOf(call(state, "get_images", {}).reply).images as Record<string, unknown>[]).find(
    (i) => i.image_id === ID,
  )!;

function bodyOf(reply: KasmReply): Record<string, unknown> {
  if (reply.type !== "json") throw new Error(`expected JSON, got HTML ${reply.status}`);
  return reply.body;
}
const fill = (template: string, values: Record<string, string | number>) =>
  template.replace(/<(\w+)>/g, (_, name: string) => String(values[name]));

/** A value each write key takes, so a test can set it and see it stored. */
function sample(key: string): unknown {
  if (F.jsonStringKeys.includes(key)) return JSON.stringify({ set: key });
  if (F.newlineJoinedKeys.includes(key)) return "Browser\nDev";
  if (["cores", "memory", "x_res", "y_res", "gpu_count", "uncompressed_size_mb"].includes(key)) return 3;
  if (key === "session_time_limit") return 3600;
  if (key === "enabled") return false;
  if (/^(hidden|require_gpu|restrict_to_|filter_policy_force|allow_network)/.test(key)) return true;
  if (key === "restrict_network_names") return ["net-a"];
  return `set-${key}`;
}

describe("the stand-in's key lists are the fixture's", () => {
  it("reads every read key but server/server_pool, writes exactly the write keys", () => {
    expect([...READ_KEYS, ...F.readObjectKeys]).toEqual(F.readKeys);
    expect([...WRITE_KEYS]).toEqual(F.writeKeys);
    expect(MASKED_TOKEN).toBe(F.maskedToken);
  });
});

describe("authentication", () => {
  const A = FACTS.auth;
  const none = {};
  it.each<[string, Record<string, unknown>, KasmHeaders, KasmAuth, string, number, string | undefined]>([
    ["keys in the body", keys, none, auth, "get_images", 200, undefined],
    [
      "keys in the headers",
      {},
      { "api-key": "key", "api-key-secret": "secret" },
      auth,
      "get_images",
      200,
      undefined,
    ],
    [
      "the key alone",
      { api_key: "key" },
      none,
      auth,
      "get_images",
      A.oneAlone.status,
      A.oneAlone.error_message,
    ],
    [
      "the secret alone",
      { api_key_secret: "secret" },
      none,
      auth,
      "get_images",
      A.oneAlone.status,
      A.oneAlone.error_message,
    ],
    [
      "one header alone",
      {},
      { "api-key": "key" },
      auth,
      "get_images",
      A.oneAlone.status,
      A.oneAlone.error_message,
    ],
    [
      "wrong secret",
      { ...keys, api_key_secret: "x" },
      none,
      auth,
      "get_images",
      A.badKey.status,
      A.badKey.error_message,
    ],
    [
      "wrong header key",
      {},
      { "api-key": "x", "api-key-secret": "secret" },
      auth,
      "get_images",
      A.badKey.status,
      A.badKey.error_message,
    ],
    [
      "expired key",
      keys,
      none,
      { ...auth, expired: true },
      "get_images",
      A.expired.status,
      A.expired.error_message,
    ],
    ["read-only key, a read", keys, none, { ...auth, readOnly: true }, "get_groups", 200, undefined],
    [
      "read-only key, a write",
      keys,
      none,
      { ...auth, readOnly: true },
      "create_image",
      A.unauthorized.status,
      A.unauthorized.error_message,
    ],
    [
      "read-only key, a group write",
      keys,
      none,
      { ...auth, readOnly: true },
      "add_images_group",
      A.unauthorized.status,
      A.unauthorized.error_message,
    ],
  ])("%s", (_, body, headers, a, fn, status, message) => {
    const { reply, state } = handleCall(world(), a, fn, { ...body, target_image: {} }, deps(), headers);
    expect(reply.status).toBe(status);
    expect(bodyOf(reply).error_message).toBe(message);
    if (message) expect(state.images).toHaveLength(1);
  });
});

describe("get_images", () => {
  it("shows each record with exactly the fixture's read keys, derived ones computed", () => {
    const state = update(world(), {
      persistent_profile_path: "/profiles/{username}",
      categories: "Web\nDev",
      docker_token: F.maskedToken,
    });
    const image = listed(state);
    expect(Object.keys(image)).toEqual(F.readKeys);
    for (const key of F.readObjectKeys) expect(image[key]).toEqual({});
    for (const key of F.readListKeys) expect(Array.isArray(image[key])).toBe(true);
    for (const key of F.jsonStringKeys) expect(image[key]).toEqual({});
    expect(image).toMatchObject({
      docker_token: F.maskedToken,
      persistent_profile_config: { "/profiles/{username}": { bind: "/home/kasm-user", mode: "rw" } },
      zone_name: null,
      filter_policy_name: null,
      categories: ["Web", "Dev"],
      default_category: "Web",
    });
    const zone = state.zones[0]!;
    expect(listed(update(state, { zone_id: zone.zone_id })).zone_name).toBe(zone.zone_name);
  });

  it("gives a seeded record Kasm's defaults for a new image, disabled ones listed too", () => {
    const state = initialState(deps(), { images: [{ image_id: ID, name: "x", enabled: false }] });
    const image = listed(state);
    expect(Object.keys(image)).toEqual(F.readKeys);
    expect(image).toMatchObject({ enabled: false, cores: 1, memory: 768_000_000, x_res: 800, y_res: 600 });
    expect(image).toMatchObject({ docker_token: null, persistent_profile_config: {}, default_category: "" });
  });
});

describe("create_image and update_image keys", () => {
  it.each(F.writeKeys)("write key %s is accepted", (key) => {
    const value = key === "image_id" ? ID : sample(key);
    const { reply } = call(world(), "update_image", { target_image: { image_id: ID, [key]: value } });
    expect(reply.status).toBe(200);
    expect(bodyOf(reply).error_message).toBeUndefined();
  });

  it.each(
    F.rejectedWriteKeys.flatMap((key) => [
      ["create_image", key],
      ["update_image", key],
    ]),
  )("%s with %s → HTTP 500, Kasm's unhandled body, nothing written", (fn, key) => {
    const state = world();
    const result = call(state, fn, {
      target_image: { image_id: ID, name: "n", [key]: listed(state)[key] ?? 1 },
    });
    expect(result.reply).toEqual({
      status: FACTS.unhandled.status,
      type: "html",
      body: FACTS.unhandled.body,
    });
    expect(result.state).toBe(state);
  });

  it("answers create and update with {image} in read form (server/server_pool come with get_images)", () => {
    const created = bodyOf(call(world(), "create_image", { target_image: { name: "n" } }).reply).image;
    const updated = bodyOf(call(world(), "update_image", { target_image: { image_id: ID } }).reply).image;
    for (const image of [created, updated] as Record<string, unknown>[]) {
      expect(Object.keys(image)).toEqual(F.readKeys.filter((k) => !F.readObjectKeys.includes(k)));
    }
  });
});

describe("write rules", () => {
  it.each(F.jsonStringKeys)("%s: a JSON string is stored as its value, empty as {}, else refused", (key) => {
    expect(listed(update(world(), { [key]: '{"a":1}' }))[key]).toEqual({ a: 1 });
    expect(stored(update(update(world(), { [key]: '{"a":1}' }), { [key]: F.emptyJson.sent }), key)).toEqual(
      F.emptyJson.stored,
    );
    for (const bad of [{ a: 1 }, "{oops", null, 3]) {
      const { reply, state } = call(world(), "update_image", { target_image: { image_id: ID, [key]: bad } });
      expect([reply.status, bodyOf(reply).error_message]).toEqual([200, fill(F.badJson, { field: key })]);
      expect(state.images).toEqual(world().images);
    }
  });

  it.each(F.newlineJoinedKeys)("%s: a newline-joined string is stored as a list; a list is a 500", (key) => {
    expect(listed(update(world(), { [key]: "A\nB\n" }))[key]).toEqual(["A", "B"]);
    const { reply } = call(world(), "update_image", { target_image: { image_id: ID, [key]: ["A"] } });
    expect([reply.status, reply.body]).toEqual([FACTS.unhandled.status, FACTS.unhandled.body]);
  });

  it.each(
    F.numberKeys.flatMap((key) => ["2768M", "two", [2], { n: 2 }].map((v) => [key, v] as [string, unknown])),
  )("%s: %j is not a number → 500", (key, value) => {
    const { reply } = call(world(), "update_image", { target_image: { image_id: ID, [key]: value } });
    expect([reply.status, reply.body]).toEqual([FACTS.unhandled.status, FACTS.unhandled.body]);
  });

  it.each(
    Object.entries(F.ignoredValues).flatMap(([key, values]) =>
      values.map((v) => [key, v] as [string, unknown]),
    ),
  )("%s: %j is ignored, the stored value kept", (key, value) => {
    const before = update(world(), { [key]: sample(key) });
    expect(stored(update(before, { [key]: value }), key)).toEqual(stored(before, key));
  });

  it.each(Object.entries(F.resetWhenAbsent))("%s absent from an update → %j", (key, reset) => {
    const before = update(world(), { [key]: sample(key) });
    expect(stored(before, key)).not.toEqual(reset);
    expect(stored(update(before, {}), key)).toEqual(reset);
  });

  it.each(
    F.writeKeys.filter((k) => k !== "image_id" && !(k in F.resetWhenAbsent) && !F.neverStored.includes(k)),
  )("%s absent from an update is kept", (key) => {
    const before = update(world(), { [key]: sample(key) });
    expect(stored(before, key)).not.toEqual(stored(world(), key));
    expect(stored(update(before, {}), key)).toEqual(stored(before, key));
  });

  it.each(F.neverStored)("%s is accepted and never stored", (key) => {
    expect(update(world(), { [key]: sample(key) }).images).toEqual(update(world(), {}).images);
  });

  it.each<[string, unknown, string | null, unknown]>([
    ["the mask keeps the stored token", F.maskedToken, "stored", F.maskedToken],
    ["another value replaces it", "fresh", "fresh", F.maskedToken],
    ["an empty one clears it", "", "", ""],
    ["leaving it out resets it", undefined, null, null],
  ])("docker_token: %s", (_, sent, kept, read) => {
    const state = update(world(), sent === undefined ? {} : { docker_token: sent });
    expect(stored(state, "docker_token")).toBe(kept);
    expect(listed(state).docker_token).toBe(read);
  });
});

describe("create_image", () => {
  it.each([
    [true, [ALL_USERS]],
    [false, []],
  ])("with add_images_to_default_group %s, the new image joins %j", (on, groups) => {
    const state = world(on);
    const { state: next, reply } = call(state, "create_image", { target_image: { name: "kasmweb/x:1" } });
    const image = bodyOf(reply).image as Record<string, unknown>;
    expect(image.image_id).toMatch(/^[0-9a-f]{32}$/);
    const rows = next.groupImages.filter((r) => r.image_id === image.image_id);
    expect(rows.map((r) => next.groups.find((g) => g.group_id === r.group_id)!.name)).toEqual(groups);
    expect(F.defaultGroup).toBe(ALL_USERS);
  });

  it("with an image_id updates that image: no new record, no group row", () => {
    const state = world(true);
    const { state: next } = call(state, "create_image", { target_image: { image_id: ID, description: "d" } });
    expect(next.images).toHaveLength(1);
    expect(stored(next, "description")).toBe("d");
    expect(next.groupImages).toEqual(state.groupImages);
  });

  it("an unknown image_id is an unhandled 500 (create and update)", () => {
    for (const fn of ["create_image", "update_image"]) {
      const { reply } = call(world(), fn, { target_image: { image_id: "f".repeat(32), name: "n" } });
      expect([reply.status, reply.body]).toEqual([FACTS.unhandled.status, FACTS.unhandled.body]);
    }
  });
});

describe("groups", () => {
  const G = FACTS.groups;
  const allUsers = (s: KasmState) => s.groups.find((g) => g.name === ALL_USERS)!.group_id;
  const pair = (s: KasmState, image = ID, group = allUsers(s)) => ({
    target_group: { group_id: group },
    target_image: { image_id: image },
  });

  it("add_images_group adds duplicates; remove_images_group deletes the first matching row only", () => {
    const one = world();
    const three = call(call(one, "add_images_group", pair(one)).state, "add_images_group", pair(one)).state;
    const rows = bodyOf(call(three, "get_images_group", { target_group: { group_id: allUsers(one) } }).reply)
      .images as Record<string, unknown>[];
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(Object.keys(row)).toEqual(G.groupImageKeys);
    expect(rows[0]).toMatchObject({
      image_name: "kasmweb/chrome:1.0",
      group_name: ALL_USERS,
      image_src: null,
    });
    const removed = call(three, "remove_images_group", pair(one)).state;
    expect(removed.groupImages.map((r) => r.group_image_id)).toEqual(
      three.groupImages.slice(1).map((r) => r.group_image_id),
    );
  });

  it.each([
    ["an unknown group", (s: KasmState) => pair(s, ID, "0".repeat(32))],
    ["an unknown image", (s: KasmState) => pair(s, "0".repeat(32))],
  ])("%s: add_images_group is a 500, remove_images_group Kasm's text", (_, body) => {
    const state = world();
    const added = call(state, "add_images_group", body(state));
    expect([added.reply.status, added.reply.body]).toEqual([G.addUnknownStatus, FACTS.unhandled.body]);
    expect(added.state).toBe(state);
    expect(bodyOf(call(state, "remove_images_group", body(state)).reply).error_message).toBe(G.removeUnknown);
  });
});

describe("delete_image", () => {
  it.each([0, 2])("with %i sessions", (sessions) => {
    const state = world();
    state.sessions[ID] = sessions;
    const { state: next, reply } = call(state, "delete_image", { target_image: { image_id: ID } });
    const refused = fill(F.deleteRefused, { friendly: "Chrome", id: ID, n: sessions });
    expect(bodyOf(reply).error_message).toBe(sessions ? refused : undefined);
    expect(next.images).toHaveLength(sessions ? 1 : 0);
    expect(next.groupImages).toHaveLength(sessions ? 1 : 0);
  });
});

describe("initialState", () => {
  it("has the two system groups and a default zone, ids dashless hex", () => {
    const state = initialState({ newId: hexId, now: () => new Date() });
    expect(state.groups.map((g) => [g.name, g.is_system])).toEqual([
      ["All Users", true],
      ["Administrators", true],
    ]);
    expect(state.zones.map((z) => z.zone_name)).toEqual(["default"]);
    for (const g of state.groups) expect(g.group_id).toMatch(/^[0-9a-f]{32}$/);
    expect(() => initialState(deps(), { groupImages: [{ image_id: "x", group_name: "nope" }] })).toThrow(
      /no group nope/,
    );
  });
});

describe("upgradeState", () => {
  it("brings an older stand-in's saved state to the current shape", () => {
    const old = {
      images: [
        { image_id: ID, name: "n", run_config: '{"a":1}', created: "2026-01-01", image_attributes: [] },
      ],
      groups: [],
      groupImages: [],
      sessions: {},
    } as unknown as KasmState;
    const state = upgradeState(old, deps());
    expect(state.images[0]).toEqual({
      ...initialState(deps(), { images: [{ image_id: ID, name: "n" }] }).images[0],
      run_config: { a: 1 },
    });
    expect(state.settings.add_images_to_default_group).toBe(true);
    expect(state.zones.map((z) => z.zone_name)).toEqual(["default"]);
  });
});

describe("Kasm's agents and zones", () => {
  const unique: KasmDeps = { newId: hexId, now: () => new Date("2026-01-02T03:04:05Z") };
  const seeded = () =>
    applySeed(
      world(),
      {
        zones: [{ zone_name: "testing" }],
        servers: [
          {
            hostname: "t1",
            zone_name: "testing",
            docker_images: { a: { tags: ["x:1"] } },
            engine: "unix:///lab/engine-1/docker.sock",
          },
          { hostname: "d1" },
        ],
      },
      unique,
    );

  it("get_servers lists each agent with exactly Kasm's keys and its zone's name; get_zones the zones", () => {
    const servers = bodyOf(call(seeded(), "get_servers", {}).reply).servers as Record<string, unknown>[];
    for (const s of servers) expect(Object.keys(s).sort()).toEqual([...FACTS.servers.keys].sort());
    expect(servers.map((s) => [s.hostname, s.zone_name, s.server_type])).toEqual([
      ["t1", "testing", FACTS.servers.agentType],
      ["d1", "default", FACTS.servers.agentType],
    ]);
    const zones = bodyOf(call(seeded(), "get_zones", {}).reply).zones as Record<string, unknown>[];
    expect(zones.map((z) => Object.keys(z).sort())).toEqual(
      zones.map(() => [...FACTS.servers.zoneKeys].sort()),
    );
    expect(zones.map((z) => z.zone_name)).toEqual(["default", "testing"]);
  });

  it("keeps a seeded agent's lab engine out of every answer, by server id", () => {
    const state = seeded();
    expect(state.engines).toEqual({ [state.servers[0]!.server_id]: "unix:///lab/engine-1/docker.sock" });
    expect(JSON.stringify(call(state, "get_servers", {}).reply)).not.toContain("engine-1");
  });

  it("a seed with a known hostname replaces what that agent reports, keeping its id", () => {
    const before = seeded();
    const after = applySeed(before, { servers: [{ hostname: "t1", zone_name: "testing" }] }, unique);
    expect(after.servers.find((s) => s.hostname === "t1")).toMatchObject({
      server_id: before.servers[0]!.server_id,
      docker_images: {},
    });
  });
});
