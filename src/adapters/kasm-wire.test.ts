import { describe, expect, it } from "vitest";
import { KASM_FACTS, kasmReadRecord } from "../../test/helpers/kasm-facts.js";
import { KasmGitopsError } from "../core/errors.js";
import { KASM_RECORD_DEFAULTS } from "../core/kasm/record-fields.js";
import type { KasmImageFields } from "../ports.js";
import {
  createPayload,
  decodeGroup,
  decodeGroupImage,
  decodeImage,
  decodeImages,
  decodeServer,
  decodeZone,
  encodeFields,
  fieldsNotTaken,
  foreignKeys,
  updatePayload,
} from "./kasm-wire.js";

const ID = "0123456789abcdef0123456789abcdef";
/** A record as get_images shows it. */
const READ = {
  image_id: ID,
  name: "registry.example.com:5000/kasm/chrome:1",
  friendly_name: "Chrome",
  description: "browser",
  image_src: "img/chrome.png",
  categories: ["Browser", "Dev"],
  cores: 2,
  memory: 2_768_000_000,
  gpu_count: 0,
  enabled: true,
  hidden: false,
  run_config: '{"hostname":"kasm"}',
  exec_config: "{}",
  volume_mappings: "{}",
  launch_config: "{}",
  docker_registry: null,
  docker_user: null,
  docker_token: "**********",
  notes: "managed-by: kasm-gitops/chrome",
  x_res: 1920,
  zone_id: null,
  available: true,
  zone_name: null,
  image_attributes: [],
  created: "2026-11-30T12:00:00Z",
};

describe("encodeFields", () => {
  it.each<[string, KasmImageFields, Record<string, unknown>]>([
    ["categories newline-joined", { categories: ["Browser", "Dev"] }, { categories: "Browser\nDev" }],
    ["no categories as an empty string", { categories: [] }, { categories: "" }],
    [
      "configs as JSON strings",
      { runConfig: { a: 1 }, execConfig: {} },
      { run_config: '{"a":1}', exec_config: "{}" },
    ],
    [
      "volume mappings as a JSON string",
      { volumeMappings: { "/x": { bind: "/y" } } },
      { volume_mappings: '{"/x":{"bind":"/y"}}' },
    ],
    ["memory in bytes, as is", { memory: 536_870_912 }, { memory: 536_870_912 }],
    ["thumbnail as image_src", { thumbnail: "t.png" }, { image_src: "t.png" }],
    ["friendly name in snake case", { friendlyName: "Chrome" }, { friendly_name: "Chrome" }],
    ["a new token", { dockerToken: "t0ken" }, { docker_token: "t0ken" }],
    ["a cleared token (Kasm clears it with an empty one)", { dockerToken: null }, { docker_token: "" }],
    [
      "a cleared registry",
      { dockerRegistry: null, dockerUser: null },
      { docker_registry: null, docker_user: null },
    ],
    ["resolution in pixels", { xRes: 1280, yRes: 720 }, { x_res: 1280, y_res: 720 }],
    [
      "no session limit as an empty string (null keeps Kasm's)",
      { sessionTimeLimit: null },
      { session_time_limit: "" },
    ],
    ["a session limit in seconds", { sessionTimeLimit: 7200 }, { session_time_limit: 7200 }],
    ["the launch form as a JSON string", { launchConfig: { a: 1 } }, { launch_config: '{"a":1}' }],
    [
      "networks as a list",
      { restrictToNetwork: true, restrictNetworkNames: ["lab"] },
      { restrict_to_network: true, restrict_network_names: ["lab"] },
    ],
    ["no profile path as null", { persistentProfilePath: null }, { persistent_profile_path: null }],
    ["nothing for nothing", {}, {}],
  ])("%s", (_name, fields, wire) => {
    expect(encodeFields(fields)).toEqual(wire);
  });

  it("create sends only what it is given", () => {
    expect(createPayload({ name: "a:1", friendlyName: "A", hidden: true })).toEqual({
      name: "a:1",
      friendly_name: "A",
      hidden: true,
    });
  });
});

describe("updatePayload: what Kasm 1.15's write function takes, nothing else", () => {
  const full = kasmReadRecord();
  const sent = (fields: KasmImageFields) => updatePayload(full, fields);

  it("sends only keys of Kasm's write function, none it derives or rejects", () => {
    const keys = Object.keys(sent({ description: "new" }));
    expect(keys.filter((k) => !KASM_FACTS.image.writeKeys.includes(k))).toEqual([]);
    for (const rejected of KASM_FACTS.image.rejectedWriteKeys) expect(keys).not.toContain(rejected);
    expect(foreignKeys(sent({}))).toEqual([]);
  });

  it("sends back every field Kasm resets when an update leaves it out", () => {
    const record = kasmReadRecord({
      hash: "sha256:abc",
      server_id: "s1",
      hidden: true,
      filter_policy_id: "f1",
    });
    const payload = updatePayload(record, {});
    for (const key of Object.keys(KASM_FACTS.image.resetWhenAbsent))
      expect([key, payload[key]]).toEqual([key, record[key]]);
  });

  it.each<[string, KasmImageFields, Record<string, unknown>]>([
    ["lays owned fields over the record", { description: "new", cores: 4 }, { description: "new", cores: 4 }],
    ["encodes owned categories", { categories: ["Office"] }, { categories: "Office" }],
    ["replaces the token when told", { dockerToken: "new-token" }, { docker_token: "new-token" }],
    ["clears the token with an empty one", { dockerToken: null }, { docker_token: "" }],
  ])("%s", (_name, fields, changed) => {
    expect(sent(fields)).toMatchObject(changed);
  });

  it.each(KASM_FACTS.image.jsonStringKeys)("writes %s, read as an object, as JSON text", (key) => {
    const value = sent({})[key];
    expect(typeof value).toBe("string");
    expect(JSON.parse(value as string)).toEqual(full[key]);
  });

  it("writes lists as newline-joined text and keeps the masked token, which keeps the stored one", () => {
    expect(sent({})).toMatchObject({
      categories: "Browser\nDev",
      docker_token: KASM_FACTS.image.maskedToken,
    });
  });

  it("leaves out what Kasm read as null, rather than send null where a number belongs", () => {
    const payload = updatePayload(kasmReadRecord({ cores: null, link_url: null }), {});
    expect(payload).not.toHaveProperty("cores");
    expect(payload).not.toHaveProperty("link_url");
  });

  it("always names the record it updates", () => {
    expect(updatePayload(full, { name: "x:2" }).image_id).toBe(full.image_id);
  });
});

describe("fieldsNotTaken: a write is done only when Kasm's answer shows it", () => {
  const answer = decodeImage(kasmReadRecord(), "update_image");
  it.each<[string, KasmImageFields, string[]]>([
    ["all taken", { description: "browser", cores: 2, categories: ["Browser", "Dev"] }, []],
    ["an empty description Kasm ignored", { description: "" }, ["description"]],
    ["0 cores Kasm ignored", { cores: 0 }, ["cores"]],
    ["Kasm's own form of the registry", { dockerRegistry: "docker.io" }, []],
    ["another registry", { dockerRegistry: "registry.example.com" }, ["dockerRegistry"]],
    ["a token set", { dockerToken: "t0ken" }, []],
    ["a token Kasm still holds", { dockerToken: null }, ["dockerToken"]],
    ["configs compared as data", { runConfig: { hostname: "kasm" } }, []],
    [
      "a profile and a limit as Kasm shows them",
      { sessionTimeLimit: 7200, persistentProfilePath: "/profiles/{username}" },
      [],
    ],
    [
      "a profile and a limit Kasm kept",
      { sessionTimeLimit: null, persistentProfilePath: null },
      ["persistentProfilePath", "sessionTimeLimit"],
    ],
    ["a resolution Kasm did not take", { xRes: 1 }, ["xRes"]],
  ])("%s", (_name, sentFields, missed) => {
    expect(fieldsNotTaken(sentFields, answer)).toEqual(missed);
  });
});

describe("decodeImage", () => {
  it("reads a record into our terms", () => {
    expect(decodeImage(READ, "get_images")).toEqual({
      imageId: ID,
      name: "registry.example.com:5000/kasm/chrome:1",
      friendlyName: "Chrome",
      description: "browser",
      thumbnail: "img/chrome.png",
      categories: ["Browser", "Dev"],
      cores: 2,
      memory: 2_768_000_000,
      enabled: true,
      hidden: false,
      runConfig: { hostname: "kasm" },
      execConfig: {},
      volumeMappings: {},
      dockerRegistry: null,
      dockerUser: null,
      dockerTokenSet: true,
      notes: "managed-by: kasm-gitops/chrome",
      available: true,
      ...KASM_RECORD_DEFAULTS,
      restrictNetworkNames: [],
      xRes: 1920,
      yRes: 0,
      cpuAllocationMethod: "",
      restrictToZone: false,
      zoneId: null,
      restrictToServer: false,
      serverId: null,
      hash: null,
    });
  });

  it.each([
    ["categories as a newline string", { categories: "Browser\nDev\n" }, { categories: ["Browser", "Dev"] }],
    ["no categories", { categories: null }, { categories: [] }],
    ["an empty config string", { run_config: "" }, { runConfig: {} }],
    ["a config already an object", { exec_config: { a: 1 } }, { execConfig: { a: 1 } }],
    ["no token", { docker_token: null }, { dockerTokenSet: false }],
    ["null notes", { notes: null }, { notes: "" }],
    ["cores as a numeric string", { cores: "1.5" }, { cores: 1.5 }],
    ["a session limit", { session_time_limit: 7200 }, { sessionTimeLimit: 7200 }],
    ["a session limit kept as text", { session_time_limit: "600" }, { sessionTimeLimit: 600 }],
    ["no profile path", { persistent_profile_path: "" }, { persistentProfilePath: null }],
    [
      "a network restriction",
      { restrict_to_network: true, restrict_network_names: ["lab"] },
      { restrictToNetwork: true, restrictNetworkNames: ["lab"] },
    ],
    ["a pinned digest", { hash: "sha256:ab" }, { hash: "sha256:ab" }],
  ])("%s", (_name, patch, expected) => {
    expect(decodeImage({ ...READ, ...patch }, "get_images")).toMatchObject(expected);
  });

  it.each([
    ["no image_id", { image_id: undefined }, /image_id is undefined, expected an id/],
    [
      "a config that is not JSON",
      { run_config: "{oops" },
      /run_config is "\{oops", expected a JSON object string/,
    ],
    [
      "a config that is a list",
      { volume_mappings: "[]" },
      /volume_mappings .* expected a JSON object string/,
    ],
    ["memory in words", { memory: "lots" }, /memory is "lots", expected a number/],
    ["enabled as a string", { enabled: "yes" }, /enabled is "yes", expected true or false/],
    ["categories of numbers", { categories: [1] }, /categories is \[1\], expected a list of strings/],
  ])("a record with %s is an error naming the field", (_name, patch, message) => {
    const read = () => decodeImage({ ...READ, ...patch }, "get_images");
    expect(read).toThrow(KasmGitopsError);
    expect(read).toThrow(message);
  });

  it("decodes groups and group rows", () => {
    expect(
      decodeGroup(
        { group_id: "g1", name: "qa", description: null, priority: 100, is_system: false },
        "get_groups",
      ),
    ).toEqual({ groupId: "g1", name: "qa", description: "", isSystem: false });
    expect(
      decodeGroupImage(
        { group_image_id: "r1", group_id: "g1", image_id: ID, image_name: "x" },
        "get_images_group",
      ),
    ).toEqual({ groupImageId: "r1", groupId: "g1", imageId: ID });
  });
});

describe("decodeImages", () => {
  it.each<[string, unknown, object]>([
    [
      "a wrong type, marker readable",
      { ...READ, cores: "two" },
      { imageId: ID, ownerKnown: true, owner: "chrome" },
    ],
    [
      "a wrong type, no marker",
      { ...READ, enabled: "yes", notes: "hand-made" },
      { imageId: ID, ownerKnown: true },
    ],
    ["notes that are not text", { ...READ, notes: 42 }, { imageId: ID, ownerKnown: false }],
    ["no id at all", { ...READ, image_id: "" }, { ownerKnown: true, owner: "chrome" }],
    ["not an object", "garbage", { ownerKnown: true }],
  ])("%s is set aside, the good record kept", (_, raw, expected) => {
    const good = { ...READ, image_id: "ffff", notes: "" };
    const { records, unreadable } = decodeImages([good, raw], "get_images");
    expect(records.map((r) => r.imageId)).toEqual(["ffff"]);
    expect(unreadable).toHaveLength(1);
    expect(unreadable[0]).toEqual({ ...expected, problem: expect.stringContaining("get_images") });
  });
});

describe("decodeServer and decodeZone: Kasm's agents as get_servers and get_zones list them", () => {
  const SERVER = {
    server_id: "s1",
    server_type: "host",
    hostname: "agent-1",
    enabled: true,
    operational_status: "running",
    zone_id: "z1",
    zone_name: "default",
    docker_images: {
      "sha256:a": {
        tags: ["kasmweb/chrome:1.15.0", "x:1"],
        RepoDigests: [`kasmweb/chrome@sha256:${"1".repeat(64)}`],
      },
      "sha256:b": { tags: [] },
    },
    docker_info: {},
    last_reported: "2026-01-01T00:00:00Z",
    cores: 4,
  };
  it("reads the agent and every tag it reported", () => {
    expect(decodeServer(SERVER, "get_servers")).toEqual({
      serverId: "s1",
      hostname: "agent-1",
      serverType: "host",
      enabled: true,
      operationalStatus: "running",
      zoneId: "z1",
      zoneName: "default",
      imageTags: ["kasmweb/chrome:1.15.0", "x:1"],
      imageDigests: [`kasmweb/chrome@sha256:${"1".repeat(64)}`],
      lastReported: "2026-01-01T00:00:00Z",
    });
    expect(decodeZone({ zone_id: "z1", zone_name: "default", extra: 1 }, "get_zones")).toEqual({
      zoneId: "z1",
      zoneName: "default",
    });
  });
  it.each([
    [
      "no reports yet",
      { docker_images: null, last_reported: null },
      { imageTags: [], imageDigests: [], lastReported: null },
    ],
    [
      "an entry without repo digests proves no digest",
      { docker_images: { "sha256:a": { tags: ["x:1"], RepoDigests: "x@sha256:1" } } },
      { imageTags: ["x:1"], imageDigests: [] },
    ],
  ])("%s", (_name, patch, expected) => {
    expect(decodeServer({ ...SERVER, ...patch }, "get_servers")).toMatchObject(expected);
  });
  it("refuses docker_images that is not a mapping, naming the server", () => {
    expect(() => decodeServer({ ...SERVER, docker_images: [] }, "get_servers")).toThrow(
      /server s1: docker_images/,
    );
  });
});
