// Numeric constants of the ELF64 format (System V gABI plus the GNU extensions readers meet on Linux).

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const EV_CURRENT = 1;

export const ELF64_HEADER_SIZE = 64;
export const ELF64_SECTION_HEADER_SIZE = 64;
export const ELF64_PROGRAM_HEADER_SIZE = 56;
export const ELF64_SYM_SIZE = 24;
export const ELF64_REL_SIZE = 16;
export const ELF64_RELA_SIZE = 24;

// e_type
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;

// e_machine
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const EM_BPF = 247;

// Special section indices
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;
/** e_phnum value meaning "the real count is in section 0's sh_info". */
export const PN_XNUM = 0xffff;

// sh_type
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_HASH = 5;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;
export const SHT_INIT_ARRAY = 14;
export const SHT_FINI_ARRAY = 15;
export const SHT_GROUP = 17;
export const SHT_SYMTAB_SHNDX = 18;
export const SHT_LLVM_ADDRSIG = 0x6fff4c03;
export const SHT_GNU_HASH = 0x6ffffff6;
export const SHT_GNU_VERDEF = 0x6ffffffd;
export const SHT_GNU_VERNEED = 0x6ffffffe;
export const SHT_GNU_VERSYM = 0x6fffffff;

// sh_flags
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHF_MERGE = 0x10;
export const SHF_STRINGS = 0x20;
export const SHF_INFO_LINK = 0x40;
export const SHF_TLS = 0x400;

// p_type
export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PT_PHDR = 6;
export const PT_TLS = 7;
export const PT_GNU_EH_FRAME = 0x6474e550;
export const PT_GNU_STACK = 0x6474e551;
export const PT_GNU_RELRO = 0x6474e552;

// p_flags
export const PF_X = 0x1;
export const PF_W = 0x2;
export const PF_R = 0x4;

// Symbol binding (st_info >> 4)
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const STB_GNU_UNIQUE = 10;

// Symbol type (st_info & 0xf)
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STT_COMMON = 5;
export const STT_TLS = 6;
export const STT_GNU_IFUNC = 10;

// Symbol visibility (st_other & 0x3)
export const STV_DEFAULT = 0;
export const STV_INTERNAL = 1;
export const STV_HIDDEN = 2;
export const STV_PROTECTED = 3;

// Symbol versioning
export const VER_NDX_LOCAL = 0;
export const VER_NDX_GLOBAL = 1;
/** Bit of a .gnu.version entry marking a non-default (`sym@VER`) version. */
export const VERSYM_HIDDEN = 0x8000;
export const VER_FLG_BASE = 0x1;

// BPF relocation types (kernel Documentation/bpf/llvm_reloc.rst)
export const R_BPF_NONE = 0;
export const R_BPF_64_64 = 1;
export const R_BPF_64_ABS64 = 2;
export const R_BPF_64_ABS32 = 3;
export const R_BPF_64_NODYLD32 = 4;
export const R_BPF_64_32 = 10;
