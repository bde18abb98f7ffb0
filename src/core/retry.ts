/** Retrying transient failures, shared by the engine and the adapters; the clock is a parameter. */
import { hasCode, isTransient } from "./errors.js";

/** The part of the clock port a retry needs: waiting, cut short by an abort. */
type Sleeper = { sleep(ms: number, signal?: AbortSignal): Promise<void> };

/** How transient failures are retried: exponential backoff with full jitter, capped. */
export type RetryPolicy = { attempts: number; baseMs: number; maxMs: number };
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseMs: 1000, maxMs: 30_000 };

/** Delay before attempt `attempt + 1`: a random point in [base/2, base·2^(attempt-1)], capped. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** True for a rate limit, which pauses the whole registry rather than one action. */
export function isRateLimited(error: unknown): boolean {
  return (
    hasCode(error, "registry-rate-limited") ||
    (hasCode(error, "pull-failed") && error.context.reason === "rate-limited")
  );
}

/** Runs `task` until it succeeds, fails for good, or the attempts run out. */
export async function withRetry<T>(
  task: (attempt: number) => Promise<T>,
  options: {
    policy: RetryPolicy;
    clock: Sleeper;
    signal?: AbortSignal;
    random?: () => number;
    onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
    /** A wait the error itself asks for (Retry-After), used instead of the backoff when longer. */
    waitFor?: (error: unknown) => number | undefined;
    /** Narrows which transient failures are worth another attempt (default: all of them). */
    retryable?: (error: unknown) => boolean;
  },
): Promise<{ value: T; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await task(attempt), attempts: attempt };
    } catch (error) {
      if (
        attempt >= options.policy.attempts ||
        !isTransient(error) ||
        options.retryable?.(error) === false ||
        options.signal?.aborted
      )
        throw error;
      const delay = Math.max(
        backoffMs(options.policy, attempt, options.random),
        options.waitFor?.(error) ?? 0,
      );
      options.onRetry?.(attempt, delay, error);
      await options.clock.sleep(delay, options.signal);
    }
  }
}
