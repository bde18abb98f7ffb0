import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { type KasmStandIn, startKasmStandIn } from "../src/lab/kasm-stand-in.js";
import { waitFor } from "../src/lab/processes.js";

/** The facts of Kasm 1.15 the stand-in must agree with, shared with the client's tests. */
const FACTS = JSON.parse(readFileSync(new URL("fixtures/kasm-1.15.json", import.meta.url), "utf8")) as {
  auth: Record<"oneAlone" | "badKey" | "expired" | "unauthorized", { status: number; error_message: string }>;
  unhandled: { status: number; body: string };
  image: {
    readKeys: string[];
    writeKeys: string[];
    rejectedWriteKeys: string[];
    jsonStringKeys: string[];
    newlineJoinedKeys: string[];
    maskedToken: string;
    deleteRefused: string;
  };
};

type Answer = { status: number; type: string; text: string; json: Record<string, unknown> };

/** Raw HTTP, as any client would speak it: POST /api/public/<fn> with a JSON body. */
async function post(
  url: string,
  fn: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${url}/api/public/${fn}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return { status: response.status, type, text, json: type.includes("json") ? JSON.parse(text) : {} };
}

let kasm: KasmStandIn;
const api = (fn: string, body: Record<string, unknown> = {}) =>
  post(kasm.url, fn, { api_key: kasm.apiKey, api_key_secret: kasm.apiKeySecret, ...body });
const lab = (path: string, body?: unknown) =>
  fetch(`${kasm.url}/__lab/${path}`, body ? { method: "POST", body: JSON.stringify(body) } : {}).then(
    (r) => r.json() as Promise<Record<string, unknown>>,
  );
const image = (answer: Answer) => answer.json.image as Record<string, unknown>;
const images = async () => (await api("get_images")).json.images as Record<string, unknown>[];
const groupRows = async (name: string) => {
  const groups = (await api("get_groups")).json.groups as { name: string; group_id: string }[];
  const group = groups.find((g) => g.name === name)!;
  return (await api("get_images_group", { target_group: { group_id: group.group_id } })).json.images as {
    image_id: string;
  }[];
};

/** What a client writes back after a read: the write keys only, JSON fields encoded, categories joined. */
function writable(record: Record<string, unknown>): Record<string, unknown> {
  const keys = FACTS.image.writeKeys.filter((k) => k in record);
  const out: Record<string, unknown> = Object.fromEntries(keys.map((k) => [k, record[k]]));
  for (const key of FACTS.image.jsonStringKeys) out[key] = JSON.stringify(record[key]);
  for (const key of FACTS.image.newlineJoinedKeys) out[key] = (record[key] as string[]).join("\n");
  return out;
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
  it("takes the key pair in the body or the headers, and answers Kasm's statuses and texts", async () => {
    const A = FACTS.auth;
    const headers = { "api-key": kasm.apiKey, "api-key-secret": kasm.apiKeySecret };
    expect((await post(kasm.url, "get_images", {}, headers)).status).toBe(200);
    const alone = await post(kasm.url, "get_images", {}, { "api-key": kasm.apiKey });
    expect([alone.status, alone.json.error_message]).toEqual([A.oneAlone.status, A.oneAlone.error_message]);
    const bad = await post(kasm.url, "get_images", { api_key: kasm.apiKey, api_key_secret: "wrong" });
    expect([bad.status, bad.json.error_message]).toEqual([A.badKey.status, A.badKey.error_message]);
    kasm.setReadOnly(true);
    const readOnly = await api("create_image", { target_image: chrome });
    expect([readOnly.status, readOnly.json.error_message]).toEqual([
      A.unauthorized.status,
      A.unauthorized.error_message,
    ]);
    kasm.expireKey();
    const expired = await api("get_images");
    expect([expired.status, expired.json.error_message]).toEqual([A.expired.status, A.expired.error_message]);
    expect(kasm.calls().map((c) => c.status)).toEqual([200, 400, 403, 401, 401]);
    expect(kasm.state().images).toEqual([]);
  });

  it("lists every read key; a whole read-modify-write over the write keys keeps every field", async () => {
    kasm.seed({ images: [{ image_id: "b".repeat(32), name: "kasmweb/seeded:1", docker_token: "t" }] });
    await api("create_image", { target_image: chrome });
    const before = await images();
    for (const record of before) expect(Object.keys(record)).toEqual(FACTS.image.readKeys);
    for (const record of before) {
      const answer = await api("update_image", { target_image: writable(record) });
      expect([answer.status, answer.json.error_message]).toEqual([200, undefined]);
    }
    expect(await images()).toEqual(before);
    expect(
      kasm
        .state()
        .images.map((i) => i.docker_token)
        .sort(),
    ).toEqual(["registry-token", "t"]);
  });

  it.each(FACTS.image.rejectedWriteKeys)(
    "a read key %s sent back is Kasm's HTML 500 and writes nothing",
    async (key) => {
      await api("create_image", { target_image: chrome });
      const [read] = await images();
      const answer = await api("update_image", {
        target_image: { ...writable(read!), cores: 4, [key]: read![key] ?? 1 },
      });
      expect([answer.status, answer.text]).toEqual([FACTS.unhandled.status, FACTS.unhandled.body]);
      expect(answer.type).toMatch(/^text\/html/);
      expect(kasm.state().images[0]?.cores).toBe(2);
    },
  );

  it("joins All Users on create with add_images_to_default_group on (Kasm's default), not when off", async () => {
    const on = image(await api("create_image", { target_image: chrome })).image_id;
    expect((await groupRows("All Users")).map((r) => r.image_id)).toEqual([on]);
    expect(await lab("settings", { add_images_to_default_group: false })).toEqual({
      add_images_to_default_group: false,
    });
    const off = image(await api("create_image", { target_image: chrome })).image_id;
    expect((await groupRows("All Users")).map((r) => r.image_id)).toEqual([on]);
    expect(kasm.state().images.map((i) => i.image_id)).toEqual([on, off]);
    kasm.setAddImagesToDefaultGroup(true);
    expect(await lab("settings")).toEqual({ add_images_to_default_group: true });
    kasm.reset();
    expect(kasm.state().settings.add_images_to_default_group).toBe(true);
  });

  it("starts with add_images_to_default_group off when told, and reset keeps the start option", async () => {
    const off = await startKasmStandIn({ addImagesToDefaultGroup: false });
    try {
      const keys = { api_key: off.apiKey, api_key_secret: off.apiKeySecret };
      await post(off.url, "create_image", { ...keys, target_image: chrome });
      off.reset();
      await post(off.url, "create_image", { ...keys, target_image: chrome });
      expect(off.state().images).toHaveLength(1);
      expect(off.state().groupImages).toEqual([]);
    } finally {
      await off.close();
    }
  });

  it("a lost answer: the call is carried out and kept, the connection dropped unanswered", async () => {
    kasm.addFault({ fn: "create_image", lose: true });
    await expect(api("create_image", { target_image: chrome })).rejects.toThrow();
    expect(kasm.state().images.map((i) => i.name)).toEqual([chrome.name]);
    expect((await groupRows("All Users")).map((r) => r.image_id)).toEqual([kasm.state().images[0]!.image_id]);
    await lab("faults", { fn: "update_image", lose: true });
    const id = kasm.state().images[0]!.image_id;
    await expect(api("update_image", { target_image: { image_id: id, cores: 4 } })).rejects.toThrow();
    expect(kasm.state().images[0]!.cores).toBe(4);
    expect((await api("get_images")).status).toBe(200);
    expect(kasm.writes().map((c) => [c.fn, c.status, c.lost])).toEqual([
      ["create_image", 200, true],
      ["update_image", 200, true],
    ]);
  });

  it("add_images_group adds duplicates; remove takes the first row; delete is refused with Kasm's text", async () => {
    const imageId = image(await api("create_image", { target_image: chrome })).image_id as string;
    const qa = kasm.state().groups.find((g) => g.name === "qa")!.group_id;
    const pair = { target_group: { group_id: qa }, target_image: { image_id: imageId } };
    expect((await api("add_images_group", pair)).json).toEqual({});
    expect((await api("add_images_group", pair)).json).toEqual({});
    expect(await groupRows("qa")).toHaveLength(2);
    await api("remove_images_group", pair);
    expect(await groupRows("qa")).toHaveLength(1);
    const unknown = await api("add_images_group", { ...pair, target_group: { group_id: "0".repeat(32) } });
    expect([unknown.status, unknown.text]).toEqual([FACTS.unhandled.status, FACTS.unhandled.body]);
    kasm.setSessions(imageId, 1);
    const refused = await api("delete_image", { target_image: { image_id: imageId } });
    expect(refused.json.error_message).toBe(
      FACTS.image.deleteRefused.replace("<friendly>", "Chrome").replace("<id>", imageId).replace("<n>", "1"),
    );
    kasm.setSessions(imageId, 0);
    expect((await api("delete_image", { target_image: { image_id: imageId } })).json).toEqual({});
    expect(kasm.state().groupImages).toEqual([]);
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
    await lab("seed", { images: [{ image_id: "b".repeat(32), name: "kasmweb/x:1", friendly_name: "X" }] });
    await lab("sessions", { image_id: "b".repeat(32), count: 3 });
    expect(
      (await api("delete_image", { target_image: { image_id: "b".repeat(32) } })).json.error_message,
    ).toMatch(/currently has \(3\) associated Kasm\(s\)/);
    expect((await lab("writes")).calls).toHaveLength(1);
    await lab("calls/clear", {});
    expect((await lab("calls")).calls).toEqual([]);
    expect((await lab("state")).sessions).toEqual({ ["b".repeat(32)]: 3 });
    await lab("faults", { fn: "get_groups", status: 502 });
    expect((await api("get_groups")).status).toBe(502);
    await lab("read-only", {});
    expect((await api("create_image", { target_image: chrome })).status).toBe(401);
    await lab("expire-key", {});
    expect((await api("get_images")).status).toBe(401);
    await lab("reset", {});
    expect((await api("get_images")).status).toBe(200);
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

  it("keeps keys, records and settings across a restart when given a state file", async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), "kasm-stand-in-")), "state.json");
    const first = await startKasmStandIn({ stateFile });
    await post(first.url, "create_image", {
      api_key: first.apiKey,
      api_key_secret: first.apiKeySecret,
      target_image: chrome,
    });
    first.setAddImagesToDefaultGroup(false);
    await first.close();
    const second = await startKasmStandIn({ stateFile });
    try {
      expect([second.apiKey, second.apiKeySecret]).toEqual([first.apiKey, first.apiKeySecret]);
      expect(second.state().images.map((i) => i.name)).toEqual([chrome.name]);
      expect(second.state().settings.add_images_to_default_group).toBe(false);
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
    const settings = (await (await fetch(`${labKasm.url}/__lab/settings`)).json()) as Record<string, unknown>;
    expect(settings).toEqual({ add_images_to_default_group: true });
  });
});
