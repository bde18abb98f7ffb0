import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics } from "../src/http/metrics.js";
import { type PushInfo, type StatusServer, startStatusServer } from "../src/http/server.js";
import { sampleStatus } from "../src/http/status-sample.js";

const SECRET = "webhook-secret-for-tests";
const sign = (body: string, secret = SECRET) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
const pushBody = (ref: string) =>
  JSON.stringify({ ref, after: "d".repeat(40), repository: { name: "fleet" } });

describe("status server on a real socket", () => {
  const metrics = createMetrics();
  const pushes: PushInfo[] = [];
  let ready = false;
  /** Every log call, to prove rejections are logged and the secret never is. */
  const logged: { level: string; line: string }[] = [];
  const capture =
    (level: string) =>
    (...args: unknown[]) =>
      logged.push({ level, line: JSON.stringify(args) });
  const logger = {
    debug: capture("debug"),
    info: capture("info"),
    warn: capture("warn"),
    error: capture("error"),
  };
  const snapshot = { branch: "main", revision: "a".repeat(40), agents: { "agent-1": { reachable: true } } };
  let server: StatusServer;
  let bare: StatusServer;

  beforeAll(async () => {
    server = await startStatusServer({
      listen: "127.0.0.1:0",
      status: () => snapshot,
      ready: () => ready,
      metrics,
      webhook: { secret: SECRET, branch: "main", onPush: (info) => pushes.push(info) },
      logger,
    });
    bare = await startStatusServer({ listen: "127.0.0.1:0", status: () => ({}), ready: () => true, metrics });
  });
  afterAll(async () => {
    await server?.close();
    await bare?.close();
  });

  it("answers /healthz while running, and /readyz only once ready", async () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const health = await fetch(`${server.url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const head = await fetch(`${server.url}/healthz?probe=1`, { method: "HEAD" });
    expect([head.status, await head.text()]).toEqual([200, ""]);
  });

  it("serves the status snapshot as JSON", async () => {
    const response = await fetch(`${server.url}/status`);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await response.json()).toEqual(snapshot);
  });

  it("serves the metrics the daemon recorded", async () => {
    metrics.cycleFinished("ok", 1200);
    metrics.pullFinished("agent-1", "failed", 300);
    metrics.registryRequest("127.0.0.1:5000", "HEAD", 429);
    metrics.setAppliedRevision("a".repeat(40));
    metrics.setAgents(1, 2);
    metrics.promotionFinished("ok");
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await response.text();
    for (const line of [
      'kasm_gitops_cycles_total{result="ok"} 1',
      'kasm_gitops_pulls_total{agent="agent-1",result="failed"} 1',
      'kasm_gitops_pull_duration_seconds_count{agent="agent-1",result="failed"} 1',
      'kasm_gitops_registry_requests_total{host="127.0.0.1:5000",method="HEAD",status="429"} 1',
      `kasm_gitops_applied_revision_info{revision="${"a".repeat(40)}"} 1`,
      "kasm_gitops_agents_reachable 1",
      'kasm_gitops_promotions_total{result="ok"} 1',
      "# TYPE kasm_gitops_process_resident_memory_bytes gauge",
    ]) {
      expect(body).toContain(line);
    }
  });

  it.each([
    ["GET", "/nothing-here", 404],
    ["GET", "/", 404],
    ["POST", "/healthz", 405],
    ["DELETE", "/status", 405],
    ["GET", "/hooks/git", 405],
  ])("%s %s → %i", async (method, path, status) => {
    const response = await fetch(`${server.url}${path}`, { method });
    expect(response.status).toBe(status);
    if (status === 405) expect(response.headers.get("allow")).toBeTruthy();
  });

  type Hook = { name: string; headers: Record<string, string>; body: string; status: number; pushed: number };
  const hooks: Hook[] = [
    {
      name: "signed GitHub push to main",
      headers: { "x-github-event": "push", "x-hub-signature-256": sign(pushBody("refs/heads/main")) },
      body: pushBody("refs/heads/main"),
      status: 202,
      pushed: 1,
    },
    {
      name: "GitHub push with a wrong signature",
      headers: {
        "x-github-event": "push",
        "x-hub-signature-256": sign(pushBody("refs/heads/main"), "guess"),
      },
      body: pushBody("refs/heads/main"),
      status: 401,
      pushed: 0,
    },
    {
      name: "unsigned GitHub push",
      headers: { "x-github-event": "push" },
      body: pushBody("refs/heads/main"),
      status: 401,
      pushed: 0,
    },
    {
      name: "signed GitHub push to another branch",
      headers: { "x-github-event": "push", "x-hub-signature-256": sign(pushBody("refs/heads/dev")) },
      body: pushBody("refs/heads/dev"),
      status: 200,
      pushed: 0,
    },
    {
      name: "signed GitHub tag push",
      headers: { "x-github-event": "push", "x-hub-signature-256": sign(pushBody("refs/tags/v1")) },
      body: pushBody("refs/tags/v1"),
      status: 200,
      pushed: 0,
    },
    {
      name: "signed GitHub ping",
      headers: { "x-github-event": "ping", "x-hub-signature-256": sign('{"zen":"ok"}') },
      body: '{"zen":"ok"}',
      status: 200,
      pushed: 0,
    },
    {
      name: "GitLab push with the right token",
      headers: { "x-gitlab-event": "Push Hook", "x-gitlab-token": SECRET },
      body: pushBody("refs/heads/main"),
      status: 202,
      pushed: 1,
    },
    {
      name: "GitLab push with a wrong token",
      headers: { "x-gitlab-event": "Push Hook", "x-gitlab-token": "nope" },
      body: pushBody("refs/heads/main"),
      status: 401,
      pushed: 0,
    },
  ];
  it.each(hooks)("POST /hooks/git: $name → $status", async ({ headers, body, status, pushed }) => {
    const before = pushes.length;
    const warnings = logged.filter((entry) => entry.level === "warn").length;
    const response = await fetch(`${server.url}/hooks/git`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    expect(response.status).toBe(status);
    const answer = (await response.json()) as { status: string; reason?: string };
    expect(answer.status).toBe({ 202: "accepted", 200: "ignored", 401: "rejected" }[status]);
    expect(JSON.stringify(answer)).not.toContain(SECRET);
    expect(pushes.length - before).toBe(pushed);
    expect(logged.filter((entry) => entry.level === "warn").length - warnings).toBe(status === 401 ? 1 : 0);
    expect(logged.map((entry) => entry.line).join("\n")).not.toContain(SECRET);
    if (pushed) {
      expect(pushes.at(-1)).toEqual({
        source: headers["x-gitlab-token"] ? "gitlab" : "github",
        event: headers["x-github-event"] ?? headers["x-gitlab-event"],
        branch: "main",
        revision: "d".repeat(40),
      });
    }
  });

  it.each([
    ["with a Content-Length", false],
    ["sent chunked, without a length", true],
  ])("refuses a webhook body over 1 MiB %s: 413 and no push", async (_, chunked) => {
    const before = pushes.length;
    const body = JSON.stringify({ ref: "refs/heads/main", padding: "x".repeat(1024 * 1024) });
    const parts = [body.slice(0, 1000), body.slice(1000)];
    const response = await fetch(`${server.url}/hooks/git`, {
      method: "POST",
      headers: { "x-github-event": "push", "x-hub-signature-256": sign(body) },
      ...(chunked
        ? { body: ReadableStream.from(parts.map((part) => new TextEncoder().encode(part))), duplex: "half" }
        : { body }),
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(pushes.length).toBe(before);
  });

  it("has no webhook route when no secret is configured", async () => {
    const body = pushBody("refs/heads/main");
    const response = await fetch(`${bare.url}/hooks/git`, {
      method: "POST",
      headers: { "x-github-event": "push", "x-hub-signature-256": sign(body) },
      body,
    });
    expect(response.status).toBe(404);
  });

  it("reports a port in use as listen-failed", async () => {
    await expect(
      startStatusServer({
        listen: `127.0.0.1:${server.port}`,
        status: () => ({}),
        ready: () => true,
        metrics,
      }),
    ).rejects.toMatchObject({ code: "listen-failed", message: expect.stringContaining("EADDRINUSE") });
  });
});

describe("status page routes on a real socket", () => {
  const TOKEN = "status-token-for-tests";
  let status = sampleStatus(2, 3);
  let server: StatusServer;
  let open: StatusServer;
  const bearer = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    const common = { listen: "127.0.0.1:0", ready: () => true, metrics: createMetrics() };
    server = await startStatusServer({ ...common, status: () => status, page: () => status, token: TOKEN });
    open = await startStatusServer({ ...common, status: () => status, page: () => status });
  });
  afterAll(async () => {
    await server?.close();
    await open?.close();
  });

  it.each([
    ["/", 401],
    ["/status", 401],
    ["/events", 401],
    ["/?token=nope", 401],
    ["/healthz", 200],
    ["/readyz", 200],
    ["/metrics", 200],
    ["/status-page.js", 200],
    ["/status-page.css", 200],
    ["/favicon.ico", 204],
  ])("GET %s without the token: %i", async (path, code) => {
    const response = await fetch(`${server.url}${path}`);
    expect(response.status).toBe(code);
    if (code === 401) expect(response.headers.get("www-authenticate")).toBe('Bearer realm="kasm-gitops"');
    await response.body?.cancel();
  });

  it("serves the page with the token (bearer or query), under a CSP that allows only its own script", async () => {
    for (const [path, headers] of [
      ["/", bearer],
      [`/?token=${TOKEN}`, {}],
    ] as const) {
      const response = await fetch(`${server.url}${path}`, { headers });
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(response.headers.get("content-security-policy")).toMatch(
        /default-src 'none'; script-src 'self';/,
      );
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      const body = await response.text();
      expect(body).toContain('<main id="status" data-state="degraded"');
      expect(body).not.toContain(TOKEN);
    }
    const script = await fetch(`${server.url}/status-page.js`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await script.text()).toContain('new EventSource("/events"');
  });

  it("streams the page's <main> now and again when the status changes", async () => {
    const controller = new AbortController();
    const response = await fetch(`${open.url}/events`, { signal: controller.signal });
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const reader = response.body!.getReader();
    let text = "";
    const readUntil = async (count: number) => {
      while ((text.match(/^event: page$/gm) ?? []).length < count)
        text += new TextDecoder().decode((await reader.read()).value);
    };
    await readUntil(1);
    expect(text).toMatch(/^retry: 3000\n\nevent: page\ndata: <main id="status"/);
    status = { ...status, reasons: ["something new"] };
    await readUntil(2);
    expect(text.slice(text.lastIndexOf("event: page"))).toContain("<li>something new</li>");
    controller.abort();
  });

  it("answers 404 on / when no page is served", async () => {
    const bare = await startStatusServer({
      listen: "127.0.0.1:0",
      status: () => ({}),
      ready: () => true,
      metrics: createMetrics(),
    });
    try {
      expect((await fetch(`${bare.url}/`)).status).toBe(404);
    } finally {
      await bare.close();
    }
  });
});
