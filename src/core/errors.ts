// Why a CO-RE relocation could not be applied at all. These are the cases where libbpf refuses to load the
// object (ambiguous candidates, an instruction that does not look like what the compiler promised, a malformed
// access string); a relocation that merely finds nothing in the target is not an error: it poisons its
// instruction instead (see poison.ts).

export type CoreErrorCode =
  /** The access string does not parse or does not fit the local type. */
  | "CORE_BAD_ACCESS"
  /** The local root type is anonymous: candidates are found by name, so there is nothing to look for. */
  | "CORE_ANONYMOUS_TYPE"
  /** Several target candidates give different answers. */
  | "CORE_AMBIGUOUS"
  /** A bitfield that no single 1/2/4/8-byte load can cover. */
  | "CORE_BITFIELD_TOO_WIDE"
  /** The relocation kind cannot be computed for this access (e.g. signedness of an array element). */
  | "CORE_UNSUPPORTED"
  /** The instruction is of a class, form or value the relocation cannot patch. */
  | "CORE_BAD_INSN"
  /** The new offset does not fit the 16-bit offset field of a load or store. */
  | "CORE_OFFSET_TOO_BIG"
  /** The relocation's instruction offset is not on an instruction boundary or outside the program. */
  | "CORE_BAD_INSN_OFFSET"
  /** The local or target BTF is malformed in a way the relocation ran into (loops, unsized types). */
  | "CORE_BAD_BTF";

export class CoreError extends Error {
  override name = "CoreError";
  constructor(
    readonly code: CoreErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The same error with a prefix naming the relocation it happened in. */
  withContext(context: string): CoreError {
    return new CoreError(this.code, `${context}: ${this.message}`);
  }
}
