import { mkdir } from "node:fs/promises";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { repoArgs } from "./helpers/cli.js";
import { type RunningDaemon, startDaemon, waitUntil } from "./helpers/daemon.js";
import { fleetYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, type TestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const [e1, e2] = lab.engines as [(typeof lab.engines)[0], (typeof lab.engines)[0]];
/** Debian's chromium (`.ci/run` installs it); a missing browser fails the test, never skips it. */
const CHROMIUM = process.env.KASM_GITOPS_CHROMIUM ?? "/usr/bin/chromium";
const TOKEN = "page-token-0123456789";
const XSS = "<img src=x onerror=alert(1)>";

/**
 * The status page in a real headless browser, on one daemon of the lab: two agents, an app on both, a
 * workspace whose friendly name is markup, then a revision adding a workspace whose pull the registry refuses.
 */
describe("the status page in headless Chromium", () => {
  let proxy: RegistryProxy;
  let repo: TestRepo;
  let daemon: RunningDaemon;
  let browser: Browser;
  let page: Page;
  let names: { app: string; tool: string; bad: string };
  let manifests: (broken: boolean) => Record<string, string>;
  const problems: string[] = [];
  const authed = (path: string) =>
    fetch(`${daemon.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const cell = (agent: string, workspace: string) =>
    page.locator(`#matrix tr[data-agent="${agent}"] td[data-workspace="${workspace}"]`);

  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    names = { app: uniqueRepo("app"), tool: uniqueRepo("tool"), bad: uniqueRepo("bad") };
    for (const repository of Object.values(names))
      await pushRandomImage({ url: proxy.url, repository, tag: "1.0" });
    const P = proxy.host;
    manifests = (broken) => ({
      "manifests/a.yaml": fleetYaml({
        registries: [{ name: "corp", host: P }],
        agents: [
          { name: "a1", host: e1.host, labels: { ring: "testing" } },
          { name: "a2", host: e2.host, labels: { ring: "production" } },
        ],
        workspaces: [
          { name: "app", image: `${P}/${names.app}:1.0`, registry: "corp" },
          {
            name: "tool",
            image: `${P}/${names.tool}:1.0`,
            registry: "corp",
            labels: { ring: "testing" },
            friendlyName: XSS,
          },
          ...(broken
            ? [
                {
                  name: "broken",
                  image: `${P}/${names.bad}:1.0`,
                  registry: "corp",
                  labels: { ring: "testing" },
                },
              ]
            : []),
        ],
      }),
    });
    // The tag check (HEAD) answers; the engine's manifest GET for `bad` is refused.
    proxy.setBehaviour({
      inject: [
        { match: { kind: "manifest-get", pathPattern: `/${names.bad}/` }, status: 404, times: 100_000 },
      ],
    });
    repo = await createTestRepo();
    await repo.commit(manifests(false), "two agents, an app and a tool");
    const [, ...args] = repoArgs("run", repo.bare, await stateDir(), ["--interval", "5s"]);
    daemon = await startDaemon(args, { KASM_GITOPS_STATUS_TOKEN: TOKEN });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("dialog", (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop("SIGKILL");
    await proxy?.close();
  });

  it("requires the token on /, /status and /events, and leaves the probes and metrics open", async () => {
    for (const path of ["/", "/status", "/events"]) {
      expect((await fetch(`${daemon.url}${path}`)).status, path).toBe(401);
      expect((await fetch(`${daemon.url}${path}?token=wrong`)).status, path).toBe(401);
    }
    for (const path of ["/healthz", "/metrics"])
      expect((await fetch(`${daemon.url}${path}`)).status, path).toBe(200);
    expect((await authed("/status")).status).toBe(200);
    const response = await fetch(`${daemon.url}/?token=${TOKEN}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await response.text()).not.toContain(TOKEN);
  });

  it("shows each agent and workspace, the friendly name as text, and runs no script but its own", async () => {
    await waitUntil(
      "a planned cycle",
      async () => "fleet" in ((await (await authed("/status")).json()) as object),
      60_000,
      daemon.logs,
    );
    await page.goto(`${daemon.url}/?token=${TOKEN}`);
    await page.locator("#live", { hasText: "Live" }).waitFor({ timeout: 10_000 });
    for (const agent of ["a1", "a2"])
      await expect.poll(() => page.locator(`#matrix tr[data-agent="${agent}"]`).count()).toBe(1);
    for (const workspace of ["app", "tool"])
      expect(await page.locator(`#matrix thead th[data-workspace="${workspace}"]`).count(), workspace).toBe(
        1,
      );
    await expect
      .poll(() => cell("a1", "tool").textContent(), { timeout: 30_000 })
      .toMatch(/^✔ [0-9a-f]{12}$/);
    expect(await cell("a2", "tool").textContent()).toBe("·");
    expect(await page.locator("#matrix thead small", { hasText: XSS }).textContent()).toBe(XSS);
    expect(await page.locator("img").count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it("turns a pull that fails to failed with the reason within one cycle, without a reload", async () => {
    await page.evaluate("window.sameDocument = true");
    await repo.commit(manifests(true), "a workspace whose pull the registry refuses");
    // The push starts a cycle now; the next interval cycle is up to 5 s away.
    expect(await daemon.push()).toBe(202);
    const broken = cell("a1", "broken");
    await broken.waitFor({ timeout: 30_000 });
    await expect.poll(() => broken.textContent(), { timeout: 30_000 }).toBe("✖ failed");
    const failedPulls = daemon
      .logs()
      .split("\n")
      .filter((l) => l.includes('"msg":"pull failed"')).length;
    // Shown after the cycle that failed (the page is sent at most once a second), at worst after an
    // interval cycle queued behind the webhook's.
    expect(failedPulls).toBeGreaterThanOrEqual(1);
    expect(failedPulls).toBeLessThanOrEqual(2);
    const status = (await (await authed("/status")).json()) as {
      lastError?: { failed?: { workspace: string; error: string }[] };
    };
    const reason = status.lastError?.failed?.find((f) => f.workspace === "broken")?.error;
    expect(reason).toBeTruthy();
    expect(await broken.getAttribute("title")).toContain(reason);
    expect(await page.evaluate("window.sameDocument")).toBe(true);
    expect(await page.locator("#state").textContent()).toContain("degraded");
    await mkdir("reports", { recursive: true });
    await page.screenshot({ path: "reports/status-page.png", fullPage: true });
    expect(problems).toEqual([]);
  });
});
