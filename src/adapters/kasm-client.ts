/**
 * The Kasm Web App API client behind the KasmApi port: `POST {url}/api/public/<fn>` with the API key in the
 * body, over node:http(s) so a private CA can be trusted per server. Reads and the whole-record update are
 * retried on transient failures; create, delete and the group-row writes never are (after a lost answer a
 * repeat would duplicate or be refused), so the next cycle observes what happened instead.
 */
import { request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { KasmGitopsError } from "../core/errors.js";
import type { KasmServerReport, KasmZone } from "../core/kasm/agents.js";
import type { KasmGroup, KasmImageList, KasmMembership, KasmRecord } from "../core/kasm/types.js";
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from "../core/retry.js";
import type {
  Clock,
  ImportImages,
  KasmApi,
  KasmImageCreate,
  KasmImageFields,
  KasmImportSource,
} from "../ports.js";
import { systemClock } from "./clock.js";
import {
  classifyKasmAnswer,
  type KasmAnswer,
  type KasmCallContext,
  kasmError,
  kasmNetworkError,
  kasmSkippedError,
  scrubSecrets,
} from "./kasm-errors.js";
import { ANSWER_KEYS, IMAGE_ID, SESSION_FUNCTIONS, targetGroup, targetImage } from "./kasm-keys.js";
import { sessionCalls } from "./kasm-session-calls.js";
import {
  createPayload,
  decodeGroup,
  decodeGroupImage,
  decodeImage,
  decodeImages,
  decodeServer,
  decodeZone,
  fieldsNotTaken,
  listIn,
  objectIn,
  updatePayload,
  type WireRecord,
} from "./kasm-wire.js";

export type KasmClientOptions = {
  /** The Kasm web app, e.g. https://kasm.example.com (a path prefix is kept). */
  url: string;
  apiKey: string;
  apiKeySecret: string;
  /** PEM of a CA to trust for this server, besides the system's. */
  ca?: string;
  /** The KasmServer manifest's name, so error messages say which one to fix. */
  name?: string;
  /** Deadline per HTTP exchange, body included; default 30 s. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  clock?: Clock;
  /** Hears every exchange (function, status, duration), for metrics and tests; never a key. */
  onCall?: (info: KasmCallInfo) => void;
};

export type KasmCallInfo = { fn: string; status: number; durationMs: number };

export const KASM_TIMEOUT_MS = 30_000;
const MAX_ANSWER_BYTES = 32 << 20;
/** Calls whose repeat changes nothing more: safe to retry after a lost answer. */
const IDEMPOTENT = new Set([
  "get_images",
  "get_groups",
  "get_images_group",
  "get_servers",
  "get_zones",
  "update_image",
  SESSION_FUNCTIONS.findUser,
  SESSION_FUNCTIONS.status,
  SESSION_FUNCTIONS.list,
]);

class KasmClient implements KasmApi {
  readonly url: string;
  private readonly base: URL;
  private readonly agent: HttpsAgent | undefined;
  private readonly secrets: string[];
  /** The timeout of this client's first unanswered call: a hung Kasm costs one timeout, not one per call. */
  private hung: KasmGitopsError | undefined;
  private readonly sessions = sessionCalls((fn, payload, signal) => this.call(fn, payload, signal));
  readonly findUserId = this.sessions.findUserId;
  readonly requestSession = this.sessions.requestSession;
  readonly sessionState = this.sessions.sessionState;
  readonly destroySession = this.sessions.destroySession;
  readonly listSessions = this.sessions.listSessions;

  constructor(private readonly options: KasmClientOptions) {
    this.url = options.url;
    this.base = new URL(options.url.endsWith("/") ? options.url : `${options.url}/`);
    this.agent =
      this.base.protocol === "https:" && options.ca
        ? new HttpsAgent({ ca: options.ca, keepAlive: true })
        : undefined;
    this.secrets = [options.apiKey, options.apiKeySecret];
  }

  async readImages(signal?: AbortSignal): Promise<KasmImageList> {
    return decodeImages(await this.getImages(signal), "get_images");
  }

  async readImportImages(signal?: AbortSignal): Promise<ImportImages> {
    // A non-object entry is read as an empty record, so what is wrong with it is said as a missing id.
    const list = (await this.getImages(signal)).map((raw) =>
      raw !== null && typeof raw === "object" && !Array.isArray(raw) ? raw : {},
    );
    const { records, unreadable } = decodeImages(list, "get_images", "import");
    return {
      records,
      unreadable: unreadable.map((u) => ({ imageId: u.imageId ?? "(no image_id)", reason: u.problem })),
    };
  }

  async listGroups(signal?: AbortSignal): Promise<KasmGroup[]> {
    const body = await this.call("get_groups", {}, signal);
    return listIn(body, ANSWER_KEYS.get_groups, "get_groups").map((raw) => decodeGroup(raw, "get_groups"));
  }

  async listGroupImages(groupId: string, signal?: AbortSignal): Promise<KasmMembership[]> {
    const body = await this.call("get_images_group", targetGroup(groupId), signal);
    return listIn(body, ANSWER_KEYS.get_images_group, "get_images_group").map((raw) =>
      decodeGroupImage(raw, "get_images_group"),
    );
  }

  async listServers(signal?: AbortSignal): Promise<KasmServerReport[]> {
    const body = await this.call("get_servers", {}, signal);
    return listIn(body, ANSWER_KEYS.get_servers, "get_servers").map((raw) =>
      decodeServer(raw, "get_servers"),
    );
  }

  async listZones(signal?: AbortSignal): Promise<KasmZone[]> {
    const body = await this.call("get_zones", {}, signal);
    return listIn(body, ANSWER_KEYS.get_zones, "get_zones").map((raw) => decodeZone(raw, "get_zones"));
  }

  async createImage(record: KasmImageCreate, signal?: AbortSignal): Promise<KasmRecord> {
    return this.write("create_image", createPayload(record), record, signal);
  }

  async updateImage(imageId: string, fields: KasmImageFields, signal?: AbortSignal): Promise<KasmRecord> {
    // Kasm resets what an update leaves out: read the record as it is now and send it back whole.
    const current = (await this.getImages(signal)).find(
      (raw): raw is WireRecord =>
        raw !== null && typeof raw === "object" && (raw as WireRecord)[IMAGE_ID] === imageId,
    );
    if (!current)
      throw kasmError(
        "kasm-not-found",
        `Kasm ${this.url} has no image record ${imageId} to update (deleted since it was observed?)`,
        { url: this.url, fn: "update_image", imageId },
      );
    return this.write("update_image", updatePayload(current, fields), fields, signal);
  }

  /** A create or update, done only when Kasm's answer shows every field as it was sent. */
  private async write(
    fn: "create_image" | "update_image",
    target: WireRecord,
    sent: KasmImageFields,
    signal?: AbortSignal,
  ): Promise<KasmRecord> {
    const body = await this.call(fn, { target_image: target }, signal);
    const answer = decodeImage(objectIn(body, ANSWER_KEYS[fn], fn), fn);
    const missed = fieldsNotTaken(sent, answer);
    if (missed.length > 0)
      throw kasmError(
        "kasm-not-taken",
        `Kasm ${this.url} ${fn}: Kasm answered without taking ${missed.join(", ")} of record ${answer.imageId}: its answer shows ${missed.length === 1 ? "that field" : "those fields"} unlike what was sent (Kasm 1.15 ignores an empty description or notes and 0 cores or memory)`,
        { url: this.url, fn, imageId: answer.imageId, fields: missed },
      );
    return answer;
  }

  async deleteImage(imageId: string, signal?: AbortSignal): Promise<void> {
    await this.call("delete_image", targetImage(imageId), signal);
  }

  /** get_images as Kasm answered it: the one read both decodes and the update's read-modify-write start from. */
  private async getImages(signal?: AbortSignal): Promise<unknown[]> {
    return listIn(await this.call("get_images", {}, signal), ANSWER_KEYS.get_images, "get_images");
  }

  async addImageToGroup(groupId: string, imageId: string, signal?: AbortSignal): Promise<boolean> {
    // add_images_group adds a row even when the pair has one: look first.
    const rows = await this.listGroupImages(groupId, signal);
    if (rows.some((row) => row.imageId === imageId)) return false;
    await this.call("add_images_group", pair(groupId, imageId), signal);
    return true;
  }

  async removeImageFromGroup(groupId: string, imageId: string, signal?: AbortSignal): Promise<boolean> {
    // Kasm refuses to remove a pair the group does not have: look first, so a repeat is harmless.
    const rows = await this.listGroupImages(groupId, signal);
    if (!rows.some((row) => row.imageId === imageId)) return false;
    await this.call("remove_images_group", pair(groupId, imageId), signal);
    return true;
  }

  /** One API function, retried on transient failures when repeating it is harmless. */
  private async call(fn: string, payload: WireRecord, signal?: AbortSignal): Promise<WireRecord> {
    const policy = IDEMPOTENT.has(fn)
      ? (this.options.retry ?? DEFAULT_RETRY)
      : { ...DEFAULT_RETRY, attempts: 1 };
    try {
      const { value } = await withRetry(() => this.exchange(fn, payload, signal), {
        policy,
        clock: this.options.clock ?? systemClock,
        // A call that got no answer in time is not asked again: a hung Kasm would cost a timeout per attempt.
        retryable: () => this.hung === undefined,
        ...(signal ? { signal } : {}),
      });
      return value;
    } catch (error) {
      throw error instanceof Error ? scrubSecrets(error, this.secrets) : error;
    }
  }

  private async exchange(fn: string, payload: WireRecord, signal?: AbortSignal): Promise<WireRecord> {
    const target = payload.target_image;
    const sentKeys =
      fn.endsWith("_image") && target !== null && typeof target === "object"
        ? Object.keys(target)
        : undefined;
    const ctx: KasmCallContext = {
      url: this.url,
      fn,
      ...(this.options.name ? { server: this.options.name } : {}),
      ...(sentKeys ? { sentKeys } : {}),
    };
    if (this.hung) throw kasmSkippedError(ctx, this.hung);
    const started = performance.now();
    const timeoutMs = this.options.timeoutMs ?? KASM_TIMEOUT_MS;
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    let answer: KasmAnswer;
    try {
      const body = JSON.stringify({
        ...payload,
        api_key: this.options.apiKey,
        api_key_secret: this.options.apiKeySecret,
      });
      answer = await this.post(new URL(`api/public/${fn}`, this.base), body, combined);
    } catch (error) {
      this.options.onCall?.({ fn, status: 0, durationMs: performance.now() - started });
      if (signal?.aborted) throw signal.reason;
      const failure = kasmNetworkError(ctx, error, deadline.aborted ? timeoutMs : undefined);
      if (deadline.aborted) this.hung = failure;
      throw failure;
    }
    this.options.onCall?.({ fn, status: answer.status, durationMs: performance.now() - started });
    const outcome = classifyKasmAnswer(ctx, answer);
    if (!outcome.ok) throw outcome.error;
    return outcome.body;
  }

  /** One POST, the answer read whole (up to a limit); rejects on network errors and on abort. */
  private post(url: URL, body: string, signal: AbortSignal): Promise<KasmAnswer> {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            "content-length": Buffer.byteLength(body),
          },
          signal,
          ...(this.agent ? { agent: this.agent } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) {
              res.destroy(new Error(`the answer is larger than ${MAX_ANSWER_BYTES >> 20} MiB`));
              return;
            }
            chunks.push(chunk);
          });
          res.on("error", reject);
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers["content-type"] ?? ""),
              text: Buffer.concat(chunks).toString("utf8"),
            }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }
}

const pair = (groupId: string, imageId: string) => ({ ...targetGroup(groupId), ...targetImage(imageId) });

/** A KasmApi for one Kasm web app, its key and secret already resolved. */
export function createKasmClient(options: KasmClientOptions): KasmApi & KasmImportSource {
  if (!options.apiKey || !options.apiKeySecret)
    throw new KasmGitopsError("usage", "a Kasm client needs an API key and its secret", { url: options.url });
  return new KasmClient(options);
}
