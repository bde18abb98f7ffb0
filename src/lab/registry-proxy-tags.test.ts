import { describe, expect, it } from "vitest";
import { tagListPage } from "./registry-proxy-tags.js";

describe("tagListPage", () => {
  const all = ["c", "a", "e", "b", "d"];
  it.each([
    ["", ["a", "b", "c", "d", "e"], undefined],
    ["n=2", ["a", "b"], '</v2/r/tags/list?n=2&last=b>; rel="next"'],
    ["n=2&last=b", ["c", "d"], '</v2/r/tags/list?n=2&last=d>; rel="next"'],
    ["n=2&last=d", ["e"], undefined],
    ["n=5", ["a", "b", "c", "d", "e"], undefined],
    ["n=2&last=e", [], undefined],
  ])("?%s → %j, next %s", (query, tags, link) => {
    const page = tagListPage("r", all, new URLSearchParams(query), "/v2/r/tags/list");
    expect(JSON.parse(page.body)).toEqual({ name: "r", tags });
    expect(page.link).toBe(link);
  });
});
