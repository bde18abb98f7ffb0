/** The semantic rules of the Kasm web app sync: one KasmServer, a URL that keeps the API key private, and sane records. */
import { parseDuration } from "../duration.js";
import { parseMemoryQuantity, QUANTITY_HINT } from "../manifest/quantity.js";
import { error, field, type Identified, text } from "../manifest/rule-context.js";
import { checkPlacement } from "./placement-rules.js";

/** Checks every KasmServer and every Workspace's `kasm` block, across documents. */
export function checkKasm(items: readonly Identified[]): void {
  let server: Identified | undefined;
  const adopted = new Map<string, Identified>();
  const pins: Identified[] = [];
  for (const item of items) {
    if (item.kind === "KasmServer") {
      if (server)
        item.ref.add(
          error(
            "/kind",
            "multiple-kasm-servers",
            `only one KasmServer is allowed per manifest repo; the first is at ${server.ref.where("/kind")}`,
          ),
        );
      server ??= item;
      checkUrl(item);
      checkTimeout(item);
      continue;
    }
    if (item.kind !== "Workspace") continue;
    const memory = text(item, "/spec/kasm/memory");
    if (memory !== undefined && parseMemoryQuantity(memory) === undefined)
      item.ref.add(
        error(
          "/spec/kasm/memory",
          "invalid-quantity",
          `spec.kasm.memory ${JSON.stringify(memory)} is not a memory quantity: expected ${QUANTITY_HINT}`,
        ),
      );
    checkRecordFields(item);
    checkSmoke(item, items);
    if (field(item, "/spec/kasm/pinDigest") === true) pins.push(item);
    const imageId = text(item, "/spec/kasm/imageId");
    if (imageId === undefined) continue;
    const first = adopted.get(imageId);
    if (first)
      item.ref.add(
        error(
          "/spec/kasm/imageId",
          "duplicate-image-id",
          `Kasm record ${imageId} is already adopted by Workspace "${first.name}" at ${first.ref.where("/spec/kasm/imageId")}: one record serves one workspace`,
        ),
      );
    else adopted.set(imageId, item);
  }
  checkPlacement(items, server !== undefined);
  // Without a KasmServer no record is written, so a pin would protect nothing: say so where it is asked for.
  if (!server)
    for (const item of pins)
      item.ref.add({
        ...error(
          "/spec/kasm/pinDigest",
          "kasm-server-missing",
          "spec.kasm.pinDigest has no effect: this repo has no KasmServer, so kasm-gitops writes no Kasm record to pin (add a KasmServer, or remove pinDigest)",
        ),
        severity: "warning",
      });
}

/** Values Kasm would store differently from what Git says, which would be drift every cycle. */
function checkRecordFields(item: Identified): void {
  const limit = text(item, "/spec/kasm/sessionTimeLimit");
  const ms = limit === undefined ? undefined : parseDuration(limit);
  if (limit !== undefined && (ms === undefined || ms % 1000 !== 0))
    item.ref.add(
      error(
        "/spec/kasm/sessionTimeLimit",
        "invalid-duration",
        `spec.kasm.sessionTimeLimit ${JSON.stringify(limit)} is not a whole number of seconds: write a duration such as 2h, 90m or 45s (Kasm keeps seconds), or 0s for no limit`,
      ),
    );
  const profile = text(item, "/spec/kasm/persistentProfilePath");
  if (profile?.startsWith("s3://") && !profile.endsWith("/"))
    item.ref.add(
      error(
        "/spec/kasm/persistentProfilePath",
        "invalid-value",
        `spec.kasm.persistentProfilePath ${JSON.stringify(profile)} is an s3:// path without a trailing /: Kasm adds one when it stores it, so write ${JSON.stringify(`${profile}/`)}`,
      ),
    );
}

/** A smoke test needs a Kasm user to run as, and durations a session can meet. */
function checkSmoke(item: Identified, items: readonly Identified[]): void {
  if (field(item, "/spec/smoke") === undefined) return;
  const server = items.find((i) => i.kind === "KasmServer");
  if (!server || field(server, "/spec/smoke/user") === undefined)
    item.ref.add(
      error(
        "/spec/smoke",
        "smoke-without-user",
        `Workspace "${item.name}" asks for a smoke test, but ${server ? `KasmServer "${server.name}" names no smoke user: add spec.smoke: {user: <Kasm username>} at ${server.ref.where("/spec")}` : "no KasmServer is defined: smoke tests run in Kasm, so add a KasmServer with spec.smoke: {user: <Kasm username>}"}`,
      ),
    );
  const timeout = text(item, "/spec/smoke/timeout");
  const ms = timeout === undefined ? undefined : parseDuration(timeout);
  if (ms !== undefined && ms < 1000)
    item.ref.add(
      error(
        "/spec/smoke/timeout",
        "invalid-duration",
        `spec.smoke.timeout must be at least 1s, got ${timeout}`,
      ),
    );
}

/** A call deadline under a second would time out a healthy Kasm. */
function checkTimeout(item: Identified): void {
  const timeout = text(item, "/spec/timeout");
  const ms = timeout === undefined ? undefined : parseDuration(timeout);
  if (ms !== undefined && ms < 1000)
    item.ref.add(
      error("/spec/timeout", "invalid-duration", `spec.timeout must be at least 1s, got ${timeout}`),
    );
}

/** Loopback hosts, where plain HTTP never leaves the machine: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (host === "localhost" || host === "::1") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host.split(".").every((n) => Number(n) <= 255);
}

function checkUrl(item: Identified): void {
  const written = field(item, "/spec/url");
  if (typeof written !== "string") return;
  let url: URL;
  try {
    url = new URL(written);
  } catch {
    item.ref.add(error("/spec/url", "invalid-url", `spec.url ${JSON.stringify(written)} is not a URL`));
    return;
  }
  if (url.username || url.password) {
    item.ref.add(
      error(
        "/spec/url",
        "credentials-in-url",
        "spec.url must not carry a user or password: the API key goes in spec.apiKey and spec.apiKeySecret",
      ),
    );
    return;
  }
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname))
    item.ref.add(
      error(
        "/spec/url",
        "insecure-kasm-url",
        `spec.url ${written} is plain http to ${url.hostname}: the API key and secret would cross the network in clear; write https://${url.host}${url.pathname === "/" ? "" : url.pathname} (plain http is allowed only on a loopback host: 127.0.0.1, ::1, localhost)`,
      ),
    );
}
