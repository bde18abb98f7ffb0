import { didYouMean } from "../suggest.js";
import { type LoadedDocument, type ManifestFile, parseManifestFiles } from "./load.js";
import { checkSemantics, type DocRef, type Identified } from "./rules.js";
import { describeSchemaErrors, describeValue, type Finding } from "./schema-errors.js";
import { KIND_VALIDATORS } from "./schemas.js";
import { checkSecretRefs, type SecretPolicy } from "./secret-policy.js";
import {
  API_VERSION,
  type KasmServerManifest,
  KINDS,
  type Kind,
  type Manifest,
  type ManifestSet,
  type Problem,
  type SettingsManifest,
} from "./types.js";
import { positionIn } from "./yaml-positions.js";

export type ValidationResult = { set: ManifestSet; problems: Problem[] };
/** Secret references are checked against `policy` when given, as errors or (validate) warnings. */
export type ValidationOptions = { secrets?: { policy: SecretPolicy; severity: "error" | "warning" } };

/** Problems in the order a reader fixes them: by file, line, then column. */
export function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort((a, b) =>
    a.file !== b.file ? (a.file < b.file ? -1 : 1) : a.line - b.line || a.col - b.col,
  );
}

/** `file:line:col: error: message`, the form editors and CI annotate. */
export const formatProblem = (p: Problem): string =>
  `${p.file}:${p.line}:${p.col}: ${p.severity}: ${p.message}${p.detail ? ` (YAML parser: ${p.detail})` : ""}`;

/** Reads apiVersion and kind first: a document of another version or kind is not checked against v1's schemas. */
function identify(data: Record<string, unknown>): { kind?: Kind; finding?: Finding } {
  const missing = (property: string): Finding => ({
    pointer: "",
    part: "value",
    code: "missing-property",
    message: `the document is missing the required property "${property}"`,
  });
  if (!("apiVersion" in data)) return { finding: missing("apiVersion") };
  if (data.apiVersion !== API_VERSION) {
    return {
      finding: {
        pointer: "/apiVersion",
        part: "value",
        code: "unsupported-api-version",
        message: `apiVersion must be "${API_VERSION}", got ${describeValue(data.apiVersion)}`,
      },
    };
  }
  if (!("kind" in data)) return { finding: missing("kind") };
  const kind = data.kind;
  if (typeof kind !== "string" || !(KINDS as readonly string[]).includes(kind)) {
    const hint = typeof kind === "string" ? didYouMean(kind, KINDS) : "";
    return {
      finding: {
        pointer: "/kind",
        part: "value",
        code: "unknown-kind",
        message: `kind must be one of ${KINDS.join(", ")}, got ${describeValue(kind)}${hint}`,
      },
    };
  }
  return { kind: kind as Kind };
}

/** One empty set for the many valid documents, instead of one each. */
const NONE_FLAGGED: ReadonlySet<string> = new Set();

/** Checks loaded documents against the schemas and the rules in docs/manifests.md; the set holds the valid ones. */
export function validateManifests(
  documents: readonly LoadedDocument[],
  options: ValidationOptions = {},
): ValidationResult {
  const problems: Problem[] = [];
  const items: Identified[] = [];
  const manifests: Manifest[] = [];
  for (const doc of documents) {
    const ref: DocRef = {
      where: (pointer, part = "value") => {
        const p = positionIn(doc.file, doc.positions, pointer, part);
        return `${p.file}:${p.line}:${p.col}`;
      },
      add: (f) =>
        problems.push({
          ...positionIn(doc.file, doc.positions, f.pointer, f.part),
          severity: f.severity ?? "error",
          code: f.code,
          message: f.message,
        }),
    };
    const { kind, finding } = identify(doc.data);
    if (finding) ref.add(finding);
    if (!kind) continue;
    const validate = KIND_VALIDATORS[kind];
    const valid = validate(doc.data);
    const findings = valid ? [] : describeSchemaErrors(validate.errors ?? [], doc.data);
    for (const f of findings) ref.add(f);
    const name = (doc.data.metadata as { name?: unknown } | null | undefined)?.name;
    items.push({
      kind,
      ...(typeof name === "string" ? { name } : {}),
      data: doc.data,
      flagged: findings.length === 0 ? NONE_FLAGGED : new Set(findings.map((f) => f.pointer)),
      ref,
    });
    if (valid) manifests.push({ ...doc.data, source: doc.source } as Manifest);
  }
  checkSemantics(items);
  if (options.secrets) checkSecretRefs(items, options.secrets.policy, options.secrets.severity);
  const set: ManifestSet = { registries: [], agents: [], workspaces: [], notifications: [] };
  for (const m of manifests) {
    if (m.kind === "Registry") set.registries.push(m);
    else if (m.kind === "Agent") set.agents.push(m);
    else if (m.kind === "Workspace") set.workspaces.push(m);
    else if (m.kind === "KasmServer") set.kasmServer ??= m as KasmServerManifest;
    else if (m.kind === "Notification") set.notifications!.push(m);
    else set.settings ??= m as SettingsManifest;
  }
  return { set, problems: sortProblems(problems) };
}

/** Both steps for files already read: parse with positions, then validate. */
export function checkManifestFiles(
  files: readonly ManifestFile[],
  options: ValidationOptions = {},
): ValidationResult {
  const loaded = parseManifestFiles(files);
  const validated = validateManifests(loaded.documents, options);
  return { set: validated.set, problems: sortProblems([...loaded.problems, ...validated.problems]) };
}

/** True when the problems include an error (warnings alone keep a manifest set usable). */
export const hasErrors = (problems: readonly Problem[]): boolean =>
  problems.some((p) => p.severity === "error");
