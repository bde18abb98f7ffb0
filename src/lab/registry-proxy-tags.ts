/**
 * Tag-list pagination for the lab proxy: Debian's registry answers `GET /v2/<name>/tags/list` whole and
 * ignores `n`, so the proxy can serve it in pages the way paginating registries do (lexical order, `n`,
 * `last`, and a `Link: <…>; rel="next"` header), for tests of a client that follows the pages.
 */

/** One page of `all` for the request's `n` and `last`, with the `Link` header of the next page when there is one. */
export function tagListPage(
  name: string,
  all: readonly string[],
  query: URLSearchParams,
  path: string,
): { body: string; link?: string } {
  const sorted = [...all].sort();
  const last = query.get("last");
  const after = last === null ? sorted : sorted.filter((tag) => tag > last);
  const n = Number.parseInt(query.get("n") ?? "", 10);
  const page = Number.isInteger(n) && n > 0 ? after.slice(0, n) : after;
  const body = JSON.stringify({ name, tags: page });
  if (page.length === 0 || page.length === after.length) return { body };
  const next = new URLSearchParams({ n: String(n), last: page[page.length - 1]! });
  return { body, link: `<${path}?${next.toString()}>; rel="next"` };
}
