import type { ImageReference } from "../image/reference.js";
import { didYouMean } from "../suggest.js";
import { error, field, type Identified, text } from "./rule-context.js";

const repositoryOf = (image: ImageReference) => `${image.registry}/${image.repository}`;

/** promotion.from must name another workspace of the same repository, and chains must end. */
export function checkPromotions(
  items: readonly Identified[],
  workspaces: Map<string, Identified>,
  images: Map<string, ImageReference>,
): void {
  const from = new Map<string, string>();
  const pointer = "/spec/promotion/from";
  for (const item of items) {
    const source = item.kind === "Workspace" ? text(item, pointer) : undefined;
    if (source === undefined) continue;
    if (source === item.name) {
      item.ref.add(
        error(
          pointer,
          "promotion-self",
          "promotion.from names this workspace itself; name the testing workspace whose agents verify the digest first",
        ),
      );
      continue;
    }
    if (!workspaces.has(source)) {
      item.ref.add(
        error(
          pointer,
          "unknown-workspace",
          `unknown workspace "${source}" in promotion.from${didYouMean(
            source,
            [...workspaces.keys()].filter((n) => n !== item.name),
          )}`,
        ),
      );
      continue;
    }
    checkAutoPromotion(item, source, workspaces.get(source)!);
    const mine = item.name === undefined ? undefined : images.get(item.name);
    if (item.name !== undefined && workspaces.get(item.name) === item) from.set(item.name, source);
    const theirs = images.get(source);
    if (mine && theirs && repositoryOf(mine) !== repositoryOf(theirs)) {
      item.ref.add(
        error(
          pointer,
          "promotion-other-repository",
          `promotion.from "${source}" serves ${repositoryOf(theirs)}, not ${repositoryOf(mine)}: a digest verified there says nothing about this image`,
        ),
      );
    }
    const tags = field(item, "/spec/promotion/movingTags");
    for (const [i, tag] of (Array.isArray(tags) ? tags : []).entries()) {
      if (mine && tag === mine.tag) {
        item.ref.add({
          ...error(
            `/spec/promotion/movingTags/${i}`,
            "moving-tag-is-image-tag",
            `moving tag "${tag}" is the image's own tag, so promoting it changes nothing: pin the image to a release tag or a digest`,
          ),
          severity: "warning",
        });
      }
    }
  }
  reportCycles(from, workspaces);
}

/**
 * `promotion.auto` only behind the smoke gate: without smoke tests on `from`, a digest merely pulled there
 * would reach production with no one having started it, so the daemon must not promote it by itself.
 */
function checkAutoPromotion(item: Identified, source: string, from: Identified): void {
  const auto = text(item, "/spec/promotion/auto");
  if (auto === undefined) return;
  const smoke = field(from, "/spec/smoke");
  if (smoke !== undefined && smoke !== null && smoke !== false) return;
  item.ref.add(
    error(
      "/spec/promotion/auto",
      "auto-promotion-without-smoke",
      `promotion.auto: ${auto} needs smoke tests on workspace "${source}" (spec.smoke: true there): without them no digest is ever started in Kasm before the daemon would promote it; promote by hand instead, or add smoke tests`,
    ),
  );
}

/** Each promotion cycle once, at the workspace where the walk closes it. */
function reportCycles(from: Map<string, string>, workspaces: Map<string, Identified>): void {
  const done = new Set<string>();
  for (const start of from.keys()) {
    const path: string[] = [];
    const onPath = new Set<string>();
    let current: string | undefined = start;
    while (current !== undefined && !done.has(current) && !onPath.has(current)) {
      path.push(current);
      onPath.add(current);
      current = from.get(current);
    }
    if (current !== undefined && onPath.has(current)) {
      const cycle = [...path.slice(path.indexOf(current)), current];
      workspaces
        .get(current)!
        .ref.add(
          error(
            "/spec/promotion/from",
            "promotion-cycle",
            `promotion.from goes round in a circle (${cycle.join(" → ")}): no workspace in it can verify a digest first`,
          ),
        );
    }
    for (const name of path) done.add(name);
  }
}
