/** One measured figure: a value, what it is compared with in the same run, and the ratio between them. */
export type Measure = { value: number; unit: Unit; label?: string };
export type Unit = "ms" | "MB" | "bytes" | "requests" | "GETs" | "pulls" | "%" | "cores" | "rounds";

export type FigureLine = {
  /** Stable id, e.g. `core.validate`, for `--json` consumers. */
  id: string;
  /** What was measured, with its size, e.g. "validate 10,000 documents". */
  what: string;
  measured: Measure;
  /** The ideal or the baseline, measured in the same run; absent when nothing comparable exists. */
  baseline?: Measure & { label: string };
  /** measured / baseline. */
  ratio?: number;
  /** The project's target for this figure, whether it was met, and measured / target when they share a unit. */
  target?: { label: string; met: boolean; ratio?: number };
  /** The numbers a baseline or a measure is built from, by name, for `--json` consumers (e.g. the apply's ideal). */
  breakdown?: Record<string, Measure>;
  /** How it was measured and the raw counts behind the numbers. */
  notes: string[];
};

const round = (n: number) =>
  Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);

export function formatMeasure(m: Measure): string {
  return `${round(m.value)} ${m.unit}`;
}

/** measured / baseline, or undefined when the baseline is zero (nothing to compare against). */
export const ratioOf = (measured: number, baseline: number): number | undefined =>
  baseline === 0 ? undefined : measured / baseline;

/** An upper bound: met when measured ≤ bound; `ratio` is measured / bound. */
export function atMost(measured: number, bound: number, label: string): NonNullable<FigureLine["target"]> {
  return { label, met: measured <= bound, ratio: measured / bound };
}

const targetText = (t: NonNullable<FigureLine["target"]>) =>
  `${t.label}: ${t.ratio === undefined ? "" : `${round(t.ratio)}× of it, `}${t.met ? "met" : "MISSED"}`;

/** Renders the lines as an aligned text table, one row per figure, then each figure's notes. */
export function renderTable(lines: readonly FigureLine[]): string {
  const header = ["figure", "measured", "ideal / baseline", "ratio", "target"];
  const rows = lines.map((l) => [
    l.what,
    formatMeasure(l.measured),
    l.baseline ? `${formatMeasure(l.baseline)} (${l.baseline.label})` : "-",
    l.ratio === undefined ? "-" : `${round(l.ratio)}×`,
    l.target ? targetText(l.target) : "-",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const out = [format(header), format(widths.map((w) => "-".repeat(w)))];
  for (const row of rows) out.push(format(row));
  const notes = lines.filter((l) => l.notes.length > 0);
  if (notes.length > 0) out.push("", "How each figure was measured:");
  for (const line of notes) out.push(`  ${line.id}:`, ...line.notes.map((n) => `    ${n}`));
  return `${out.join("\n")}\n`;
}
