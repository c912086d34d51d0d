// x86-64 general-purpose registers by their hardware number (the 3 low bits go into ModRM/SIB, the
// fourth into a REX bit).

export const RAX = 0;
export const RCX = 1;
export const RDX = 2;
export const RBX = 3;
export const RSP = 4;
export const RBP = 5;
export const RSI = 6;
export const RDI = 7;
export const R8 = 8;
export const R9 = 9;
export const R10 = 10;
export const R11 = 11;
export const R12 = 12;
export const R13 = 13;
export const R14 = 14;
export const R15 = 15;

/** Base "register" of a RIP-relative memory operand. */
export const RIP = -1;
/** Index of a memory operand that has none. */
export const NO_INDEX = -1;

export type Width = 8 | 16 | 32 | 64;

const NAMES_64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
const NAMES_32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"];
const NAMES_16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"];
const NAMES_8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"];

/** The AT&T-less (Intel/objdump) name of a register at a width, e.g. regName(R9, 32) = "r9d". */
export function regName(reg: number, width: Width): string {
  const table = width === 64 ? NAMES_64 : width === 32 ? NAMES_32 : width === 16 ? NAMES_16 : NAMES_8;
  const name = table[reg];
  if (name === undefined) throw new RangeError(`no register ${reg}`);
  return name;
}
