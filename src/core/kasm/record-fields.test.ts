import { describe, expect, it } from "vitest";
import { workspace } from "../../../test/helpers/manifests.js";
import type { KasmWorkspaceSpec } from "../manifest/types.js";
import { desiredRecord, recordChanges } from "./desired.js";
import { KASM_RECORD_DEFAULTS, optionalFields, sessionSeconds } from "./record-fields.js";
import type { KasmRecord } from "./types.js";

const IMAGE = "reg.test:5000/kasm/chrome:1";
const ws = (kasm: KasmWorkspaceSpec) => workspace("chrome", { image: IMAGE, kasm });

/** A managed record as Kasm holds it: Git's fields for `kasm`, Kasm's defaults for the rest, then `edits`. */
function record(kasm: KasmWorkspaceSpec, edits: Partial<KasmRecord> = {}): KasmRecord {
  const { fields } = desiredRecord(ws(kasm), "kasm-gitops", new Map());
  return {
    ...KASM_RECORD_DEFAULTS,
    restrictNetworkNames: [],
    ...fields,
    imageId: "i1",
    dockerTokenSet: false,
    ...edits,
  };
}
const changes = (kasm: KasmWorkspaceSpec, edits: Partial<KasmRecord>) =>
  recordChanges(record(kasm, edits), desiredRecord(ws(kasm), "kasm-gitops", new Map()), undefined).changes;

describe("record fields Git owns only when the manifest names them", () => {
  it.each<[string, KasmWorkspaceSpec, Partial<KasmRecord>, string[]]>([
    ["an unnamed resolution edited in Kasm stays", {}, { xRes: 1920, yRes: 1080 }, []],
    [
      "a named resolution is put back",
      { resolution: { width: 1280, height: 720 } },
      { xRes: 1920 },
      ["xRes 1920→1280"],
    ],
    ["GPUs", { gpus: 1 }, { gpuCount: 0 }, ["gpuCount 0→1"]],
    ["unnamed GPUs stay", {}, { gpuCount: 2 }, []],
    [
      "a profile path",
      { persistentProfilePath: "/p/{username}" },
      { persistentProfilePath: "/q" },
      ['persistentProfilePath "/q"→"/p/{username}"'],
    ],
    [
      "an empty profile path clears Kasm's",
      { persistentProfilePath: "" },
      { persistentProfilePath: "/q" },
      ['persistentProfilePath "/q"→null'],
    ],
    ["an empty profile path matches none", { persistentProfilePath: "" }, {}, []],
    [
      "a session limit in seconds",
      { sessionTimeLimit: "2h" },
      { sessionTimeLimit: 3600 },
      ["sessionTimeLimit 3600→7200"],
    ],
    ["0s: no limit", { sessionTimeLimit: "0s" }, { sessionTimeLimit: 600 }, ["sessionTimeLimit 600→null"]],
    ["a launch form", { launchConfig: { a: 1 } }, { launchConfig: {} }, ['launchConfig {}→{"a":1}']],
    [
      "a network restriction",
      { restrictNetworks: ["lab"] },
      { restrictToNetwork: false, restrictNetworkNames: [] },
      ["restrictToNetwork false→true", 'restrictNetworkNames []→["lab"]'],
    ],
    [
      "[] lifts a restriction",
      { restrictNetworks: [] },
      { restrictToNetwork: true, restrictNetworkNames: ["x"] },
      ["restrictToNetwork true→false", 'restrictNetworkNames ["x"]→[]'],
    ],
    [
      "network selection",
      { allowNetworkSelection: true },
      { allowNetworkSelection: false },
      ["allowNetworkSelection false→true"],
    ],
    [
      "CPU allocation",
      { cpuAllocationMethod: "Quotas" },
      { cpuAllocationMethod: "Shares" },
      ['cpuAllocationMethod "Shares"→"Quotas"'],
    ],
    [
      "every field as Git has it: no change",
      {
        resolution: { width: 1, height: 2 },
        gpus: 1,
        sessionTimeLimit: "1m",
        restrictNetworks: ["n"],
        cpuAllocationMethod: "Quotas",
      },
      {},
      [],
    ],
  ])("%s", (_name, kasm, edits, expected) => {
    expect(
      changes(kasm, edits).map((c) => `${c.field} ${JSON.stringify(c.from)}→${JSON.stringify(c.to)}`),
    ).toEqual(expected);
  });

  it("a record built without the optional fields is compared as Kasm's nulls", () => {
    expect(optionalFields({})).toEqual({});
    expect(sessionSeconds("90m")).toBe(5400);
    expect(sessionSeconds("0s")).toBeNull();
  });
});
