import { describe, expect, it } from "vitest";
import { MASKED_TOKEN, READ_ONLY_KEYS, WRITABLE_FIELDS } from "./kasm-image-fields.js";
import {
  ALL_USERS,
  handleCall,
  hexId,
  initialState,
  type KasmAuth,
  type KasmDeps,
  type KasmReply,
  type KasmState,
} from "./kasm-records.js";

const auth: KasmAuth = { apiKey: "key", apiKeySecret: "secret", expired: false };
const keys = { api_key: "key", api_key_secret: "secret" };

function deps(): KasmDeps {
  let n = 0;
  return { newId: () => (++n).toString(16).padStart(32, "0"), now: () => new Date("2026-01-02T03:04:05Z") };
}

/** A state with one image ("img") in All Users, and the deps that made it. */
function world(): { state: KasmState; d: KasmDeps; imageId: string; allUsers: string } {
  const d = deps();
  const state = initialState(d, {
    groups: [{ name: "qa" }],
    images: [{ image_id: "a".repeat(32), name: "kasmweb/chrome:1.0", cores: 2, docker_token: "stored" }],
    groupImages: [{ image_id: "a".repeat(32), group_name: ALL_USERS }],
  });
  return { state, d, imageId: "a".repeat(32), allUsers: state.groups[0]!.group_id };
}

function call(state: KasmState, fn: string, body: Record<string, unknown>, a: KasmAuth = auth) {
  return handleCall(state, a, fn, { ...keys, ...body }, deps());
}

const errorOf = (reply: KasmReply) => (reply.type === "json" ? reply.body.error_message : undefined);
/** The JSON body of a reply (an HTML one fails the test). */
function bodyOf(reply: KasmReply): Record<string, unknown> {
  if (reply.type !== "json") throw new Error(`expected JSON, got HTML ${reply.status}`);
  return reply.body;
}

describe("initialState", () => {
  it("has the two system groups with dashless hex ids", () => {
    const state = initialState({ newId: hexId, now: () => new Date() });
    expect(state.groups.map((g) => [g.name, g.is_system])).toEqual([
      ["All Users", true],
      ["Administrators", true],
    ]);
    for (const g of state.groups) expect(g.group_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it("gives seeded groups unique names and priorities, and rejects a row for a missing group", () => {
    const d = deps();
    const state = initialState(d, { groups: [{ name: "qa" }, { name: "dev" }, { name: "qa" }] });
    expect(state.groups.map((g) => g.name)).toEqual(["All Users", "Administrators", "qa", "dev"]);
    expect(new Set(state.groups.map((g) => g.priority)).size).toBe(4);
    expect(() => initialState(d, { groupImages: [{ image_id: "x", group_name: "nope" }] })).toThrow(
      /no group nope/,
    );
  });
});

describe("authentication", () => {
  it.each<[string, Record<string, unknown>, KasmAuth, number]>([
    ["right key", keys, auth, 200],
    ["wrong key", { ...keys, api_key: "nope" }, auth, 403],
    ["wrong secret", { ...keys, api_key_secret: "nope" }, auth, 403],
    ["no credentials", {}, auth, 403],
    ["expired key", keys, { ...auth, expired: true }, 401],
    ["wrong key on an expired one is still 403", { api_key: "x" }, { ...auth, expired: true }, 403],
  ])("%s → %i", (_, body, a, status) => {
    const { reply } = handleCall(world().state, a, "get_images", body, deps());
    expect(reply.status).toBe(status);
    expect(reply.type).toBe("json");
  });

  it.each([
    ["get_images", 200],
    ["create_image", 401],
    ["delete_image", 401],
    ["add_images_group", 401],
  ])("a read-only key: %s → %i", (fn, status) => {
    const { reply } = call(world().state, fn, { target_image: { name: "x" } }, { ...auth, readOnly: true });
    expect(reply.status).toBe(status);
  });

  it("an unknown function is an HTML 404 before any key check", () => {
    const { reply } = handleCall(world().state, auth, "get_imagez", {}, deps());
    expect([reply.status, reply.type]).toEqual([404, "html"]);
  });
});

describe("create_image and update_image validation", () => {
  const base = { name: "kasmweb/chrome:1.0" };
  it.each<[string, Record<string, unknown>, RegExp]>([
    ["categories as a list", { categories: ["Browser"] }, /categories must be a newline-separated string/],
    ["run_config as an object", { run_config: {} }, /run_config must be a JSON-encoded string/],
    ["exec_config not JSON", { exec_config: "{oops" }, /exec_config is not valid JSON/],
    ["volume_mappings a JSON array", { volume_mappings: "[]" }, /volume_mappings must encode a JSON object/],
    ["memory as a quantity", { memory: "2768M" }, /memory must be a whole number/],
    ["memory fractional", { memory: 1.5 }, /memory must be a whole number/],
    ["cores zero", { cores: 0 }, /cores must be a number greater than 0/],
    ["cores as a string", { cores: "2" }, /cores must be a number greater than 0/],
    ["enabled as a string", { enabled: "true" }, /enabled must be true or false/],
    ["notes a number", { notes: 3 }, /notes must be a string or null/],
    ["image_type other", { image_type: "Server" }, /image_type must be Container/],
    ["no name", { name: "" }, /name .* is required/],
  ])("%s → 200 with error_message, nothing written", (_, fields, message) => {
    const { state } = world();
    for (const [fn, extra] of [
      ["create_image", {}],
      ["update_image", { image_id: "a".repeat(32) }],
    ] as const) {
      const result = call(state, fn, { target_image: { ...base, ...extra, ...fields } });
      expect(result.reply.status).toBe(200);
      expect(errorOf(result.reply)).toMatch(message);
      expect(result.state).toBe(state);
    }
  });

  it.each([...READ_ONLY_KEYS, "image_name", "default_category", "Name"])(
    "unknown key %s → HTML 500, nothing written",
    (key) => {
      const { state } = world();
      for (const fn of ["create_image", "update_image"]) {
        const result = call(state, fn, { target_image: { ...base, image_id: "a".repeat(32), [key]: 1 } });
        expect([result.reply.status, result.reply.type]).toEqual([500, "html"]);
        expect(result.reply.body).toMatch(/Internal Server Error/);
        expect(result.state).toBe(state);
      }
    },
  );

  it.each([
    ["no target_image", {}, /target_image is required/],
    ["update of a missing image", { target_image: { ...base, image_id: "f".repeat(32) } }, /not found/],
    ["update without image_id", { target_image: base }, /image_id is required/],
  ])("%s → error_message", (_, body, message) => {
    expect(errorOf(call(world().state, "update_image", body).reply)).toMatch(message);
  });
});

describe("create_image", () => {
  it("stores categories as a list, memory as given, masks the token and joins All Users", () => {
    const { state, allUsers } = world();
    const { state: next, reply } = call(state, "create_image", {
      target_image: {
        name: "kasmweb/firefox:1.0",
        categories: "Browser\n Dev \n",
        memory: 2_902_458_368,
        docker_token: "t",
      },
    });
    const image = bodyOf(reply).image as Record<string, unknown>;
    expect(image.image_id).toMatch(/^[0-9a-f]{32}$/);
    expect(image).toMatchObject({
      categories: ["Browser", "Dev"],
      memory: 2_902_458_368,
      docker_token: MASKED_TOKEN,
    });
    const stored = next.images.find((i) => i.image_id === image.image_id)!;
    expect(stored.docker_token).toBe("t");
    const rows = next.groupImages.filter((r) => r.image_id === image.image_id);
    expect(rows.map((r) => r.group_id)).toEqual([allUsers]);
  });

  it("ignores an image_id it is sent and gives a new one", () => {
    const { state } = world();
    const { reply } = call(state, "create_image", { target_image: { name: "x", image_id: "a".repeat(32) } });
    expect((bodyOf(reply) as { image: { image_id: string } }).image.image_id).not.toBe("a".repeat(32));
  });
});

describe("update_image", () => {
  it("resets every writable key it is not given to its default", () => {
    const { state, imageId } = world();
    const full = call(state, "update_image", {
      target_image: {
        image_id: imageId,
        name: "n",
        cores: 4,
        hidden: true,
        notes: "managed-by: kasm-gitops/x",
      },
    }).state;
    const { state: next } = call(full, "update_image", { target_image: { image_id: imageId, name: "n" } });
    const stored = next.images[0]!;
    expect(stored).toMatchObject({
      cores: 0,
      hidden: false,
      notes: null,
      docker_token: null,
      run_config: "{}",
    });
    expect(Object.keys(WRITABLE_FIELDS).every((k) => k in stored)).toBe(true);
  });

  it.each<[string, unknown, string | null]>([
    ["the mask keeps the stored token", MASKED_TOKEN, "stored"],
    ["another value replaces it", "fresh", "fresh"],
    ["null clears it", null, null],
    ["leaving it out clears it too (overwrite)", undefined, null],
  ])("docker_token: %s", (_, sent, stored) => {
    const { state, imageId } = world();
    const target = { image_id: imageId, name: "n", ...(sent === undefined ? {} : { docker_token: sent }) };
    const { state: next, reply } = call(state, "update_image", { target_image: target });
    expect(next.images[0]!.docker_token).toBe(stored);
    expect((bodyOf(reply) as { image: { docker_token: unknown } }).image.docker_token).toBe(
      stored === null ? null : MASKED_TOKEN,
    );
  });
});

describe("groups", () => {
  it("add_images_group is not idempotent and remove_images_group removes every row of the pair", () => {
    const { state, imageId, allUsers } = world();
    const target = { target_group: { group_id: allUsers }, target_image: { image_id: imageId } };
    const twice = call(call(state, "add_images_group", target).state, "add_images_group", target).state;
    expect(twice.groupImages.filter((r) => r.image_id === imageId)).toHaveLength(3);
    const listed = call(twice, "get_images_group", { target_group: { group_id: allUsers } }).reply;
    expect((bodyOf(listed) as { images: unknown[] }).images).toHaveLength(3);
    expect((bodyOf(listed) as { images: Record<string, unknown>[] }).images[0]).toMatchObject({
      group_id: allUsers,
      image_id: imageId,
      image_name: "kasmweb/chrome:1.0",
    });
    const removed = call(twice, "remove_images_group", target);
    expect(removed.state.groupImages).toHaveLength(0);
    expect(errorOf(call(removed.state, "remove_images_group", target).reply)).toMatch(/not assigned/);
  });

  it.each([
    ["get_images_group", {}, /target_group.group_id is required/],
    ["get_images_group", { target_group: { group_id: "0".repeat(32) } }, /Group .* not found/],
    ["add_images_group", { target_group: { group_id: "0".repeat(32) } }, /Group .* not found/],
  ])("%s %j → error_message", (fn, body, message) => {
    expect(errorOf(call(world().state, fn, body).reply)).toMatch(message);
  });
});

describe("delete_image", () => {
  it.each([
    [0, undefined, 0],
    [2, /in use by 2 session/, 1],
  ])("with %i sessions → %s", (sessions, message, left) => {
    const { state, imageId } = world();
    state.sessions[imageId] = sessions;
    const { state: next, reply } = call(state, "delete_image", { target_image: { image_id: imageId } });
    expect(errorOf(reply)).toEqual(message ? expect.stringMatching(message) : undefined);
    expect(next.images).toHaveLength(left);
    expect(next.groupImages).toHaveLength(left);
  });
});

describe("get_images", () => {
  it("shows disabled records, the token masked and the derived keys", () => {
    const { state } = world();
    const { reply } = call(state, "get_images", {});
    const [image] = (bodyOf(reply) as { images: Record<string, unknown>[] }).images;
    expect(image).toMatchObject({
      enabled: false,
      docker_token: MASKED_TOKEN,
      available: true,
      zone_name: null,
    });
    for (const key of READ_ONLY_KEYS) expect(image).toHaveProperty(key);
  });
});
