import { describe, expect, it } from "vitest";
import { closest } from "../suggest.js";
import { PATTERN_HINTS } from "./schema-errors.js";
import { ajv, type JsonSchema, SCHEMAS } from "./schemas.js";
import { selectorMatches } from "./selectors.js";

/** The validator of manifest.schema.json (any kind), as editors use it. */
const validateAnyManifest = ajv.getSchema(SCHEMAS.manifest.$id)!;

type Visit = (schema: JsonSchema, path: string) => void;
/** Every subschema with its path, through properties, definitions and the applicators the schemas use. */
function walk(schema: JsonSchema, path: string, visit: Visit): void {
  visit(schema, path);
  for (const key of ["properties", "definitions"] as const) {
    for (const [name, child] of Object.entries(schema[key] ?? {}))
      walk(child, `${path}/${key}/${name}`, visit);
  }
  for (const key of ["items", "additionalProperties", "propertyNames", "then", "if"]) {
    const child = schema[key];
    if (child && typeof child === "object") walk(child as JsonSchema, `${path}/${key}`, visit);
  }
  for (const key of ["anyOf", "allOf"]) {
    for (const [i, child] of ((schema[key] as JsonSchema[] | undefined) ?? []).entries())
      walk(child, `${path}/${key}/${i}`, visit);
  }
}
const everySchema = () => {
  const all: [string, JsonSchema][] = [];
  for (const [name, schema] of Object.entries(SCHEMAS)) walk(schema, name, (s, path) => all.push([path, s]));
  return all;
};

describe("schemas/", () => {
  it("have distinct $ids and a title and description each", () => {
    const ids = Object.values(SCHEMAS).map((s) => s.$id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const schema of Object.values(SCHEMAS))
      expect(schema).toMatchObject({ title: expect.any(String), description: expect.any(String) });
  });

  it("describe every property, for editors' hover help", () => {
    const missing = everySchema().flatMap(([path, s]) =>
      Object.entries(s.properties ?? {})
        .filter(([, p]) => !p.description)
        .map(([name]) => `${path}/${name}`),
    );
    expect(missing.filter((p) => !p.includes("/if/"))).toEqual([]);
  });

  it("close every object with additionalProperties: false unless it is a free map", () => {
    const open = everySchema().filter(
      ([path, s]) => s.properties && s.additionalProperties !== false && !path.includes("/if"),
    );
    expect(open.map(([path]) => path)).toEqual([]);
  });

  it("have a human hint for every pattern", () => {
    const patterns = everySchema().flatMap(([, s]) => (typeof s.pattern === "string" ? [s.pattern] : []));
    expect(patterns.length).toBeGreaterThan(8);
    expect(patterns.filter((p) => !(p in PATTERN_HINTS))).toEqual([]);
  });

  it.each([
    [{ kind: "Registry", spec: { host: "r.example.com" } }, true],
    [{ kind: "Workspace", spec: { image: "r.example.com/a:1" } }, true],
    [{ kind: "Workspace", spec: { host: "r.example.com" } }, false],
    [{ kind: "Thing", spec: {} }, false],
  ])("manifest.schema.json dispatches on kind: %j → %s", (partial, valid) => {
    expect(validateAnyManifest({ apiVersion: "kasm-gitops/v1", metadata: { name: "x" }, ...partial })).toBe(
      valid,
    );
  });
});

describe("helpers", () => {
  it.each([
    ["frendlyName", ["friendlyName", "image"], "friendlyName"],
    ["crop", ["corp", "hub"], "corp"],
    ["IMAGE", ["image"], "image"],
    ["zzz", ["image", "registry"], undefined],
  ])("closest(%s) → %s", (word, candidates, expected) => {
    expect(closest(word, candidates)).toBe(expected);
  });

  it.each([
    [undefined, {}, true],
    [{}, { ring: "testing" }, true],
    [{ ring: "testing" }, { ring: "testing", zone: "eu" }, true],
    [{ ring: "testing", zone: "us" }, { ring: "testing", zone: "eu" }, false],
    [{ ring: "testing" }, undefined, false],
  ])("selector %j matches labels %j: %s", (selector, labels, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});
