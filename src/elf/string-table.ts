// A table of NUL-terminated strings addressed by byte offset, as used by ELF string sections and BTF.
//
// Big tables (vmlinux BTF has ~2.5 MB of names) are looked up hundreds of thousands of times, so the bytes are
// decoded once into a one-char-per-byte string and each lookup is an indexOf + slice. Byte offsets and string
// indices coincide in that form; only a name that really contains non-ASCII bytes is re-decoded as UTF-8.

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

export class StringTable {
  private readonly text: string;
  private readonly allAscii: boolean;

  constructor(readonly bytes: Uint8Array) {
    this.text = latin1.decode(bytes);
    this.allAscii = isAscii(bytes);
  }

  get size(): number {
    return this.bytes.length;
  }

  /** The string starting at `offset`, or undefined when the offset is outside the table or unterminated. */
  at(offset: number): string | undefined {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.bytes.length) return undefined;
    const end = this.text.indexOf("\0", offset);
    if (end < 0) return undefined;
    if (this.allAscii) return this.text.slice(offset, end);
    const slice = this.bytes.subarray(offset, end);
    return isAscii(slice) ? this.text.slice(offset, end) : utf8.decode(slice);
  }
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i] as number) >= 0x80) return false;
  }
  return true;
}
