import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CROSS_DOCUMENT_RULES,
  readSchemaFiles,
  renderManifestDocs,
  type SchemaFile,
} from "./manifests-doc.js";

const root = new URL("../../", import.meta.url);

const common: SchemaFile = {
  file: "common.schema.json",
  schema: {
    description: "Shared.",
    definitions: {
      secretRef: { description: "A secret.", type: "object", properties: { env: { type: "string" } } },
      name: { description: "A DNS label.", type: "string", maxLength: 63 },
    },
  },
};
const thing: SchemaFile = {
  file: "thing.schema.json",
  schema: {
    description: "A thing.",
    type: "object",
    required: ["kind", "spec"],
    properties: {
      kind: { type: "string", const: "Thing" },
      spec: {
        type: "object",
        required: ["host"],
        properties: {
          host: { description: "Where | how.", type: "string", pattern: "^(a|b)$" },
          token: { $ref: "common.schema.json#/definitions/secretRef", description: "Its token." },
          owner: { $ref: "common.schema.json#/definitions/name", description: "Who owns it." },
          ports: {
            type: "array",
            default: [],
            items: { type: "object", properties: { number: { type: "integer", minimum: 1 } } },
          },
        },
      },
    },
  },
};

describe("renderManifestDocs", () => {
  const page = renderManifestDocs([common, thing]);

  it.each([
    ["a kind section per kind", "## Thing"],
    [
      "nested fields with dotted paths",
      "| `spec.host` | string | yes |  | Where \\| how. Pattern `^(a\\|b)$`. |",
    ],
    ["a shared type as a link", "| `spec.token` | [secretRef](#secretref) | no |  | Its token. |"],
    [
      "a plain shared type inline, with its limits",
      "| `spec.owner` | string | no |  | Who owns it. At most 63 characters. |",
    ],
    ["list items with [] paths and defaults", "| `spec.ports` | list of object | no | `[]` |"],
    ["fields of list items", "| `spec.ports[].number` | integer | no |  | Minimum 1. |"],
    ["shared definitions", "### secretRef"],
  ])("shows %s", (_what, line) => {
    expect(page).toContain(line);
  });

  it("refuses a $ref it cannot resolve, naming the file", () => {
    const broken: SchemaFile = {
      file: "broken.schema.json",
      schema: { properties: { kind: { const: "Broken" }, x: { $ref: "nope.schema.json" } } },
    };
    expect(() => renderManifestDocs([broken])).toThrow(/broken\.schema\.json: \$ref nope\.schema\.json/);
  });
});

describe("docs/manifests.md", () => {
  it("is what `npm run docs` generates from schemas/ (run it after changing a schema)", () => {
    const expected = renderManifestDocs(readSchemaFiles(new URL("schemas/", root)));
    const actual = readFileSync(new URL("docs/manifests.md", root), "utf8");
    expect(actual, "docs/manifests.md is stale: run `npm run docs`").toBe(expected);
  });
});

describe("the rules table", () => {
  const core = new URL("src/core/", root);
  // The rule files of every subject folder: manifest/rules.ts, manifest/promotion-rules.ts, kasm/rules.ts…
  const used = readdirSync(core, { recursive: true, encoding: "utf8" })
    .filter((file) => /(^|[/-])rules\.ts$/.test(file))
    .flatMap((file) => {
      const source = readFileSync(new URL(file, core), "utf8");
      const codes = [...source.matchAll(/error\(\s*(?:"[^"]*"|`[^`]*`|[\w.]+)\s*,\s*"([a-z0-9-]+)"/g)];
      return codes.map((m) => [file, m[1]!] as const);
    });

  it("finds the codes the rule files use", () => {
    expect(used.length).toBeGreaterThan(10);
  });

  it.each(used)("lists %s's code %s", (_file, code) => {
    expect(CROSS_DOCUMENT_RULES.map(([c]) => c)).toContain(code);
  });
});
