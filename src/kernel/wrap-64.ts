// Wraps a program so that the kernel hands back its full 64-bit r0.
//
// BPF_PROG_TEST_RUN reports only a 32-bit return value, so the program under test becomes a bpf-to-bpf
// subprogram of a small XDP main program that calls it, stores its r0 into the value of a one-entry
// array map, and returns XDP_PASS. With input memory, a prolog first turns the xdp_md context into the
// conformance calling convention (r1 = data, r2 = length) and proves to the verifier that `length`
// bytes of packet are there.

import { insn, lddw, type Insn } from "../isa/instruction.js";
import * as op from "../isa/opcodes.js";
import { XdpAction } from "../native/bpf-constants.js";

/** Offsets of the u32 fields `data` and `data_end` in struct xdp_md. */
const XDP_MD_DATA = 0;
const XDP_MD_DATA_END = 4;

/** The kernel's return value when the program ran and its r0 is in the map. */
export const WRAPPER_OK = XdpAction.PASS;
/** The return value when the packet was shorter than the memory the program was promised. */
export const WRAPPER_SHORT_PACKET = XdpAction.DROP;

export interface WrapOptions {
  /** Fd of an array map with at least one 8-byte value; r0 is stored at offset 0 of element 0. */
  resultMapFd: number;
  /** Bytes of input memory the program gets in r1/r2; undefined means no memory (r1 is the context). */
  memoryLength?: number;
}

/** The prolog: r1 = packet start, r2 = memoryLength, or return WRAPPER_SHORT_PACKET at `shortPacketAt`. */
function memoryProlog(length: number, shortPacketAt: number): Insn[] {
  const checkAt = 4;
  return [
    insn(op.BPF_LDX | op.BPF_MEM | op.BPF_W, 2, 1, XDP_MD_DATA_END),
    insn(op.BPF_LDX | op.BPF_MEM | op.BPF_W, 1, 1, XDP_MD_DATA),
    insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, 3, 1),
    insn(op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, 3, 0, 0, length),
    insn(op.BPF_JMP | op.BPF_JGT | op.BPF_X, 3, 2, shortPacketAt - (checkAt + 1)),
    insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 2, 0, 0, length),
  ];
}

/** The instructions to load into the kernel; `program` is copied unchanged to the end. */
export function wrapForTestRun(program: readonly Insn[], options: WrapOptions): Insn[] {
  const hasMemory = options.memoryLength !== undefined;
  const prologLength = hasMemory ? 6 : 0;
  const storeAndExit: Insn[] = [
    ...lddw(1, 0n, op.BPF_PSEUDO_MAP_VALUE),
    insn(op.BPF_STX | op.BPF_MEM | op.BPF_DW, 1, 0, 0),
    insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 0, 0, 0, WRAPPER_OK),
    insn(op.OP_EXIT),
  ];
  // lddw with BPF_PSEUDO_MAP_VALUE: imm of the first slot is the map fd, of the second the value offset.
  storeAndExit[0] = { ...storeAndExit[0]!, imm: options.resultMapFd };
  const shortPacket: Insn[] = hasMemory ? [insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 0, 0, 0, WRAPPER_SHORT_PACKET), insn(op.OP_EXIT)] : [];
  const callAt = prologLength;
  const shortPacketAt = callAt + 1 + storeAndExit.length;
  const programAt = shortPacketAt + shortPacket.length;
  const call = insn(op.OP_CALL, 0, op.BPF_PSEUDO_CALL, 0, programAt - (callAt + 1));
  return [
    ...(hasMemory ? memoryProlog(options.memoryLength!, shortPacketAt) : []),
    call,
    ...storeAndExit,
    ...shortPacket,
    ...program,
  ];
}
