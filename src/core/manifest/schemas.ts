import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import type { Kind } from "./types.js";

/** schemas/*.schema.json are published for editors and are the source of truth; they are read once, beside src/ or dist/. */
const SCHEMA_DIR = new URL("../../../schemas/", import.meta.url);
export const SCHEMA_FILES = {
  common: "common.schema.json",
  Registry: "registry.schema.json",
  Agent: "agent.schema.json",
  Workspace: "workspace.schema.json",
  Settings: "settings.schema.json",
  KasmServer: "kasm-server.schema.json",
  Notification: "notification.schema.json",
  manifest: "manifest.schema.json",
} as const;

export type JsonSchema = {
  $id: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  [keyword: string]: unknown;
};

const read = (name: string) => JSON.parse(readFileSync(new URL(name, SCHEMA_DIR), "utf8")) as JsonSchema;

/** Every schema, parsed, by kind (plus `common` and `manifest`). */
export const SCHEMAS: Record<keyof typeof SCHEMA_FILES, JsonSchema> = Object.fromEntries(
  Object.entries(SCHEMA_FILES).map(([key, file]) => [key, read(file)]),
) as Record<keyof typeof SCHEMA_FILES, JsonSchema>;

/** One ajv, compiled once per process: strict, so a schema mistake fails loudly; verbose, for human messages. */
export const ajv = new Ajv({ strict: true, allErrors: true, verbose: true });
ajv.addSchema(Object.values(SCHEMAS));

const compiled = (schema: JsonSchema): ValidateFunction => {
  const validate = ajv.getSchema(schema.$id);
  if (!validate) throw new Error(`schema ${schema.$id} did not compile`);
  return validate;
};

/** The validator of each kind's schema. */
export const KIND_VALIDATORS: Record<Kind, ValidateFunction> = {
  Registry: compiled(SCHEMAS.Registry),
  Agent: compiled(SCHEMAS.Agent),
  Workspace: compiled(SCHEMAS.Workspace),
  Settings: compiled(SCHEMAS.Settings),
  KasmServer: compiled(SCHEMAS.KasmServer),
  Notification: compiled(SCHEMAS.Notification),
};
