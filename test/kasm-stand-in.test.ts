import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { type KasmStandIn, startKasmStandIn } from "../src/lab/kasm-stand-in.js";
import { waitFor } from "../src/lab/processes.js";

type Answer = { status: number; type: string; text: string; json: Record<string, unknown> };

/** Raw HTTP, as any client would speak it: POST /api/public/<fn> with the keys in the JSON body. */
async function post(url: string, fn: string, body: Record<string, unknown>): Promise<Answer> {
  const response = await fetch(`${url}/api/public/${fn}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return { status: response.status, type, text, json: type.includes("json") ? JSON.parse(text) : {} };
}

let kasm: KasmStandIn;
const api = (fn: string, body: Record<string, unknown> = {}) =>
  post(kasm.url, fn, { api_key: kasm.apiKey, api_key_secret: kasm.apiKeySecret, ...body });
const image = (answer: Answer) => answer.json.image as Record<string, unknown>;
const images = async () => (await api("get_images")).json.images as Record<string, unknown>[];
const allUsersId = async () =>
  ((await api("get_groups")).json.groups as { name: string; group_id: string }[]).find(
    (g) => g.name === "All Users",
  )!.group_id;

/** A record as get_images shows it, made writable again: derived keys stripped, the masked token kept. */
function writable(record: Record<string, unknown>) {
  const { available: _a, zone_name: _z, image_attributes: _i, created: _c, ...rest } = record;
  return { ...rest, categories: (rest.categories as string[]).join("\n") };
}

beforeAll(async () => {
  kasm = await startKasmStandIn({ seed: { groups: [{ name: "qa" }] } });
});
afterAll(() => kasm.close());
beforeEach(() => {
  kasm.reset();
  kasm.clearCalls();
});

const chrome = {
  name: "kasmweb/chrome:1.15.0",
  friendly_name: "Chrome",
  categories: "Browser\nDev",
  cores: 2,
  memory: 2_902_458_368,
  run_config: JSON.stringify({ hostname: "kasm" }),
  docker_token: "registry-token",
  notes: "managed-by: kasm-gitops/chrome",
};

describe("the Kasm stand-in over HTTP", () => {
  it("tells a bad key (403) from an expired one (401), both JSON with error_message", async () => {
    const bad = await post(kasm.url, "get_images", { api_key: kasm.apiKey, api_key_secret: "wrong" });
    expect([bad.status, typeof bad.json.error_message]).toEqual([403, "string"]);
    expect((await api("get_images")).status).toBe(200);
    kasm.expireKey();
    const expired = await api("get_images");
    expect([expired.status, typeof expired.json.error_message]).toEqual([401, "string"]);
    expect(kasm.calls().map((c) => c.status)).toEqual([403, 200, 401]);
  });

  it("creates with a dashless hex id, joins All Users, reads categories as a list and the token masked", async () => {
    const created = await api("create_image", { target_image: chrome });
    expect(created.status).toBe(200);
    const id = image(created).image_id as string;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const [read] = await images();
    expect(read).toMatchObject({
      categories: ["Browser", "Dev"],
      memory: 2_902_458_368,
      docker_token: "**********",
    });
    const rows = (await api("get_images_group", { target_group: { group_id: await allUsersId() } })).json
      ?.images as Record<string, unknown>[];
    expect(rows.map((r) => r.image_id)).toEqual([id]);
    expect(kasm.state().images[0]?.docker_token).toBe("registry-token");
  });

  it("update overwrites every field it is not given: no cores sent → cores reset", async () => {
    const id = image(await api("create_image", { target_image: chrome })).image_id;
    const updated = await api("update_image", { target_image: { image_id: id, name: chrome.name } });
    expect(image(updated)).toMatchObject({
      cores: 0,
      memory: 0,
      categories: [],
      notes: null,
      docker_token: null,
    });
  });

  it("a whole-record read-modify-write keeps every field and the stored token behind the mask", async () => {
    await api("create_image", { target_image: chrome });
    const [read] = await images();
    const updated = await api("update_image", { target_image: { ...writable(read!), cores: 4 } });
    expect(updated.json.error_message).toBeUndefined();
    expect(image(updated)).toMatchObject({ cores: 4, memory: chrome.memory, notes: chrome.notes });
    expect(kasm.state().images[0]?.docker_token).toBe("registry-token");
  });

  it.each(["available", "zone_name", "image_attributes", "created", "no_such_key"])(
    "an unknown key %s in target_image is an HTML 500 and writes nothing",
    async (key) => {
      await api("create_image", { target_image: chrome });
      const [read] = await images();
      const answer = await api("update_image", {
        target_image: { ...writable(read!), [key]: read![key] ?? 1 },
      });
      expect(answer.status).toBe(500);
      expect(answer.type).toMatch(/^text\/html/);
      expect(answer.text).toMatch(/<html>.*Internal Server Error/s);
      expect(kasm.state().images[0]?.cores).toBe(2);
    },
  );

  it.each([
    ["categories as a list", { categories: ["Browser"] }],
    ["run_config as an object", { run_config: { hostname: "kasm" } }],
    ["memory as a quantity", { memory: "2768M" }],
  ])("%s is a validation failure: HTTP 200 with error_message", async (_, fields) => {
    const answer = await api("create_image", { target_image: { ...chrome, ...fields } });
    expect(answer.status).toBe(200);
    expect(answer.json.error_message).toEqual(expect.any(String));
    expect(answer.json.image).toBeUndefined();
    expect(kasm.state().images).toHaveLength(0);
  });

  it("add_images_group twice gives two rows; remove takes both", async () => {
    const imageId = image(await api("create_image", { target_image: chrome })).image_id;
    const qa = kasm.state().groups.find((g) => g.name === "qa")!.group_id;
    const pair = { target_group: { group_id: qa }, target_image: { image_id: imageId } };
    expect((await api("add_images_group", pair)).json).toEqual({});
    expect((await api("add_images_group", pair)).json).toEqual({});
    const rows = (await api("get_images_group", { target_group: { group_id: qa } })).json
      ?.images as unknown[];
    expect(rows).toHaveLength(2);
    await api("remove_images_group", pair);
    expect(kasm.state().groupImages.filter((r) => r.group_id === qa)).toHaveLength(0);
    expect(kasm.writes().map((c) => c.fn)).toEqual([
      "create_image",
      "add_images_group",
      "add_images_group",
      "remove_images_group",
    ]);
  });

  it("delete_image is refused while sessions use the image, and works once they end", async () => {
    const imageId = image(await api("create_image", { target_image: chrome })).image_id as string;
    kasm.setSessions(imageId, 1);
    const refused = await api("delete_image", { target_image: { image_id: imageId } });
    expect([refused.status, typeof refused.json.error_message]).toEqual([200, "string"]);
    expect(kasm.state().images).toHaveLength(1);
    kasm.setSessions(imageId, 0);
    expect((await api("delete_image", { target_image: { image_id: imageId } })).json).toEqual({});
    expect(kasm.state().images).toHaveLength(0);
    expect(kasm.state().groupImages).toHaveLength(0);
  });

  it("logs every call without the keys, and an unknown function is an HTML 404", async () => {
    const missing = await api("get_imagez");
    expect([missing.status, missing.type.startsWith("text/html")]).toEqual([404, true]);
    await api("get_groups");
    const calls = kasm.calls();
    expect(calls.map((c) => [c.fn, c.status])).toEqual([
      ["get_imagez", 404],
      ["get_groups", 200],
    ]);
    expect(JSON.stringify(calls)).not.toContain(kasm.apiKeySecret);
    expect(kasm.writes()).toEqual([]);
  });

  it("drives the same state through the /__lab/ admin endpoints", async () => {
    const lab = (path: string, body?: unknown) =>
      fetch(`${kasm.url}/__lab/${path}`, body ? { method: "POST", body: JSON.stringify(body) } : {}).then(
        (r) => r.json() as Promise<Record<string, unknown>>,
      );
    await lab("seed", { images: [{ image_id: "b".repeat(32), name: "kasmweb/x:1" }] });
    await lab("sessions", { image_id: "b".repeat(32), count: 3 });
    expect(
      (await api("delete_image", { target_image: { image_id: "b".repeat(32) } })).json.error_message,
    ).toMatch(/3 session/);
    expect((await lab("writes")).calls).toHaveLength(1);
    await lab("calls/clear", {});
    expect((await lab("calls")).calls).toEqual([]);
    expect((await lab("state")).sessions).toEqual({ ["b".repeat(32)]: 3 });
    await lab("faults", { fn: "get_groups", status: 502 });
    expect((await api("get_groups")).status).toBe(502);
    await lab("expire-key", {});
    expect((await api("get_images")).status).toBe(401);
  });

  it("injects transient failures and slowness for the named function only, as often as asked", async () => {
    kasm.addFault({ fn: "get_images", status: 503, count: 2 });
    kasm.addFault({ fn: "get_groups", delayMs: 300 });
    expect((await api("get_groups")).status).toBe(200);
    const failed = await api("get_images");
    expect([failed.status, failed.type.startsWith("text/html")]).toEqual([503, true]);
    expect((await api("get_images")).status).toBe(503);
    expect((await api("get_images")).status).toBe(200);
    kasm.addFault({ fn: "create_image", delayMs: 2000 });
    const timedOut = fetch(`${kasm.url}/api/public/create_image`, {
      method: "POST",
      body: JSON.stringify({ api_key: kasm.apiKey, api_key_secret: kasm.apiKeySecret, target_image: chrome }),
      signal: AbortSignal.timeout(200),
    });
    await expect(timedOut).rejects.toThrow();
    expect(kasm.state().images).toHaveLength(0);
    // Like a real server, a write the client stopped waiting for still lands.
    await waitFor("the delayed create_image", async () => kasm.state().images.length === 1, 5000);
    expect(kasm.calls().map((c) => [c.fn, c.status])).toEqual([
      ["get_groups", 200],
      ["get_images", 503],
      ["get_images", 503],
      ["get_images", 200],
      ["create_image", 200],
    ]);
  });

  it("keeps keys and records across a restart when given a state file", async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), "kasm-stand-in-")), "state.json");
    const first = await startKasmStandIn({ stateFile });
    await post(first.url, "create_image", {
      api_key: first.apiKey,
      api_key_secret: first.apiKeySecret,
      target_image: chrome,
    });
    await first.close();
    const second = await startKasmStandIn({ stateFile });
    try {
      expect([second.apiKey, second.apiKeySecret]).toEqual([first.apiKey, first.apiKeySecret]);
      expect(second.state().images.map((i) => i.name)).toEqual([chrome.name]);
    } finally {
      await second.close();
    }
  });
});

describe("the lab's Kasm stand-in", () => {
  const { kasm: labKasm } = inject("lab");

  it("is started by the lab, answers the API with the recorded keys and logs the call", async () => {
    expect(labKasm.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const answer = await post(labKasm.url, "get_groups", {
      api_key: labKasm.apiKey,
      api_key_secret: labKasm.apiKeySecret,
    });
    const names = (answer.json.groups as { name: string }[]).map((g) => g.name);
    expect(names).toEqual(expect.arrayContaining(["All Users", "Administrators"]));
    const { calls } = (await (await fetch(`${labKasm.url}/__lab/calls`)).json()) as {
      calls: { fn: string }[];
    };
    expect(calls.map((c) => c.fn)).toContain("get_groups");
  });
});
