import { describe, expect, it } from "vitest";
import { decodeImages } from "./kasm-wire.js";

/** One record through the decoder's import mode, as `import` reads get_images. */
const decodeImportRecord = (raw: unknown) => {
  const { records, unreadable } = decodeImages([raw], "get_images", "import");
  return { record: records[0], unreadable: unreadable[0]?.problem };
};

const ID = "3f2a000000000000000000000000000a";
const wire = (over: Record<string, unknown> = {}) => ({
  image_id: ID,
  name: "kasmweb/terminal:1.16.0",
  friendly_name: "Terminal",
  categories: ["Development"],
  cores: 2,
  memory: 2_768_000_000,
  enabled: true,
  hidden: false,
  run_config: "{}",
  exec_config: "{}",
  volume_mappings: "{}",
  docker_registry: null,
  docker_user: null,
  docker_token: null,
  notes: null,
  image_type: "Container",
  restrict_to_zone: false,
  zone_id: null,
  zone_name: null,
  server_id: null,
  ...over,
});

describe("decodeImages in import mode", () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    [
      "a plain record",
      {},
      { imageId: ID, categories: ["Development"], runConfig: {}, imageType: "Container" },
    ],
    ["configs as JSON strings", { run_config: '{"hostname":"kasm"}' }, { runConfig: { hostname: "kasm" } }],
    [
      "a config that is not JSON, kept as text",
      { run_config: "{oops" },
      { runConfig: {}, invalidConfigs: [{ field: "runConfig", text: "{oops" }] },
    ],
    [
      "configs that are JSON but not objects",
      { exec_config: "[1]", volume_mappings: "42" },
      {
        invalidConfigs: [
          { field: "execConfig", text: "[1]" },
          { field: "volumeMappings", text: "42" },
        ],
      },
    ],
    [
      "a masked token",
      { docker_token: "**********", docker_user: "ci" },
      { dockerTokenSet: true, dockerUser: "ci" },
    ],
    ["a zone restriction", { restrict_to_zone: true, zone_id: "z1" }, { restrictedZone: "z1" }],
    [
      "a zone named by Kasm",
      { restrict_to_zone: true, zone_id: "z1", zone_name: "eu-west" },
      { restrictedZone: "eu-west" },
    ],
    ["a zone id without the restriction", { zone_id: "z1" }, { restrictedZone: null }],
    ["a server", { server_id: "s1", image_type: "Server" }, { restrictedServer: "s1", imageType: "Server" }],
  ])("%s", (_, over, expected) => {
    const decoded = decodeImportRecord(wire(over));
    expect(decoded.record).toMatchObject(expected);
  });

  it.each<[string, unknown, RegExp]>([
    ["no image_id", wire({ image_id: undefined }), /image_id/],
    ["cores as text", wire({ cores: "many" }), /cores is "many", expected a number/],
    ["not an object", "nope", /an image record to be an object/],
  ])("sets aside a record it cannot read: %s", (_, raw, reason) => {
    const decoded = decodeImportRecord(raw);
    expect(decoded.record).toBeUndefined();
    expect(decoded.unreadable).toMatch(reason);
  });
});
