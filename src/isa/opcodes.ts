// Opcode fields of the eBPF instruction set (RFC 9669, section 3). The opcode byte is split into a
// 3-bit class and class-specific fields; these constants name every field value the runtime uses.

export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

/** Source bit of ALU and JMP opcodes: immediate (K) or register (X). */
export const BPF_K = 0x00;
export const BPF_X = 0x08;

// ALU operations (high nibble).
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0;
export const BPF_END = 0xd0;

/** For BPF_END in class ALU, the source bit selects the byte order: to little or to big endian. */
export const BPF_TO_LE = 0x00;
export const BPF_TO_BE = 0x08;

// Jump operations (high nibble).
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60;
export const BPF_JSGE = 0x70;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
export const BPF_JSLT = 0xc0;
export const BPF_JSLE = 0xd0;

// Load/store size (bits 3-4).
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;

// Load/store mode (bits 5-7).
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;

// Atomic operations, carried in the immediate of BPF_ATOMIC instructions.
export const BPF_FETCH = 0x01;
export const BPF_XCHG = 0xe0 | BPF_FETCH;
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;

// Source field of BPF_CALL.
export const BPF_PSEUDO_CALL_HELPER = 0;
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

// Source field of the 64-bit immediate load (LDDW).
export const BPF_PSEUDO_IMM64 = 0;
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;

/** The callx opcode (not in RFC 9669; clang -mcpu=v4): the target register is in the dst field. */
export const OP_CALLX = BPF_JMP | BPF_CALL | BPF_X;
export const OP_LDDW = BPF_LD | BPF_IMM | BPF_DW;
export const OP_CALL = BPF_JMP | BPF_CALL;
export const OP_EXIT = BPF_JMP | BPF_EXIT;
export const OP_JA = BPF_JMP | BPF_JA;
export const OP_JA32 = BPF_JMP32 | BPF_JA;

export const insnClass = (opcode: number): number => opcode & 0x07;
export const aluOp = (opcode: number): number => opcode & 0xf0;
export const jmpOp = (opcode: number): number => opcode & 0xf0;
export const srcBit = (opcode: number): number => opcode & 0x08;
export const memSize = (opcode: number): number => opcode & 0x18;
export const memMode = (opcode: number): number => opcode & 0xe0;

/** Bytes moved by a load or store of the given size field. */
export function sizeBytes(size: number): 1 | 2 | 4 | 8 {
  switch (size) {
    case BPF_B:
      return 1;
    case BPF_H:
      return 2;
    case BPF_W:
      return 4;
    default:
      return 8;
  }
}

export const MAX_REGISTER = 10;
/** The read-only frame pointer. */
export const REG_FP = 10;
/** Bytes of stack available to each call frame. */
export const STACK_FRAME_SIZE = 512;
/** Deepest bpf-to-bpf call nesting the kernel and ubpf allow. */
export const MAX_CALL_DEPTH = 8;
