/**
 * How the lab proxy sees a request: its kind (manifest HEAD, blob GET…), its repository, and whether
 * an injection rule applies, so counters and rules speak the registry API's language, not URLs.
 */

export type RequestKind =
  | "ping"
  | "token"
  | "manifest-head"
  | "manifest-get"
  | "manifest-put"
  | "manifest-delete"
  | "blob-head"
  | "blob-get"
  | "blob-upload"
  | "tags"
  | "catalog"
  | "other";

/** What a request is about, as rules and counters see it. */
export type RequestFacts = { method: string; path: string; kind: RequestKind; repository?: string };

export type InjectRule = {
  match:
    | ((req: RequestFacts) => boolean)
    | { method?: string; kind?: RequestKind; pathPattern?: RegExp | string };
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** How many matching requests get this answer before the rule lets them through. */
  times: number;
};

/** Classifies a registry API path, so counters speak of manifest HEADs and blob GETs, not URLs. */
export function classify(method: string, path: string): RequestFacts {
  const base = { method, path };
  if (path === "/token") return { ...base, kind: "token" };
  if (path === "/v2/" || path === "/v2") return { ...base, kind: "ping" };
  if (path === "/v2/_catalog") return { ...base, kind: "catalog" };
  const upload = /^\/v2\/(.+)\/blobs\/uploads(?:\/.*)?$/.exec(path);
  if (upload) return { ...base, kind: "blob-upload", repository: upload[1]! };
  const tags = /^\/v2\/(.+)\/tags\/list$/.exec(path);
  if (tags) return { ...base, kind: "tags", repository: tags[1]! };
  const item = /^\/v2\/(.+)\/(manifests|blobs)\/[^/]+$/.exec(path);
  if (!item) return { ...base, kind: "other" };
  const repository = item[1]!;
  const prefix = item[2] === "manifests" ? "manifest" : "blob";
  const verb = method === "HEAD" ? "head" : method === "GET" ? "get" : method === "DELETE" ? "delete" : "put";
  const kind = `${prefix}-${verb}` as RequestKind;
  return {
    ...base,
    kind: prefix === "blob" && verb !== "head" && verb !== "get" ? "other" : kind,
    repository,
  };
}

export function matches(rule: InjectRule, facts: RequestFacts): boolean {
  if (typeof rule.match === "function") return rule.match(facts);
  const { method, kind, pathPattern } = rule.match;
  if (method && method !== facts.method) return false;
  if (kind && kind !== facts.kind) return false;
  if (pathPattern === undefined) return true;
  return typeof pathPattern === "string" ? facts.path.includes(pathPattern) : pathPattern.test(facts.path);
}

export function schemeOf(header: string | undefined): "none" | "basic" | "bearer" | "other" {
  if (!header) return "none";
  const scheme = header.split(" ")[0]!.toLowerCase();
  return scheme === "basic" || scheme === "bearer" ? scheme : "other";
}
