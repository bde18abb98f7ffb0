/**
 * The Kasm stand-in's users and sessions, pure: get_user, request_kasm (with placement), get_kasm_status,
 * destroy_kasm and get_kasms over the state, as docs/kasm-stand-in.md describes them. A session's container
 * is started and watched by kasm-session-runner.ts, which moves it along with `sessionRan`/`sessionStopped`.
 */
import type { StoredImage } from "./kasm-image-fields.js";

/** A Kasm user, as far as sessions need one. */
export type KasmUser = { user_id: string; username: string };

/** Where a session is: Kasm's operational statuses, as far as the stand-in moves them. */
export type KasmSessionStatus = "requested" | "provisioning" | "starting" | "running" | "stopped";

/** One session (a Kasm, in Kasm's words): whose, of which image, on which agent, and its container. */
export type KasmSession = {
  kasm_id: string;
  user_id: string;
  image_id: string;
  server_id: string;
  container_id: string | null;
  operational_status: KasmSessionStatus;
  created_date: string;
  start_date: string | null;
  /** Why the container is not running (lab only: the exit Docker reported). */
  stopped_reason?: string;
};

/** The part of the stand-in's state sessions read and change. */
export type SessionState = {
  images: StoredImage[];
  servers: {
    server_id: string;
    server_type: string;
    enabled: boolean;
    operational_status: string;
    zone_id: string | null;
    docker_images: Record<string, { tags: string[] }>;
    cores: number;
    memory: number;
  }[];
  zones: { zone_id: string; zone_name: string }[];
  users: KasmUser[];
  kasms: KasmSession[];
};

/** Kasm's permissions a key may hold; a key without one a call needs answers 401 `Unauthorized`. */
export const KASM_PERMISSIONS = ["USER", "USERS_AUTH_SESSION", "USERS_VIEW", "SESSIONS_VIEW"] as const;
export type KasmPermission = (typeof KASM_PERMISSIONS)[number];

/** What each session function needs of the key (the image and agent functions need a full key). */
export const SESSION_NEEDS: Record<string, readonly KasmPermission[]> = {
  get_user: ["USERS_VIEW"],
  request_kasm: ["USER", "USERS_AUTH_SESSION"],
  get_kasm_status: ["USER", "USERS_AUTH_SESSION"],
  destroy_kasm: ["USER", "USERS_AUTH_SESSION"],
  get_kasms: ["SESSIONS_VIEW"],
};

/** Kasm's answer when no agent may run a session of the image. */
export const NO_RESOURCES =
  "No resources are available to create the requested Kasm. Please try again later or contact an Administrator";
/** Kasm's default `max_kasms_per_user`. */
export const MAX_KASMS_PER_USER = 2;

export type SessionReply = { error: string } | { ok: Record<string, unknown> };
/** The RepoDigests (`repo@sha256:…`) each agent's engine holds for an image name, learned before a request. */
export type DigestsOf = (serverId: string, name: string) => readonly string[] | undefined;
export type SessionDeps = { newId(): string; now(): Date; digestsOf?: DigestsOf };

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const obj = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

/** `get_user {target_user: {username | user_id}}` → `{user}`. */
export function getUser(state: SessionState, request: Record<string, unknown>): SessionReply {
  const target = obj(request.target_user);
  const username = str(target?.username);
  const userId = str(target?.user_id);
  if (!username && !userId) return { error: "Invalid Request: Missing required parameters" };
  const user = state.users.find((u) => u.user_id === userId || u.username === username);
  if (!user) return { error: "User does not exist" };
  const kasms = state.kasms.filter((k) => k.user_id === user.user_id).map((k) => ({ kasm_id: k.kasm_id }));
  return { ok: { user: { ...user, kasms } } };
}

/**
 * The agent a session of `image` starts on, or Kasm's `No resources…`: a running, enabled agent (a server of
 * type host) of the record's server or zone (any zone when it names none), with cores and memory left after
 * its sessions, whose reported images carry the record's name, and, when the record has a `hash`, whose
 * engine holds that digest of it. Kasm never pulls on demand.
 */
export function placeSession(
  state: SessionState,
  image: StoredImage,
  digestsOf: DigestsOf = () => undefined,
): { serverId: string } | { error: string } {
  const name = image.name ?? "";
  const candidates = state.servers.filter((s) => {
    if (s.server_type !== "host" || !s.enabled || s.operational_status !== "running") return false;
    if (image.restrict_to_server && image.server_id) return s.server_id === image.server_id;
    if (image.restrict_to_zone && image.zone_id) return s.zone_id === image.zone_id;
    return true;
  });
  for (const server of candidates) {
    const tags = Object.values(server.docker_images).flatMap((entry) => entry.tags ?? []);
    if (!tags.includes(name)) continue;
    if (image.hash) {
      const digests = digestsOf(server.server_id, name) ?? [];
      if (!digests.some((d) => d === image.hash || d.endsWith(`@${image.hash}`))) continue;
    }
    const used = state.kasms
      .filter((k) => k.server_id === server.server_id && k.operational_status !== "stopped")
      .map((k) => state.images.find((i) => i.image_id === k.image_id))
      .reduce((sum, i) => ({ cores: sum.cores + (i?.cores ?? 0), memory: sum.memory + (i?.memory ?? 0) }), {
        cores: 0,
        memory: 0,
      });
    if (used.cores + image.cores > server.cores || used.memory + image.memory > server.memory) continue;
    return { serverId: server.server_id };
  }
  return { error: NO_RESOURCES };
}

/** `request_kasm {image_id, user_id}`: a session placed on an agent, `starting` until its container runs. */
export function requestKasm(
  state: SessionState,
  request: Record<string, unknown>,
  deps: SessionDeps,
): SessionReply {
  const userId = str(request.user_id);
  const user = state.users.find((u) => u.user_id === userId);
  if (!user) return { error: "Invalid Request" };
  const mine = state.kasms.filter((k) => k.user_id === user.user_id);
  if (mine.length >= MAX_KASMS_PER_USER) return { error: `Kasm limit exceeded for user: (${user.username})` };
  const image = state.images.find((i) => i.image_id === str(request.image_id));
  if (!image?.enabled) return { error: "Image Not Authorized" };
  const placed = placeSession(state, image, deps.digestsOf);
  if ("error" in placed) return placed;
  const kasmId = deps.newId();
  state.kasms.push({
    kasm_id: kasmId,
    user_id: user.user_id,
    image_id: image.image_id,
    server_id: placed.serverId,
    container_id: null,
    operational_status: "starting",
    created_date: deps.now().toISOString(),
    start_date: null,
  });
  const token = deps.newId();
  return {
    ok: {
      kasm_id: kasmId,
      status: "starting",
      user_id: user.user_id,
      username: user.username,
      session_token: token,
      kasm_url: `/#/connect/kasm/${kasmId}/${user.user_id}/${token}`,
    },
  };
}

/** The session a call names, when it is the named user's: anything else is the same refusal. */
function ownSession(state: SessionState, request: Record<string, unknown>): KasmSession | undefined {
  const kasm = state.kasms.find((k) => k.kasm_id === str(request.kasm_id));
  return kasm && kasm.user_id === str(request.user_id) ? kasm : undefined;
}

/** A session as get_kasm_status and get_kasms show it. */
function shown(state: SessionState, kasm: KasmSession): Record<string, unknown> {
  const image = state.images.find((i) => i.image_id === kasm.image_id);
  const user = state.users.find((u) => u.user_id === kasm.user_id);
  const { stopped_reason: _lab, ...rest } = kasm;
  return {
    ...rest,
    username: user?.username ?? null,
    image: {
      image_id: kasm.image_id,
      name: image?.name ?? null,
      friendly_name: image?.friendly_name ?? null,
    },
  };
}

/**
 * `get_kasm_status {kasm_id, user_id}`: only `This session is currently <status>.` until the agent reports
 * its container running, then `{kasm, current_time}`; a stopped one shows as stopped until destroyed.
 */
export function getKasmStatus(
  state: SessionState,
  request: Record<string, unknown>,
  deps: SessionDeps,
): SessionReply {
  if (!str(request.kasm_id) || !str(request.user_id)) return { error: "Invalid Request" };
  const kasm = ownSession(state, request);
  if (!kasm) return { error: "Kasm not found" };
  if (kasm.operational_status !== "running" && kasm.operational_status !== "stopped")
    return { error: `This session is currently ${kasm.operational_status}.` };
  return { ok: { kasm: shown(state, kasm), current_time: deps.now().toISOString() } };
}

/** `destroy_kasm {kasm_id, user_id}` → `{}`; without the owner's user_id `Destroy Error`, nothing destroyed. */
export function destroyKasm(state: SessionState, request: Record<string, unknown>): SessionReply {
  const kasm = ownSession(state, request);
  if (!kasm) return { error: "Destroy Error" };
  state.kasms = state.kasms.filter((k) => k !== kasm);
  return { ok: {} };
}

/** `get_kasms` → `{kasms: [...]}`, every session of every user. */
export function getKasms(state: SessionState): SessionReply {
  return { ok: { kasms: state.kasms.map((k) => shown(state, k)) } };
}

/** The agent reported the session's container running (lab: Docker says so). */
export function sessionRan(state: SessionState, kasmId: string, containerId: string, at: Date): void {
  const kasm = state.kasms.find((k) => k.kasm_id === kasmId);
  if (!kasm || kasm.operational_status === "stopped") return;
  kasm.container_id = containerId;
  kasm.operational_status = "running";
  kasm.start_date ??= at.toISOString();
}

/** The session's container is not running (exited, or never started): it stays, stopped, until destroyed. */
export function sessionStopped(
  state: SessionState,
  kasmId: string,
  reason: string,
  containerId?: string,
): void {
  const kasm = state.kasms.find((k) => k.kasm_id === kasmId);
  if (!kasm) return;
  kasm.operational_status = "stopped";
  kasm.stopped_reason = reason;
  if (containerId) kasm.container_id = containerId;
}
