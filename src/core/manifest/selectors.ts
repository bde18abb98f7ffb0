/** Whether an agent's labels include every label of a selector (Kubernetes matchLabels; `{}` matches all). */
export function selectorMatches(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> = {},
): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector)) if (labels[key] !== value) return false;
  return true;
}

/**
 * Counts agents a selector matches, through an index of label → agents and a cache per selector, so a fleet
 * of thousands of workspaces and agents is checked in near-linear time.
 */
export function matchingAgentCounter(
  agents: readonly (Record<string, string> | undefined)[],
): (selector: Record<string, string>) => number {
  const index = new Map<string, Record<string, string>[]>();
  for (const agent of agents) {
    for (const [key, value] of Object.entries(agent ?? {})) {
      const pair = `${key}\u0000${value}`;
      const list = index.get(pair) ?? [];
      list.push(agent!);
      index.set(pair, list);
    }
  }
  const cache = new Map<string, number>();
  return (selector) => {
    const entries = Object.entries(selector).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) return agents.length;
    const key = JSON.stringify(entries);
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    let smallest: Record<string, string>[] = [];
    for (const [i, [k, v]] of entries.entries()) {
      const list = index.get(`${k}\u0000${v}`) ?? [];
      if (i === 0 || list.length < smallest.length) smallest = list;
    }
    const count = smallest.filter((agent) => selectorMatches(selector, agent)).length;
    cache.set(key, count);
    return count;
  };
}
