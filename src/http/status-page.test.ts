import { describe, expect, it } from "vitest";
import type { StatusView } from "../core/status/status-view.js";
import { escapeHtml, html } from "./html.js";
import { offeredToken, tokenMatches } from "./status-auth.js";
import { sseMessage } from "./status-events.js";
import { type PageState, pageState, renderStatusMain, renderStatusPage } from "./status-page.js";
import { cellCounts } from "./status-page-matrix.js";
import { sampleStatus } from "./status-sample.js";

const NOW = new Date("2026-11-27T10:00:30Z");
const XSS = `<img src=x onerror=alert(1)>`;
const base = (): StatusView => ({
  branch: "main",
  agents: {},
  ready: false,
  state: "starting",
  reasons: [],
  unknown: [],
});

/** The sample with one hostile string in every place a value from Git, a registry or Kasm lands on the page. */
function hostile(): StatusView {
  const s = sampleStatus(2, 2);
  const fleet = s.fleet!;
  fleet.workspaces[0]!.friendlyName = XSS;
  fleet.workspaces[1]!.name = XSS;
  fleet.agents[0]!.labels = { [XSS]: XSS };
  const row = fleet.cells[fleet.agents[0]!.name]!;
  row[XSS] = { state: "failed", image: XSS, why: `"><script>alert(2)</script>` };
  fleet.promotions[0]!.message = XSS;
  fleet.kasmRecords = { [XSS]: { state: "drift", fields: [XSS], message: XSS } };
  s.reasons = [XSS];
  s.events = [{ at: NOW.toISOString(), level: "error", message: XSS }];
  s.kasm = { ...s.kasm!, url: XSS, lastError: { at: NOW.toISOString(), message: XSS } };
  s.branch = XSS;
  s.automation = automation(XSS);
  return s;
}

/** An update with a candidate pushed, one whose check failed, one a person's revert holds, a promotion. */
function automation(text = "x"): NonNullable<StatusView["automation"]> {
  const at = NOW.toISOString();
  const d = `sha256:${"4f1c0e9a2b7d".repeat(5)}abcd`;
  return {
    updates: {
      "chrome-testing": {
        image: "reg/chrome:20261201",
        inGitTag: "20261201",
        status: "candidate",
        tag: "20261206",
        digest: d,
        checkedAt: at,
        result: "ok",
        schedule: "*/15 * * * *",
        lastProposal: {
          kind: "update",
          image: "reg/chrome:20261206",
          tag: "20261206",
          digest: d,
          status: "refused",
          branch: "main",
          message: text,
          at,
        },
      },
      [text]: { image: text, status: "error", error: text, checkedAt: at, result: "error", schedule: "x" },
      firefox: {
        image: "reg/ff:2",
        status: "skipped",
        reason: "reverted",
        detail: "a person undid the automated update to 3",
        tag: "3",
        checkedAt: at,
        result: "ok",
        schedule: "x",
      },
    },
    promotions: {
      chrome: {
        from: "chrome-testing",
        status: "waiting",
        reason: "smoke-missing",
        image: "reg/chrome:20261201",
        checkedAt: at,
      },
    },
    lastError: { at, kind: "update", message: text },
  };
}

describe("html", () => {
  it.each([
    [`<a href="x">'&'</a>`, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"],
    ["line\r\nnext", "line&#13;\nnext"],
  ])("escapes %j", (text, escaped) => {
    expect(escapeHtml(text)).toBe(escaped);
    expect(html`<p title="${text}">${text}</p>`.text).toBe(`<p title="${escaped}">${escaped}</p>`);
  });

  it("keeps nested markup and arrays, drops undefined and false", () => {
    expect(html`<ul>${["a", "<b>"].map((x) => html`<li>${x}</li>`)}${undefined}${false}</ul>`.text).toBe(
      "<ul><li>a</li><li>&lt;b&gt;</li></ul>",
    );
  });
});

describe("the status page", () => {
  it("renders every hostile value as text: no tag, attribute or script of its own", () => {
    const page = renderStatusPage(hostile(), NOW);
    expect(page).not.toContain("<img");
    expect(page).not.toContain("<script>");
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;");
    // The only script is the page's own, by URL.
    expect(page.match(/<script/g)).toEqual(["<script"]);
    expect(page).toContain('<script src="/status-page.js" defer></script>');
  });

  it.each<[string, Partial<StatusView>, PageState]>([
    ["no cycle yet", {}, "starting"],
    ["a degraded fleet", { state: "degraded", reasons: ["x"] }, "degraded"],
    ["converged and idle", { state: "converged" }, "converged"],
    [
      "converged, with pulls running",
      {
        state: "converged",
        running: { id: "c", trigger: "interval", startedAt: NOW.toISOString() },
        fleet: sampleStatus(1, 1).fleet!,
      },
      "progressing",
    ],
  ])("state: %s", (_, fields, state) => {
    const status = { ...base(), ...fields };
    expect(pageState(status)).toBe(state);
    expect(renderStatusMain(status, NOW).text).toContain(`data-state="${state}"`);
  });

  it("shows the reasons, the revision, the next refresh, promotions, Kasm records, prune and events", () => {
    const main = renderStatusMain(sampleStatus(3, 4), NOW).text;
    for (const text of [
      "✖ degraded",
      "pull registry.example.com/kasm/ws-000:1.0 on agent-000 failed: manifest unknown",
      `<code title="${"a".repeat(40)}">aaaaaaaaaaaa</code>`,
      'next <time datetime="2026-11-27T11:00:00.000Z">',
      "⊘ blocked",
      "repaired</td><td>cores",
      "3000.0 MB",
      "event 49",
    ])
      expect(main, text).toContain(text);
    // Newest event first.
    expect(main.indexOf("event 49")).toBeLessThan(main.indexOf("event 0<"));
  });

  it("shows the automation: each Workspace's tag in Git, its candidate or state, the last proposal", () => {
    const main = renderStatusMain({ ...base(), automation: automation() }, NOW).text;
    for (const text of [
      '<section id="automation">',
      '<th scope="row">chrome-testing</th><td>update</td><td><code title="reg/chrome:20261201">20261201</code></td><td>◷ <code',
      '<span class="bad">refused</span> <code title="sha256:4f1c',
      '⏸ <code title="">3</code> <span title="a person undid the automated update to 3">held: reverted</span>',
      "promote from chrome-testing",
      "waiting: smoke-missing",
      "Last update check failed",
    ])
      expect(main, text).toContain(text);
    expect(renderStatusMain(base(), NOW).text).not.toContain('id="automation"');
    // Once the revision in force has the candidate, it says so.
    const landed = automation();
    landed.updates["chrome-testing"]!.inGitTag = "20261206";
    expect(renderStatusMain({ ...base(), automation: landed }, NOW).text).toContain(
      "✔ <code>20261206</code> in Git",
    );
  });

  it("draws each agent × workspace with a symbol and a word or digest, the tooltip saying why", () => {
    const s = sampleStatus(1, 1);
    const cell = { state: "failed" as const, image: "r/app:1", why: "manifest unknown" };
    s.fleet!.cells["agent-000"] = { "ws-000": cell };
    const main = renderStatusMain(s, NOW).text;
    expect(main).toContain(
      '<td class="s-failed" data-workspace="ws-000" title="agent-000 × ws-000: failed\nr/app:1\nmanifest unknown">✖ failed</td>',
    );
    s.fleet!.cells["agent-000"] = {};
    expect(renderStatusMain(s, NOW).text).toContain(
      '<td class="s-not-selected" data-workspace="ws-000" title="agent-000 × ws-000: not selected">·</td>',
    );
  });

  it("renders 200 agents × 50 workspaces whole: every row and cell, counts adding up", () => {
    const s = sampleStatus(200, 50);
    const page = renderStatusPage(s, NOW);
    expect(page.match(/<th scope="row" title="agent-/g)).toHaveLength(200);
    expect(page.match(/<td class="s-/g)).toHaveLength(200 * 50);
    const counts = cellCounts(s.fleet!);
    expect(counts.reduce((n, c) => n + c.count, 0)).toBe(10_000);
    expect(counts.find((c) => c.state === "failed")?.count).toBeGreaterThan(0);
  });
});

describe("status token", () => {
  it.each<[string, Record<string, string>, string, string | undefined]>([
    ["bearer", { authorization: "Bearer s3cret" }, "/status", "s3cret"],
    ["bearer, any case", { authorization: "bearer s3cret" }, "/", "s3cret"],
    ["query", {}, "/events?token=s%203cret", "s 3cret"],
    ["the header wins", { authorization: "Bearer a" }, "/?token=b", "a"],
    ["none", {}, "/", undefined],
    ["another scheme", { authorization: "Basic czNjcmV0" }, "/", undefined],
  ])("%s", (_, headers, target, offered) => {
    expect(offeredToken(headers, target)).toBe(offered);
  });

  it.each([
    ["s3cret", "s3cret", true],
    ["s3cret", "s3cre", false],
    ["s3cret", "s3cret ", false],
    ["s3cret", undefined, false],
  ])("%j against %j: %s", (expected, offered, ok) => {
    expect(tokenMatches(expected, offered)).toBe(ok);
  });
});

describe("server-sent events", () => {
  it("prefixes every line of the data", () => {
    expect(sseMessage("page", "<main>\n<p>x</p>\n</main>")).toBe(
      "event: page\ndata: <main>\ndata: <p>x</p>\ndata: </main>\n\n",
    );
  });
});
