/** The real clock, injected where the core and engine take a Clock so tests can pass their own. */
import { setTimeout as delay } from "node:timers/promises";
import type { Clock } from "../ports.js";

export const systemClock: Clock = {
  now: () => new Date(),
  /** Resolves after `ms`; rejects with the signal's reason as soon as it aborts (at once if already aborted). */
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    try {
      await delay(Math.max(0, ms), undefined, signal ? { signal } : {});
    } catch (error) {
      throw signal?.aborted && signal.reason !== undefined ? signal.reason : error;
    }
  },
};
