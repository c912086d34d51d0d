// A BPF object that cannot be read as libbpf would read it. One line: what is wrong and where; the code is
// stable so callers (the CLI, tests) can tell failures apart without parsing the message.

export type ObjectErrorCode =
  | "OBJ_READ" // the file cannot be read
  | "OBJ_NOT_ELF"
  | "OBJ_NOT_BPF" // an ELF, but neither a BPF object nor a binary embedding one
  | "OBJ_MALFORMED" // structure that libbpf would refuse
  | "OBJ_NO_BTF" // BTF is required (BTF-defined maps) but absent
  | "OBJ_BAD_MAP" // a map definition libbpf would refuse
  | "OBJ_UNKNOWN_MAP_TYPE"
  | "OBJ_UNKNOWN_SECTION" // a program in a section libbpf does not know
  | "OBJ_BAD_RELOCATION"
  | "OBJ_NO_SUCH_PROGRAM"
  | "OBJ_NO_SUCH_VARIABLE"
  | ElfOrBtfCode;

/** ELF_* and BTF_* codes of the parsers, kept when their errors are wrapped. */
type ElfOrBtfCode = `ELF_${string}` | `BTF_${string}`;

export class ObjectError extends Error {
  override name = "ObjectError";
  constructor(
    message: string,
    readonly code: ObjectErrorCode = "OBJ_MALFORMED",
  ) {
    super(message);
  }
}
