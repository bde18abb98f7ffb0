/**
 * The session calls of the Kasm client (smoke tests): find the smoke user, start a session of a record as
 * that user, read where it is, destroy it, list every session. Kept beside kasm-client.ts, which owns the
 * transport; Kasm's keys come from kasm-keys.ts only.
 */

import { KasmGitopsError } from "../core/errors.js";
import type { KasmSessionState } from "../core/kasm/smoke.js";
import { SESSION_FUNCTIONS as FN, SESSION_KEYS as K, NOT_RUNNING_PATTERN } from "./kasm-keys.js";
import { listIn, objectIn, type WireRecord } from "./kasm-wire.js";

/** One API call through the client's transport: the answer's JSON object, or a typed error. */
export type KasmCaller = (fn: string, payload: WireRecord, signal?: AbortSignal) => Promise<WireRecord>;

const text = (record: WireRecord, key: string, fn: string): string => {
  const value = record[key];
  if (typeof value !== "string" || value === "")
    throw new KasmGitopsError("kasm-error", `Kasm answered ${fn} in an unexpected form: no ${key}`, { fn });
  return value;
};
const maybe = (record: WireRecord, key: string): string | null =>
  typeof record[key] === "string" ? (record[key] as string) : null;

/** The session calls over `call`. */
export function sessionCalls(call: KasmCaller) {
  return {
    async findUserId(username: string, signal?: AbortSignal): Promise<string> {
      const body = await call(FN.findUser, { [K.targetUser]: { [K.username]: username } }, signal);
      return text(objectIn(body, K.user, FN.findUser), K.userId, FN.findUser);
    },
    async requestSession(imageId: string, userId: string, signal?: AbortSignal): Promise<string> {
      const body = await call(FN.request, { [K.imageId]: imageId, [K.userId]: userId }, signal);
      return text(body, K.kasmId, FN.request);
    },
    async sessionState(kasmId: string, userId: string, signal?: AbortSignal): Promise<KasmSessionState> {
      let body: WireRecord;
      try {
        body = await call(FN.status, { [K.kasmId]: kasmId, [K.userId]: userId }, signal);
      } catch (error) {
        // Until the agent reports the container running, Kasm answers only "This session is currently <status>."
        const said =
          error instanceof KasmGitopsError
            ? (error.context as { kasmMessage?: string }).kasmMessage
            : undefined;
        const waiting =
          error instanceof KasmGitopsError && error.code === "kasm-refused" && said
            ? NOT_RUNNING_PATTERN.exec(said)
            : null;
        if (waiting) return { phase: "waiting", status: waiting[1]! };
        throw error;
      }
      const kasm = objectIn(body, K.kasm, FN.status);
      return {
        phase: "reported",
        status: text(kasm, K.status, FN.status),
        serverId: maybe(kasm, K.serverId),
        containerId: maybe(kasm, K.containerId),
      };
    },
    async destroySession(kasmId: string, userId: string, signal?: AbortSignal): Promise<void> {
      await call(FN.destroy, { [K.kasmId]: kasmId, [K.userId]: userId }, signal);
    },
    async listSessions(signal?: AbortSignal): Promise<{ kasmId: string; userId: string }[]> {
      const body = await call(FN.list, {}, signal);
      return listIn(body, K.kasms, FN.list).map((raw) => {
        const kasm = (raw ?? {}) as WireRecord;
        return { kasmId: text(kasm, K.kasmId, FN.list), userId: text(kasm, K.userId, FN.list) };
      });
    },
  };
}
