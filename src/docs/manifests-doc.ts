import { readdirSync, readFileSync } from "node:fs";

/** The part of JSON Schema (draft-07) our schemas use and the reference page shows. */
export type SchemaNode = {
  $id?: string;
  $ref?: string;
  title?: string;
  description?: string;
  type?: string;
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minProperties?: number;
  maxProperties?: number;
  uniqueItems?: boolean;
  required?: string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  dependencies?: Record<string, string[]>;
  definitions?: Record<string, SchemaNode>;
  allOf?: unknown[];
};

/** A schema file by its file name, e.g. `agent.schema.json`. */
export type SchemaFile = { file: string; schema: SchemaNode };

/** Every `*.schema.json` in `dir`, sorted by name, so a schema added later is documented without code changes. */
export function readSchemaFiles(dir: URL): SchemaFile[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith(".schema.json"))
    .sort()
    .map((file) => ({ file, schema: JSON.parse(readFileSync(new URL(file, dir), "utf8")) as SchemaNode }));
}

type Row = { field: string; type: string; required: boolean; default?: unknown; description: string };

const code = (text: string) => `\`${text}\``;
/** A table cell: `|` escaped (GitHub renders `\|` as `|`, inside code spans too). */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const json = (value: unknown) => code(typeof value === "string" ? value : JSON.stringify(value));

/** `file.json#/definitions/x` → `x` when it names a shared definition, so the type links to its section. */
function definitionName(ref: string): string | undefined {
  return /#\/definitions\/([^/]+)$/.exec(ref)?.[1];
}

/** The node a `$ref` points at, merged under the referring node (the referring description wins). */
function resolve(node: SchemaNode, files: SchemaFile[], from: SchemaFile): SchemaNode {
  if (!node.$ref) return node;
  const [file, pointer = ""] = node.$ref.split("#");
  const target = file ? files.find((f) => f.file === file) : from;
  const name = definitionName(node.$ref);
  const resolved = name ? target?.schema.definitions?.[name] : pointer === "" ? target?.schema : undefined;
  if (!resolved) throw new Error(`${from.file}: $ref ${node.$ref} does not resolve`);
  const { $ref: _, ...local } = node;
  return { ...resolve(resolved, files, target ?? from), ...local };
}

/** Shared definitions simple enough to show inline rather than as a link to their section. */
const INLINE = new Set(["name", "apiVersion"]);
/** The shared definition a field links to, when it does. */
const linked = (node: SchemaNode) => {
  const name = node.$ref === undefined ? undefined : definitionName(node.$ref);
  return name !== undefined && !INLINE.has(name) ? name : undefined;
};

function typeOf(node: SchemaNode, files: SchemaFile[], from: SchemaFile): string {
  const name = linked(node);
  if (name) return `[${name}](#${name.toLowerCase()})`;
  if (node.$ref) return typeOf(resolve(node, files, from), files, from);
  if (node.anyOf) return node.anyOf.map((n) => typeOf(n, files, from)).join(" or ");
  if (node.type === "array") return `list of ${node.items ? typeOf(node.items, files, from) : "any"}`;
  if (node.type === "object" && typeof node.additionalProperties === "object") {
    return `map of ${typeOf(node.additionalProperties, files, from)}`;
  }
  return node.type ?? "any";
}

/** Limits a reader needs to write a valid value, in words. */
function constraints(node: SchemaNode): string[] {
  const out: string[] = [];
  if (node.const !== undefined) out.push(`Always ${json(node.const)}.`);
  if (node.enum) out.push(`One of ${node.enum.map(json).join(", ")}.`);
  if (node.minLength !== undefined && node.minLength > 1) out.push(`At least ${node.minLength} characters.`);
  if (node.maxLength !== undefined) out.push(`At most ${node.maxLength} characters.`);
  if (node.minimum !== undefined) out.push(`Minimum ${node.minimum}.`);
  if (node.maximum !== undefined) out.push(`Maximum ${node.maximum}.`);
  if (node.uniqueItems) out.push("No duplicates.");
  if (node.pattern) out.push(`Pattern ${code(node.pattern)}.`);
  for (const [field, needs] of Object.entries(node.dependencies ?? {})) {
    out.push(`${code(field)} needs ${needs.map(code).join(", ")}.`);
  }
  if (node.minProperties === 1 && node.maxProperties === 1) out.push("Exactly one of its fields.");
  return out;
}

/** One row per field, depth first, with dotted paths (`spec.docker.tls.ca`; `[]` for list items). */
function rows(node: SchemaNode, prefix: string, files: SchemaFile[], from: SchemaFile): Row[] {
  const out: Row[] = [];
  for (const [key, raw] of Object.entries(node.properties ?? {})) {
    const field = `${prefix}${key}`;
    const shared = linked(raw) !== undefined;
    const resolved = resolve(raw, files, from);
    const row: Row = {
      field,
      type: typeOf(raw, files, from),
      required: node.required?.includes(key) ?? false,
      description: [resolved.description ?? "", ...constraints(shared ? raw : resolved)].join(" ").trim(),
    };
    if (resolved.default !== undefined) row.default = resolved.default;
    out.push(row);
    if (shared) continue;
    out.push(...rows(resolved, `${field}.`, files, from));
    const item = resolved.items && resolve(resolved.items, files, from);
    if (item?.properties) out.push(...rows(item, `${field}[].`, files, from));
  }
  return out;
}

function table(list: Row[]): string[] {
  return [
    "| Field | Type | Required | Default | Description |",
    "| --- | --- | --- | --- | --- |",
    ...list.map(
      (r) =>
        `| ${code(r.field)} | ${cell(r.type)} | ${r.required ? "yes" : "no"} | ${r.default === undefined ? "" : cell(json(r.default))} | ${cell(r.description)} |`,
    ),
  ];
}

/**
 * The checks no schema can express (the rule files of src/core: `rules.ts`, `*-rules.ts`); kept here so the reference page lists every
 * problem code, and a unit test fails when a rule file uses a code this list lacks.
 */
export const CROSS_DOCUMENT_RULES: [code: string, severity: "error" | "warning", rule: string][] = [
  ["duplicate-name", "error", "Two documents of the same kind have the same `metadata.name`."],
  ["multiple-settings", "error", "More than one Settings document."],
  ["invalid-duration", "error", "Settings' `spec.interval` is shorter than 1s."],
  [
    "invalid-cron",
    "error",
    "`spec.refreshSchedule`, a workspace's `spec.refresh` or its `spec.update.schedule` is not a cron expression.",
  ],
  [
    "invalid-update-policy",
    "error",
    "A workspace's `spec.update` does not compile: `filter.pattern` is no regular expression, `filter.extract` names a group the pattern lacks, `range` is no semver range, or `range` is given for a policy other than semver.",
  ],
  [
    "invalid-registry-host",
    "error",
    "A Registry's `spec.host` is not something Docker reads as a registry host (it needs a dot, a port, or `localhost`), or its port is outside 1–65535.",
  ],
  [
    "refresh-too-often",
    "error",
    "A refresh cron runs more often than once a minute (error) or than every 5 minutes (warning).",
  ],
  [
    "invalid-docker-host",
    "error",
    "An Agent's `spec.docker.host` is not `unix:///path` or `tcp://host[:port]` with a port of 1–65535; the connection uses the same rule.",
  ],
  [
    "tls-on-unix-socket",
    "error",
    "An Agent on a unix socket has `spec.docker.tls`, which a socket cannot use.",
  ],
  ["invalid-image", "error", "A workspace's `spec.image` is not a reference Docker accepts."],
  [
    "image-missing-tag",
    "error",
    "A workspace's image has neither tag nor digest; Kasm would leave it installing forever.",
  ],
  ["unknown-registry", "error", "`spec.registry` names no Registry document."],
  [
    "registry-host-mismatch",
    "error",
    "The image's host is not the host of the Registry the workspace names, so Kasm would pull it without that Registry's credentials.",
  ],
  [
    "selector-matches-nothing",
    "warning",
    "`spec.agents.matchLabels` matches no Agent: the workspace is served nowhere.",
  ],
  ["unknown-workspace", "error", "`promotion.from` names no Workspace."],
  ["promotion-self", "error", "`promotion.from` names the workspace itself."],
  [
    "promotion-other-repository",
    "error",
    "`promotion.from` serves another image repository, so its digests prove nothing here.",
  ],
  ["promotion-cycle", "error", "`promotion.from` links go round in a circle."],
  [
    "auto-promotion-without-smoke",
    "error",
    "`promotion.auto` is set but the `promotion.from` workspace has no smoke tests, so nothing would gate the automatic promotion.",
  ],
  [
    "moving-tag-is-image-tag",
    "warning",
    "A moving tag is the image's own tag, so promoting it changes nothing.",
  ],
  ["multiple-kasm-servers", "error", "More than one KasmServer document."],
  ["invalid-url", "error", "A KasmServer's `spec.url` is not a URL."],
  [
    "credentials-in-url",
    "error",
    "A KasmServer's `spec.url` carries a user or password; the API key has its own fields.",
  ],
  [
    "insecure-kasm-url",
    "error",
    "A KasmServer's `spec.url` is plain `http://` to a host other than loopback, so the API key would cross the network in clear.",
  ],
  ["invalid-quantity", "error", "A workspace's `spec.kasm.memory` is not a memory quantity."],
  ["duplicate-image-id", "error", "Two workspaces adopt the same Kasm image record (`spec.kasm.imageId`)."],
  [
    "invalid-duration",
    "error",
    "A workspace's `spec.kasm.sessionTimeLimit` is not a whole number of seconds (Kasm keeps seconds).",
  ],
  [
    "invalid-value",
    "error",
    "A workspace's `spec.kasm.persistentProfilePath` is an `s3://` path without a trailing `/`, which Kasm would add (drift every cycle).",
  ],
  [
    "smoke-without-user",
    "error",
    "A workspace asks for a smoke test (`spec.smoke`) but no KasmServer names the Kasm user it runs as (`spec.smoke.user`).",
  ],
  ["invalid-duration", "error", "A workspace's `spec.smoke.timeout` is shorter than 1s."],
  [
    "kasm-server-missing",
    "warning",
    "A workspace sets `spec.kasm.pinDigest` but the repo has no KasmServer, so no record is written to pin.",
  ],
  [
    "kasm-placement",
    "warning",
    "With a KasmServer and Agents naming their Kasm agents (`spec.kasm`), a workspace's agents are neither one agent nor exactly the Agents of one zone (`spec.kasm.zone`), so Kasm may launch its record on other agents; at its `spec.agents.matchLabels` (its `spec.image` without one). Quiet with `spec.kasm.placement: any`; `plan` says the same from Kasm's own list of agents.",
  ],
];

/** The kind a schema file describes (`properties.kind.const`), if any. */
const kindOf = (f: SchemaFile) => f.schema.properties?.kind?.const as string | undefined;

/** docs/manifests.md from the schemas: every kind and field, then the shared definitions, in a stable order. */
export function renderManifestDocs(files: SchemaFile[]): string {
  const envelope = files.find((f) => f.schema.properties?.kind?.enum);
  const order = (envelope?.schema.properties?.kind?.enum ?? []) as string[];
  const rank = (kind: string) => (order.includes(kind) ? order.indexOf(kind) : order.length);
  const kinds = files
    .filter((f) => kindOf(f) !== undefined)
    .sort((a, b) => rank(kindOf(a)!) - rank(kindOf(b)!) || kindOf(a)!.localeCompare(kindOf(b)!));
  const lines: string[] = [
    "# Manifest reference",
    "",
    "<!-- Generated from schemas/*.schema.json by `npm run docs`; do not edit by hand. -->",
    "",
    "Every document in a manifest repo is YAML with `apiVersion: kasm-gitops/v1`, a `kind`, `metadata`",
    "(a `name` unique per kind, optional `labels`) and a `spec` whose fields depend on the kind. The JSON",
    "Schemas in `schemas/` are the source of truth; this page is generated from them. Point your editor's",
    "YAML schema setting at `schemas/manifest.schema.json` to get the same checks while you type.",
    "",
    `Kinds: ${kinds.map((f) => `[${kindOf(f)}](#${kindOf(f)!.toLowerCase()})`).join(", ")}.`,
    "",
  ];
  for (const f of kinds) {
    lines.push(`## ${kindOf(f)}`, "", `${f.schema.description ?? ""} Schema: \`schemas/${f.file}\`.`, "");
    lines.push(...table(rows(f.schema, "", files, f)), "");
  }
  lines.push(
    "## Rules across documents",
    "",
    "A manifest set is valid only as a whole. Beyond each document's schema, `validate`, `plan` and the",
    "daemon check these rules; an error refuses the whole revision, a warning is reported and allowed",
    "(`validate --strict` refuses warnings too). Every problem names its file, line and column.",
    "",
    "| Code | Severity | Problem |",
    "| --- | --- | --- |",
    ...CROSS_DOCUMENT_RULES.map(([c, severity, rule]) => `| ${code(c)} | ${severity} | ${cell(rule)} |`),
    "",
  );
  const shared = files.filter((f) => f.schema.definitions);
  for (const f of shared) {
    lines.push(
      "## Shared definitions",
      "",
      `${f.schema.description ?? ""} Schema: \`schemas/${f.file}\`.`,
      "",
    );
    for (const [name, def] of Object.entries(f.schema.definitions ?? {})) {
      lines.push(`### ${name}`, "", `Type: ${typeOf(def, files, f)}. ${def.description ?? ""}`.trim());
      const limits = constraints(def);
      if (limits.length > 0) lines.push("", limits.join(" "));
      if (def.properties) lines.push("", ...table(rows(def, "", files, f)));
      lines.push("");
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
