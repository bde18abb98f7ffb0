import { CronPattern } from "croner";
import { parseDuration } from "../duration.js";
import { type ImageReference, parseImageReference } from "../image/reference.js";
import { checkKasm } from "../kasm/rules.js";
import { didYouMean } from "../suggest.js";
import { checkUpdatePolicy } from "../update/rules.js";
import { dockerHostHint, parseDockerHost, registryPortProblem } from "./host-format.js";
import { checkPromotions } from "./promotion-rules.js";
import { refreshFrequencyProblem } from "./refresh-frequency.js";
import { error, field, type Identified, stringMap, text } from "./rule-context.js";
import { matchingAgentCounter } from "./selectors.js";
import type { Kind } from "./types.js";

export type { DocRef, Identified } from "./rule-context.js";

/** The cross-document rules in docs/manifests.md, in one linear pass over the documents. */
export function checkSemantics(items: readonly Identified[]): void {
  const byKind = new Map<Kind, Map<string, Identified>>(KIND_ORDER.map((k) => [k, new Map()]));
  let settings: Identified | undefined;
  for (const item of items) {
    if (item.kind === "Settings") {
      if (settings)
        item.ref.add(
          error(
            "/kind",
            "multiple-settings",
            `only one Settings document is allowed; the first is at ${settings.ref.where("/kind")}`,
          ),
        );
      settings ??= item;
      checkSettings(item);
      continue;
    }
    if (item.kind === "KasmServer") continue; // at most one: checkKasm says so
    if (item.name === undefined) continue;
    const names = byKind.get(item.kind)!;
    const first = names.get(item.name);
    if (first) {
      item.ref.add(
        error(
          "/metadata/name",
          "duplicate-name",
          `${item.kind} "${item.name}" is already defined at ${first.ref.where("/metadata/name")}`,
        ),
      );
    } else names.set(item.name, item);
    if (item.kind === "Agent") checkDockerHost(item);
  }
  const registries = byKind.get("Registry")!;
  const hosts = new Map<string, string>();
  for (const [name, item] of registries) {
    const host = registryHost(item);
    if (host) hosts.set(name, host);
  }
  const countMatches = matchingAgentCounter(
    items.filter((i) => i.kind === "Agent").map((i) => stringMap(field(i, "/metadata/labels"))),
  );
  const images = new Map<string, ImageReference>();
  for (const item of items) {
    if (item.kind !== "Workspace") continue;
    const image = workspaceImage(item);
    if (image && item.name !== undefined && !images.has(item.name)) images.set(item.name, image);
    checkRegistry(item, image, registries, hosts);
    const selector = stringMap(field(item, "/spec/agents/matchLabels"));
    if (selector && countMatches(selector) === 0) {
      const wanted = Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ");
      item.ref.add({
        ...error(
          "/spec/agents/matchLabels",
          "selector-matches-nothing",
          `no agent has the labels ${wanted}: this workspace is served nowhere`,
          "key",
        ),
        severity: "warning",
      });
    }
    const refresh = text(item, "/spec/refresh");
    if (refresh !== undefined && refresh !== "default" && refresh !== "never")
      checkCron(item, "/spec/refresh", refresh);
    const updateSchedule = text(item, "/spec/update/schedule");
    if (updateSchedule !== undefined) checkCron(item, "/spec/update/schedule", updateSchedule);
    checkUpdatePolicy(item);
  }
  checkPromotions(items, byKind.get("Workspace")!, images);
  checkKasm(items);
}
const KIND_ORDER: Kind[] = ["Registry", "Agent", "Workspace", "Settings", "KasmServer", "Notification"];

function checkSettings(item: Identified): void {
  const schedule = text(item, "/spec/refreshSchedule");
  if (schedule !== undefined) checkCron(item, "/spec/refreshSchedule", schedule);
  const interval = text(item, "/spec/interval");
  const ms = interval === undefined ? undefined : parseDuration(interval);
  if (ms !== undefined && ms < 1000)
    item.ref.add(
      error("/spec/interval", "invalid-duration", `spec.interval must be at least 1s, got ${interval}`),
    );
}

/** Refresh frequency is judged over the runs after this fixed date, so a verdict never changes with the day. */
const FREQUENCY_FROM = new Date(Date.UTC(2026, 0, 1));

function checkCron(item: Identified, pointer: string, expression: string): void {
  try {
    new CronPattern(expression);
    const kind = pointer.endsWith("/update/schedule") ? "update" : "refresh";
    const tooOften = refreshFrequencyProblem(expression, FREQUENCY_FROM, kind);
    if (tooOften) {
      const where = pointer.slice(1).replaceAll("/", ".");
      item.ref.add({
        ...error(pointer, "refresh-too-often", `${where}: ${tooOften.message}`),
        severity: tooOften.severity,
      });
    }
  } catch (e) {
    const detail = (e as Error).message.replace(/^CronPattern: /, "");
    item.ref.add(
      error(
        pointer,
        "invalid-cron",
        `${pointer.slice(1).replaceAll("/", ".")} "${expression}" is not a cron expression: ${detail} (e.g. "0 * * * *" = hourly)`,
      ),
    );
  }
}

/** The Registry's host as image references carry it, or undefined (reported) when Docker would not read it as one. */
function registryHost(item: Identified): string | undefined {
  const host = text(item, "/spec/host");
  if (host === undefined) return undefined;
  try {
    const parsed = parseImageReference(`${host}/probe`).registry;
    const port = registryPortProblem(host);
    if (port) {
      item.ref.add(error("/spec/host", "invalid-registry-host", `registry host "${host}" ${port}`));
      return undefined;
    }
    if (parsed === host || host === "index.docker.io") return parsed;
  } catch {
    // reported below
  }
  item.ref.add(
    error(
      "/spec/host",
      "invalid-registry-host",
      `"${host}" is not a registry host: Docker only reads a first path component with a dot or a port, or localhost, as a registry (registry.example.com, localhost:5000, docker.io)`,
    ),
  );
  return undefined;
}

/** The Agent's docker.host by the very rule the Docker adapter connects with, so validate and plan agree. */
function checkDockerHost(item: Identified): void {
  const host = text(item, "/spec/docker/host");
  if (host === undefined) return;
  const endpoint = parseDockerHost(host);
  if ("problem" in endpoint) {
    item.ref.add(
      error(
        "/spec/docker/host",
        "invalid-docker-host",
        `Docker host "${host}" ${endpoint.problem}; ${dockerHostHint}`,
      ),
    );
  } else if (endpoint.kind === "unix" && field(item, "/spec/docker/tls") !== undefined) {
    item.ref.add(
      error(
        "/spec/docker/tls",
        "tls-on-unix-socket",
        `Docker host "${host}" is a unix socket, which takes no TLS settings`,
      ),
    );
  }
}

function workspaceImage(item: Identified): ImageReference | undefined {
  const written = text(item, "/spec/image");
  if (written === undefined) return undefined;
  let image: ImageReference;
  try {
    image = parseImageReference(written);
  } catch (e) {
    item.ref.add(error("/spec/image", "invalid-image", (e as Error).message));
    return undefined;
  }
  if (image.tag === undefined && image.digest === undefined) {
    item.ref.add(
      error(
        "/spec/image",
        "image-missing-tag",
        `image "${written}" has no tag or digest: Kasm leaves such a workspace "Installing" forever; write ${written}:TAG or ${written}@sha256:…`,
      ),
    );
  }
  return image;
}

function checkRegistry(
  item: Identified,
  image: ImageReference | undefined,
  registries: Map<string, Identified>,
  hosts: Map<string, string>,
): void {
  const name = text(item, "/spec/registry");
  if (name === undefined) return;
  if (!registries.has(name)) {
    const defined = [...registries.keys()];
    const list = defined.length
      ? `; defined: ${defined.slice(0, 10).join(", ")}`
      : "; no Registry is defined";
    item.ref.add(
      error(
        "/spec/registry",
        "unknown-registry",
        `unknown registry "${name}"${didYouMean(name, defined)}${list}`,
      ),
    );
    return;
  }
  const host = hosts.get(name);
  if (image && host && image.registry !== host) {
    const fix = `${host}/${image.repository}${image.tag ? `:${image.tag}` : ""}${image.digest ? `@${image.digest}` : ""}`;
    item.ref.add(
      error(
        "/spec/image",
        "registry-host-mismatch",
        `image host ${image.registry} is not the host of registry "${name}" (${host}): Kasm would pull it from ${image.registry} without ${name}'s credentials; write ${fix}`,
      ),
    );
  }
}
