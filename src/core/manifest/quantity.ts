/**
 * Memory quantities as Kubernetes writes them, so `2768M` means what an operator of both expects:
 * decimal units are powers of 1000 (k, M, G, T), binary units powers of 1024 (Ki, Mi, Gi, Ti).
 */

const UNITS: Record<string, number> = {
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

const QUANTITY_RE = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)$/;

/** What a valid quantity looks like, for error messages. */
export const QUANTITY_HINT =
  "a number with a unit, e.g. 2768M or 2G (M = 10^6 bytes, G = 10^9) or 512Mi or 1Gi (Mi = 2^20 bytes, Gi = 2^30)";

/**
 * Bytes of a quantity such as `2768M`, `1.5G` or `512Mi`; undefined when the text is not one, is zero, or
 * does not come to a whole number of bytes. A unit is required: a bare `2048` is too easy to mean MB.
 */
export function parseMemoryQuantity(text: string): number | undefined {
  const match = QUANTITY_RE.exec(text.trim());
  if (!match) return undefined;
  const [, number, unit] = match as unknown as [string, string, string];
  const [whole, fraction = ""] = number.split(".");
  // Integer arithmetic on the digits, so 1.1G is exactly 1,100,000,000 and not 1,100,000,000.0000002.
  const scale = 10 ** fraction.length;
  const numerator = BigInt(`${whole}${fraction}`) * BigInt(UNITS[unit]!);
  if (numerator % BigInt(scale) !== 0n) return undefined;
  const bytes = numerator / BigInt(scale);
  if (bytes === 0n || bytes > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(bytes);
}

/** Units tried in order when writing bytes as a quantity: the first that divides them exactly wins. */
const FORMAT_UNITS = ["Ti", "T", "Gi", "G", "Mi", "M", "Ki", "k"] as const;

/**
 * Bytes as the shortest quantity that parses back to exactly them (2768000000 → 2768M, 2^31 → 2Gi), or a
 * decimal of k when no unit divides them (1234 → 1.234k); undefined for zero, negative or fractional bytes.
 */
export function formatMemoryQuantity(bytes: number): string | undefined {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) return undefined;
  for (const unit of FORMAT_UNITS) {
    const size = UNITS[unit]!;
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  const fraction = String(bytes % 1000)
    .padStart(3, "0")
    .replace(/0+$/, "");
  return `${Math.floor(bytes / 1000)}.${fraction}k`;
}
