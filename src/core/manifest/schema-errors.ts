import type { ErrorObject } from "ajv";
import { didYouMean } from "../suggest.js";
import { SECRET_ENV_PREFIX } from "./secret-policy.js";
import type { ProblemCode } from "./types.js";
import { pointerSegment } from "./yaml-positions.js";

/** A problem before it has a file position: where in the document (JSON pointer) and what. */
export type Finding = {
  pointer: string;
  /** Point at the key (`spec:`) or at the value. */
  part: "key" | "value";
  code: ProblemCode;
  message: string;
  severity?: "error" | "warning";
};

/** What each schema pattern means, in words; a test checks every pattern of schemas/ has one. */
export const PATTERN_HINTS: Record<string, string> = {
  "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$":
    "a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit",
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$":
    "a label key: letters, digits, '-', '_' and '.', optionally after a DNS prefix and '/' (ring, example.com/zone)",
  "^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$":
    "a label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
  "^[A-Za-z_][A-Za-z0-9_]*$":
    "an environment variable name: letters, digits and '_', not starting with a digit",
  "^/.*[^/]$": "an absolute file path such as /run/secrets/registry-password",
  "^\\s*(\\d+(ms|s|m|h))+\\s*$": "a duration such as 30s, 2m, 1h or 1h30m",
  "^[^/\\s]+$":
    "host[:port] as written in image references, without scheme or path (registry.example.com:5000)",
  "^(unix:///\\S+|tcp://[^/\\s]+/?)$": "unix:///path/to/docker.sock or tcp://host:port",
  "^[^\\s~^:?*\\[\\\\]+$": "a Git branch name (no spaces or ~ ^ : ? * [ \\)",
  "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$":
    "a tag: letters, digits, '_', '.' and '-', at most 128 characters, not starting with '.' or '-'",
  "^https?://[^\\s/?#]+(/[^\\s?#]*)?$": "an http(s) URL such as https://kasm.example.com",
  "^[0-9a-f]{32}$": "a Kasm record id: 32 lower-case hex digits without dashes",
  "^[^\\r\\n]+$": "one line of text",
};

const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  integer: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  array: "a list",
  null: "empty",
};

/** `spec.auth.password`, `spec.groups[1]`; the document itself when the pointer is empty. */
export function fieldName(pointer: string): string {
  if (pointer === "") return "the document";
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((path, s) => (/^\d+$/.test(s) ? `${path}[${s}]` : path ? `${path}.${s}` : s), "");
}

/** How a value given in YAML reads in a message. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string")
    return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}…` : value)}`;
  return `the ${typeof value} ${String(value)}`;
}

const isSecretRef = (e: ErrorObject) => /\/definitions\/secretRef\/[^/]+$/.test(e.schemaPath);

/** `CORP_PASSWORD` for the password of registry corp: a name the operator can adopt as is. */
function suggestedEnv(pointer: string, name: unknown): string {
  // apiKeySecret → API_KEY_SECRET, so the suggestion reads like the variables operators already have.
  const field = pointer.slice(pointer.lastIndexOf("/") + 1).replaceAll(/([a-z0-9])([A-Z])/g, "$1_$2");
  const base = typeof name === "string" && name ? `${name}_${field}` : field;
  return base.toUpperCase().replaceAll(/[^A-Z0-9]+/g, "_");
}

/** Keeps what a human needs from ajv's output: branch mismatches of a failed anyOf are noise. */
function prune(errors: readonly ErrorObject[]): ErrorObject[] {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === "anyOf").map((e) => e.instancePath));
  const kept = errors.filter(
    (e) =>
      e.keyword !== "if" &&
      !e.schemaPath.includes("/propertyNames/") &&
      !(anyOfPaths.has(e.instancePath) && e.keyword === "type"),
  );
  // An anyOf whose branches left a precise error (e.g. in {env: …}) is said by that error alone.
  return kept.filter(
    (e) =>
      e.keyword !== "anyOf" ||
      !kept.some(
        (o) => o !== e && o.keyword !== "anyOf" && `${o.instancePath}/`.startsWith(`${e.instancePath}/`),
      ),
  );
}

/** Turns ajv's errors for one document into findings worded for the person who wrote it. */
export function describeSchemaErrors(
  errors: readonly ErrorObject[],
  data: Record<string, unknown>,
): Finding[] {
  const name = (data.metadata as { name?: unknown } | undefined)?.name;
  return prune(errors).map((e) => describe(e, name));
}

function describe(e: ErrorObject, name: unknown): Finding {
  const pointer = e.instancePath;
  const field = fieldName(pointer);
  const params = e.params as Record<string, unknown>;
  const finding = (
    code: ProblemCode,
    message: string,
    part: Finding["part"] = "value",
    at = pointer,
  ): Finding => ({
    pointer: at,
    part,
    code,
    message,
  });
  switch (e.keyword) {
    case "additionalProperties": {
      const property = String(params.additionalProperty);
      const allowed = Object.keys((e.parentSchema?.properties as object | undefined) ?? {});
      const where = pointer === "" ? "at the top level" : `in ${field}`;
      return finding(
        "unknown-property",
        `unknown property "${property}" ${where}${didYouMean(property, allowed)}; allowed: ${allowed.join(", ")}`,
        "key",
        `${pointer}/${pointerSegment(property)}`,
      );
    }
    case "required":
      return finding(
        "missing-property",
        `${field} is missing the required property "${params.missingProperty}"`,
        "key",
      );
    case "dependencies":
      return finding(
        "missing-property",
        `${field}.${params.property} needs ${field}.${params.missingProperty} too`,
        "key",
      );
    case "type":
      if (isSecretRef(e) && e.data !== null && typeof e.data !== "object") {
        const env = suggestedEnv(pointer, name);
        return finding(
          "literal-secret",
          `${field} holds a literal secret, and secrets never sit in Git: write {env: ${SECRET_ENV_PREFIX}${env}} to read it from an environment variable, or {file: /run/secrets/${env.toLowerCase().replaceAll("_", "-")}} to read it from a file`,
        );
      }
      return finding(
        "wrong-type",
        `${field} must be ${isSecretRef(e) ? "a secret reference {env: NAME} or {file: /path}" : (TYPE_WORDS[String(params.type)] ?? params.type)}, got ${describeValue(e.data)}${params.type === "string" && (typeof e.data === "number" || typeof e.data === "boolean") ? " (quote it to keep it a string)" : ""}`,
      );
    case "anyOf":
      return finding(
        "wrong-type",
        `${field} must be a string or a secret reference {env: NAME} / {file: /path}, got ${describeValue(e.data)}`,
      );
    case "const":
    case "enum": {
      const allowed = (
        e.keyword === "const" ? [params.allowedValue] : (params.allowedValues as unknown[])
      ).map(String);
      const given = typeof e.data === "string" ? didYouMean(e.data, allowed) : "";
      return finding(
        "invalid-value",
        `${field} must be ${allowed.map((a) => `"${a}"`).join(" or ")}, got ${describeValue(e.data)}${given}`,
      );
    }
    case "pattern": {
      const hint = PATTERN_HINTS[String(params.pattern)] ?? `text matching ${params.pattern}`;
      return finding("invalid-format", `${field} ${JSON.stringify(e.data)} is not valid: expected ${hint}`);
    }
    case "propertyNames": {
      const key = String(params.propertyName);
      const pattern = String((e.schema as { pattern?: string } | undefined)?.pattern ?? "");
      const hint = PATTERN_HINTS[pattern] ?? "a valid key";
      return finding(
        "invalid-format",
        `key "${key}" in ${field} is not valid: expected ${hint}`,
        "key",
        `${pointer}/${pointerSegment(key)}`,
      );
    }
    case "minLength":
      return params.limit === 1
        ? finding("too-short", `${field} must not be empty`)
        : finding(
            "too-short",
            `${field} must be at least ${params.limit} characters, got ${describeValue(e.data)}`,
          );
    case "maxLength":
      return finding(
        "too-long",
        `${field} must be at most ${params.limit} characters, got ${String(e.data).length}`,
      );
    case "minimum":
    case "maximum":
      return finding(
        "out-of-range",
        `${field} must be ${e.keyword === "minimum" ? "at least" : "at most"} ${params.limit}, got ${describeValue(e.data)}`,
      );
    case "exclusiveMinimum":
      return finding(
        "out-of-range",
        `${field} must be more than ${params.limit}, got ${describeValue(e.data)}`,
      );
    case "minProperties":
    case "maxProperties":
      return isSecretRef(e)
        ? finding("invalid-secret-ref", `${field} must name exactly one source: {env: NAME} or {file: /path}`)
        : finding("invalid-value", `${field} ${e.message}`);
    case "uniqueItems":
      return finding(
        "duplicate-item",
        `${field} lists ${describeValue((e.data as unknown[])[Number(params.i)])} twice (entries ${Math.min(Number(params.i), Number(params.j)) + 1} and ${Math.max(Number(params.i), Number(params.j)) + 1})`,
        "value",
        `${pointer}/${Math.max(Number(params.i), Number(params.j))}`,
      );
    default:
      return finding("schema-violation", `${field} ${e.message}`);
  }
}
