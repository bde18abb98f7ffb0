import type { Clock } from "../../src/ports.js";

/** A clock whose sleeps advance virtual time at once, so backoff and pauses cost nothing in tests. */
export function virtualClock(start = 0): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => new Date(now),
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}
