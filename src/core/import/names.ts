/** Names `import` gives what it writes: DNS labels derived from what people called things in Kasm. */

/** The longest name a manifest may have (a DNS label). */
export const MAX_NAME = 63;

/**
 * A DNS label from free text: lower-case, accents folded (NFKD, marks dropped), every run of other
 * characters a single `-`, trimmed to 63; empty when nothing usable is left.
 */
export function dnsLabel(text: string): string {
  const folded = text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
  const dashed = folded.replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return dashed.slice(0, MAX_NAME).replace(/-+$/, "");
}

/**
 * Gives each wanted name a unique one, in order: the first keeps it, later ones get -2, -3, … (shortened
 * so the suffix fits in 63 characters). An empty wish takes `fallback`.
 */
export function uniqueNames(wishes: readonly string[], fallback: string): string[] {
  const taken = new Set<string>();
  return wishes.map((wish) => {
    const base = wish || fallback;
    let name = base;
    for (let n = 2; taken.has(name); n++) {
      const suffix = `-${n}`;
      name = `${base.slice(0, MAX_NAME - suffix.length).replace(/-+$/, "")}${suffix}`;
    }
    taken.add(name);
    return name;
  });
}

/** An environment variable name for a secret of `name`: KASM_SECRET_<NAME>_<PART>, as references allow. */
export const secretEnvName = (name: string, part: string): string =>
  `KASM_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}_${part}`;

/** Where the imported KasmServer reads its API key pair from. */
export const KASM_KEY_ENV = "KASM_SECRET_KASM_API_KEY";
export const KASM_SECRET_ENV = "KASM_SECRET_KASM_API_KEY_SECRET";
