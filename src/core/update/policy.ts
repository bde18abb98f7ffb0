/**
 * Update policies (docs/automation.md): which of a repository's tags a Workspace moves to. The tags pass the
 * filter (a pattern and what to extract from it, in JavaScript's or Flux's spelling), then the policy orders
 * what was extracted (semver within a range, numerical, alphabetical); the newest one, when it is newer than
 * the tag in Git, is the candidate. Pure: data in, data out.
 */
import semver from "semver";
import type { UpdateSpec } from "../manifest/types.js";

/** Why a policy could not be compiled, and which field of `spec.update` says so. */
export class UpdatePolicyError extends Error {
  constructor(
    readonly pointer: "/spec/update/range" | "/spec/update/filter/pattern" | "/spec/update/filter/extract",
    message: string,
  ) {
    super(message);
  }
}

/** A tag's place in the policy's order: a semver version, a number or a string. */
type Key = semver.SemVer | number | string;

export type CompiledPolicy = {
  /**
   * What the filter extracts from a tag and the policy can order, or undefined when the tag is left out;
   * `anyRange` orders a version outside the range too (the tag in Git, which is never moved backwards).
   */
  keyOf(tag: string, anyRange?: boolean): Key | undefined;
  compare(a: Key, b: Key): number;
};

/** Flux's named groups `(?P<name>…)` in JavaScript's spelling `(?<name>…)`. */
export const jsPattern = (pattern: string) => pattern.replace(/\(\?P</g, "(?<");

/** Flux's `$name` and `${name}` in JavaScript's replacement spelling `$<name>`; `$1` and `$<name>` stay. */
export const jsExtract = (extract: string) =>
  extract.replace(/\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)/g, (_, braced, bare) => `$<${braced ?? bare}>`);

/** A tag as Flux's semver reads it: an optional `v`, and a missing minor or patch counted as 0. */
export function tagVersion(text: string): semver.SemVer | undefined {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+].*)?$/.exec(text);
  if (!match) return undefined;
  const [, major, minor = "0", patch = "0", rest = ""] = match;
  return semver.parse(`${major}.${minor}.${patch}${rest}`) ?? undefined;
}

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)$/;

/** Compiles a Workspace's `update`; throws UpdatePolicyError naming the field at fault. */
export function compilePolicy(spec: UpdateSpec): CompiledPolicy {
  let pattern: RegExp | undefined;
  if (spec.filter) {
    try {
      pattern = new RegExp(jsPattern(spec.filter.pattern), "g");
    } catch (error) {
      const detail = (error as Error).message.replace(/^Invalid regular expression: /, "");
      throw new UpdatePolicyError(
        "/spec/update/filter/pattern",
        `filter.pattern is not a regular expression: ${detail}`,
      );
    }
    const groups = new Set(Object.keys(new RegExp(`${pattern.source}|`).exec("")?.groups ?? {}));
    for (const [, name] of jsExtract(spec.filter.extract ?? "").matchAll(/\$<([^>]*)>/g)) {
      if (!groups.has(name!)) {
        const known = groups.size
          ? `it has ${[...groups].map((g) => `"${g}"`).join(", ")}`
          : "it has no named group";
        throw new UpdatePolicyError(
          "/spec/update/filter/extract",
          `filter.extract names the group "${name}" that filter.pattern does not have (${known})`,
        );
      }
    }
  }
  let range: semver.Range | undefined;
  if (spec.range !== undefined && spec.policy !== "semver") {
    throw new UpdatePolicyError(
      "/spec/update/range",
      `range applies only to policy: semver, not ${spec.policy}`,
    );
  }
  if (spec.policy === "semver") {
    try {
      range = new semver.Range(spec.range ?? "*");
    } catch (error) {
      throw new UpdatePolicyError(
        "/spec/update/range",
        `range "${spec.range}" is not a semver range (e.g. ">=1.16 <2", "^1.16", "1.x"): ${(error as Error).message}`,
      );
    }
  }
  const extract = spec.filter?.extract === undefined ? undefined : jsExtract(spec.filter.extract);
  const extracted = (tag: string): string | undefined => {
    if (!pattern) return tag;
    pattern.lastIndex = 0;
    if (!pattern.test(tag)) return undefined;
    pattern.lastIndex = 0;
    return extract === undefined ? tag : tag.replace(pattern, extract);
  };
  const keyOf = (tag: string, anyRange = false): Key | undefined => {
    const text = extracted(tag);
    if (text === undefined) return undefined;
    if (spec.policy === "alphabetical") return text;
    if (spec.policy === "numerical") return NUMBER.test(text) ? Number(text) : undefined;
    const version = tagVersion(text);
    return version && (anyRange || range!.test(version)) ? version : undefined;
  };
  const compare = (a: Key, b: Key): number => {
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
    return semver.compare(a as semver.SemVer, b as semver.SemVer);
  };
  return { keyOf, compare };
}

/** What the policy makes of a repository's tags for one Workspace. */
export type TagChoice =
  /** `tag` is newer than the one in Git (or the one in Git is not in the policy's order at all). */
  | { status: "candidate"; tag: string; considered: number }
  /** The newest tag that passes is the one in Git, or older. */
  | { status: "up-to-date"; newest: string; considered: number }
  /** No tag passes the filter and the policy. */
  | { status: "no-match"; considered: 0 };

/**
 * The newest of `tags` under the policy, compared with `current` (the tag written in Git). Ties in the order
 * (`1.0.0+a`, `1.0.0+b`) are broken by the tag's text, so the choice never depends on the registry's order.
 */
export function chooseTag(tags: readonly string[], policy: CompiledPolicy, current?: string): TagChoice {
  let best: { tag: string; key: Key } | undefined;
  let considered = 0;
  for (const tag of tags) {
    const key = policy.keyOf(tag);
    if (key === undefined) continue;
    considered++;
    const order = best ? policy.compare(key, best.key) : 1;
    if (!best || order > 0 || (order === 0 && tag > best.tag)) best = { tag, key };
  }
  if (!best) return { status: "no-match", considered: 0 };
  const now = current === undefined ? undefined : policy.keyOf(current, true);
  if (current === best.tag || (now !== undefined && policy.compare(best.key, now) <= 0)) {
    return { status: "up-to-date", newest: best.tag, considered };
  }
  return { status: "candidate", tag: best.tag, considered };
}
