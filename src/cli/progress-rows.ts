/**
 * The rows of live progress, fitted to the terminal's width: a row that wraps breaks the next redraw
 * (the cursor moves up by rows written, not rows shown), so every row is cut to fit, never wrapped.
 */

/** One action in flight: what it is about, its percentage (or state) and, when room allows, its bytes. */
export type RunningView = { subject: string; state: string; bytes?: string };
/** One row: an agent (or `registry`, `kasm`) with its counts and its actions in flight. */
export type AgentView = { name: string; ok: number; failed: number; queued: number; running: RunningView[] };

/** Below this many columns live rows say too little to be worth redrawing: one line per event instead. */
export const MIN_LIVE_COLUMNS = 40;
/** Fewest characters an elided image reference keeps (start and end, `…` between). */
const MIN_SUBJECT = 7;

/** Live rows on a terminal of known, wide enough width that understands cursor movement; lines otherwise. */
export function progressMode(columns: number | undefined, term: string | undefined): "live" | "lines" {
  if (term === "dumb" || !columns || columns < MIN_LIVE_COLUMNS) return "lines";
  return "live";
}

/** `registry.example.com:5000/kasm/chrome:1.2` → `registry.e…chrome:1.2`: both ends kept, the tag whole if it can be. */
export function elideMiddle(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  if (max <= 1) return "…".slice(0, Math.max(0, max));
  const keep = max - 1;
  const head = Math.floor(keep / 2);
  return `${chars.slice(0, head).join("")}…${chars.slice(chars.length - (keep - head)).join("")}`;
}

const width = (text: string) => [...text].length;

/** The row's start: the agent and its counts; when room is short only the counts that are not zero, then only the agent. */
const heads = (a: AgentView): string[] => {
  const full = `  ${a.name}: ${a.ok} done, ${a.failed} failed, ${a.queued} queued`;
  const counts = [
    `${a.ok} done`,
    ...(a.failed ? [`${a.failed} failed`] : []),
    ...(a.queued ? [`${a.queued} queued`] : []),
  ];
  return [full, `  ${a.name}: ${counts.join(", ")}`, `  ${a.name}`];
};

/** Items in flight, each subject cut to `subjectMax` (undefined: whole), bytes shown or not. */
const items = (running: RunningView[], subjectMax: number | undefined, bytes: boolean) =>
  running.map((r) => {
    const subject = subjectMax === undefined ? r.subject : elideMiddle(r.subject, subjectMax);
    return `${subject} ${r.state}${bytes && r.bytes ? ` ${r.bytes}` : ""}`;
  });

const join = (head: string, parts: string[], more: number) =>
  `${head}${parts.length || more ? ` | ${parts.join(", ")}` : ""}${more ? `${parts.length ? " " : ""}+${more}` : ""}`;

/**
 * One agent's row in at most `columns - 1` characters (the last column is left free: some terminals wrap on
 * it). In order, until it fits: drop the bytes, shorten the image references in the middle, shorten then
 * drop the counts, show fewer actions (`+N`), shorten the agent's name, and last cut the row's end.
 */
export function progressRow(agent: AgentView, columns: number): string {
  const max = Math.max(1, columns - 1);
  const fits = (row: string) => width(row) <= max;
  const [full, short, name] = heads(agent) as [string, string, string];
  const whole = [true, false].map((bytes) => join(full, items(agent.running, undefined, bytes), 0));
  const found = whole.find(fits);
  if (found) return found;
  /** The row with `shown` actions after `head`, their references sharing what room is left; undefined if too little. */
  const shared = (head: string, shown: number) => {
    const visible = agent.running.slice(0, shown);
    const more = agent.running.length - shown;
    // With every reference cut to nothing, the rest of the row is what the references may share.
    const subjectMax = Math.floor((max - width(join(head, items(visible, 0, false), more))) / shown);
    return subjectMax >= MIN_SUBJECT ? join(head, items(visible, subjectMax, false), more) : undefined;
  };
  for (let shown = agent.running.length; shown >= 1; shown--) {
    for (const head of [full, short, name]) {
      const row = shared(head, shown);
      if (row) return row;
    }
  }
  if (agent.running.length > 0) {
    // A long agent name: shorten it to leave one action its percentage.
    const rest = join("  ", items(agent.running.slice(0, 1), MIN_SUBJECT, false), agent.running.length - 1);
    const room = max - width(rest);
    const row = room >= MIN_SUBJECT ? shared(`  ${elideMiddle(agent.name, room)}`, 1) : undefined;
    if (row) return row;
  }
  const counts = join(short, [], agent.running.length);
  return fits(counts) ? counts : elideEnd(counts, max);
}

/** The row's start, cut with `…` at `max` characters: the agent's name is what stays. */
function elideEnd(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}
