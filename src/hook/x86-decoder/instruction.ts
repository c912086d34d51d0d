// What the length decoder knows about one x86-64 instruction: enough to copy it somewhere else and to tell
// whether the copy still means the same thing. It does not name instructions; it measures them and finds
// the parts that depend on where the instruction lives (a RIP-relative displacement, a relative branch).

/** How control leaves the instruction, as far as moving it to another address is concerned. */
export type ControlFlow =
  /** Falls through to the next instruction and does not read its own address. */
  | "sequential"
  /** `jmp rel8/rel32` (EB, E9). */
  | "jump-relative"
  /** `jcc rel8/rel32` (70-7F, 0F 80-8F). */
  | "conditional-relative"
  /** `loop/loope/loopne/jrcxz rel8` (E0-E3): rel8 only, no long form exists. */
  | "counter-relative"
  /** `call rel32` (E8). */
  | "call-relative"
  /** `jmp r/m` (FF /4). */
  | "jump-indirect"
  /** `call r/m` (FF /2). */
  | "call-indirect"
  /** `ret` / `ret imm16` (C3, C2). */
  | "return"
  /** Far transfers: `callf/jmpf m` (FF /3, /5), `retf` (CA, CB), `iret` (CF). */
  | "far"
  /** `xbegin rel` (C7 F8): its abort address is relative, and it only makes sense with its xend. */
  | "transaction"
  /** `syscall`, `sysenter`, `int n`: enter the kernel and come back to the next instruction. */
  | "system"
  /** `ud2`, `hlt`: execution never continues past them. */
  | "trap";

export type Encoding = "legacy" | "vex" | "evex" | "xop" | "3dnow";

/** The opcode map: 1 = one-byte, 0x0f, 0x0f38, 0x0f3a, or a VEX/EVEX/XOP map number for those encodings. */
export type OpcodeMap = "one-byte" | "0f" | "0f38" | "0f3a" | "vex-map" | "evex-map" | "xop-map";

export interface LegacyPrefixes {
  /** F0 */
  readonly lock: boolean;
  /** The last of F2/F3, if any (the one that selects a mandatory-prefix form). */
  readonly repeat: 0xf2 | 0xf3 | undefined;
  /** 66 */
  readonly operandSize: boolean;
  /** 67 */
  readonly addressSize: boolean;
  /** The last segment override (2E 36 3E 26 64 65), if any. */
  readonly segment: number | undefined;
  /** The REX byte directly before the opcode (a REX followed by another prefix is ignored by the CPU). */
  readonly rex: number | undefined;
}

export interface ModRm {
  /** Offset of the ModRM byte within the instruction. */
  readonly offset: number;
  readonly mod: number;
  /** ModRM.reg (0-7; the REX.R extension is not folded in). */
  readonly reg: number;
  /** ModRM.rm (0-7; the REX.B extension is not folded in). */
  readonly rm: number;
  /** SIB byte, when present. */
  readonly sib: number | undefined;
  /** The memory operand's base register (0-15, REX.B folded in), or "rip", or undefined (register form or no base). */
  readonly base: number | "rip" | undefined;
}

/** A field inside the instruction: where it starts (relative to the instruction) and how many bytes. */
export interface Field {
  readonly offset: number;
  readonly size: number;
}

export interface X86Instruction {
  /** Offset of the first byte in the buffer it was decoded from. */
  readonly offset: number;
  readonly length: number;
  readonly encoding: Encoding;
  readonly map: OpcodeMap;
  /** The opcode byte (the last opcode byte for multi-byte opcodes). */
  readonly opcode: number;
  /** Offset of the opcode byte within the instruction. */
  readonly opcodeOffset: number;
  readonly prefixes: LegacyPrefixes;
  readonly modrm: ModRm | undefined;
  /** The displacement of the memory operand, if any. */
  readonly displacement: Field | undefined;
  /** The immediate operand(s), if any (for `enter` both immediates together). */
  readonly immediate: Field | undefined;
  /** True when the memory operand is [rip + disp32]: `displacement` then holds the disp32 to re-aim. */
  readonly ripRelative: boolean;
  readonly flow: ControlFlow;
  /** For relative branches (jump, conditional, counter, call, transaction): the displacement field. */
  readonly branchDisplacement: Field | undefined;
  /** For `jcc`: the condition code (0-15, as in 70+cc). */
  readonly condition: number | undefined;
  /** `endbr64` (F3 0F 1E FA): the landing pad indirect branches need under IBT. */
  readonly isEndbr64: boolean;
  /** `int3` (CC). */
  readonly isInt3: boolean;
}

/** The x86 limit: longer byte sequences raise #GP. */
export const MAX_INSTRUCTION_LENGTH = 15;
