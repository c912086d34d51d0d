// A streaming JSON writer that lays text out exactly like bpftool's json_writer: four-space indents, a newline
// before every object member, array elements on one line, and a newline before a non-empty container closes
// ("[1,2,3\n    ]"). `bpftool map dump` output is produced through it.

export class BpftoolJsonWriter {
  private readonly parts: string[] = [];
  private depth = 0;
  /** Whether the next element in the current container needs a comma first. */
  private needsComma = false;

  constructor(private readonly pretty: boolean) {}

  private endOfLine(): void {
    if (this.pretty) this.parts.push("\n", "    ".repeat(this.depth));
  }

  private separate(): void {
    if (this.needsComma) this.parts.push(",");
    this.needsComma = true;
  }

  private begin(open: string): void {
    this.separate();
    this.parts.push(open);
    this.depth++;
    this.needsComma = false;
  }

  private end(close: string): void {
    this.depth--;
    if (this.needsComma) this.endOfLine();
    this.parts.push(close);
    this.needsComma = true;
  }

  startObject(): void {
    this.begin("{");
  }

  endObject(): void {
    this.end("}");
  }

  startArray(): void {
    this.begin("[");
  }

  endArray(): void {
    this.end("]");
  }

  name(name: string): void {
    this.separate();
    this.endOfLine();
    this.needsComma = false;
    this.parts.push(quote(name), this.pretty ? ": " : ":");
  }

  string(value: string): void {
    this.separate();
    this.parts.push(quote(value));
  }

  /** A pre-formatted value (number, hex, true/false, bpftool's "(nil)"). */
  raw(text: string): void {
    this.separate();
    this.parts.push(text);
  }

  toString(): string {
    return this.parts.join("");
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
  "\f": "\\f",
  "\b": "\\b",
  // bpftool writes a backslash as "\n" (a bug that corrupts the text); we write a correct "\\".
  "\\": "\\\\",
  '"': '\\"',
  "'": "\\'",
};

/** bpftool's string quoting: C escapes for a few characters, everything else verbatim. */
function quote(text: string): string {
  let out = '"';
  for (const ch of text) out += ESCAPES[ch] ?? ch;
  return `${out}"`;
}
