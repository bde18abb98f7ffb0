/**
 * A small terminal of fixed width for tests: it wraps at the last column the way xterm does and obeys the
 * few controls live progress writes (cursor up, erase line, carriage return, newline). What it shows at
 * the end is what a person would see, so a redraw that a wrapped row threw off shows up as stale rows.
 */
export function renderScreen(output: string, columns: number): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  const at = (r: number) => {
    while (rows.length <= r) rows.push([]);
    return rows[r]!;
  };
  const chars = [...output];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "\x1b" && chars[i + 1] === "[") {
      let j = i + 2;
      while (j < chars.length && !/[A-Za-z]/.test(chars[j]!)) j++;
      const params = chars.slice(i + 2, j).join("");
      const final = chars[j];
      if (final === "A") row = Math.max(0, row - (Number(params) || 1));
      else if (final === "K") {
        const line = at(row);
        if (params === "2") line.length = 0;
        else line.length = Math.min(line.length, col);
      }
      i = j;
    } else if (c === "\n") {
      row++;
      col = 0;
    } else if (c === "\r") {
      col = 0;
    } else if (c >= " ") {
      if (col >= columns) {
        row++;
        col = 0;
      }
      const line = at(row);
      while (line.length < col) line.push(" ");
      line[col++] = c;
    }
  }
  return rows.map((r) => r.join("").trimEnd());
}
