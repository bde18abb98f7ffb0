/**
 * HTML built by a tagged template that escapes every value it is given: only markup written in this
 * repository's templates is ever raw, so a name from Git, a registry or Kasm always renders as text.
 */

/** Markup already escaped (the result of `html`). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  // A carriage return would end a server-sent event's data line early.
  "\r": "&#13;",
};

/** Text or an attribute value made safe for HTML (quotes included, so it may sit in any quoted attribute). */
export const escapeHtml = (text: string): string => text.replace(/[&<>"'\r]/g, (c) => ENTITIES[c]!);

function piece(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(piece).join("");
  if (value === undefined || value === null || value === false) return "";
  return escapeHtml(String(value));
}

/** `html\`<td title="${text}">${cell}</td>\``: values escaped, nested `Html` and arrays of it kept. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += piece(values[i]) + strings[i + 1]!;
  return new Html(out);
}
