// Functions of a program and the deepest chain of bpf-to-bpf calls between them. Compiled code has no
// runtime depth counter: like the kernel, the JIT proves the limit of MAX_CALL_DEPTH frames statically
// and refuses recursion. A callx, or a helper calling back (bpf_loop), may reach any function whose
// address the program takes (lddw src=4).

import type { Insn } from "../../../isa/instruction.js";
import * as op from "../../../isa/opcodes.js";
import { JitCompileError } from "./errors.js";

export interface ProgramShape {
  /** 1 for the second slot of an lddw. */
  secondSlot: Uint8Array;
  /** 1 for every slot that starts a function: slot 0, local call targets, address-taken functions. */
  functionStart: Uint8Array;
  /** Slots of the address-taken functions (possible callx targets), in order. */
  addressTaken: number[];
  /** The most frames any call chain can have (1 for a program without calls). */
  maxDepth: number;
  /** The program has may_goto instructions (which need a per-run counter). */
  usesMayGoto: boolean;
}

/** may_goto (BPF_JMP | BPF_JCOND, kernel 6.9+): not in RFC 9669, so not in the shared opcode table. */
export const OP_MAY_GOTO = op.BPF_JMP | 0xe0;

export function analyseProgram(program: readonly Insn[]): ProgramShape {
  const n = program.length;
  const secondSlot = new Uint8Array(n);
  const functionStart = new Uint8Array(n);
  const taken = new Set<number>();
  let usesMayGoto = false;
  functionStart[0] = 1;
  for (let i = 0; i < n; i++) {
    const ins = program[i]!;
    if (ins.code === OP_MAY_GOTO) usesMayGoto = true;
    if (ins.code === op.OP_LDDW) {
      secondSlot[i + 1] = 1;
      if (ins.src === op.BPF_PSEUDO_FUNC) {
        const target = i + 1 + ins.imm;
        if (target < 0 || target >= n) throw new JitCompileError(`function address of slot ${target}, outside the program`, i);
        functionStart[target] = 1;
        taken.add(target);
      }
      i++;
    } else if (ins.code === op.OP_CALL && ins.src === op.BPF_PSEUDO_CALL) {
      functionStart[i + 1 + ins.imm] = 1;
    }
  }
  const addressTaken = [...taken].sort((a, b) => a - b);
  return { secondSlot, functionStart, addressTaken, maxDepth: deepestChain(program, functionStart, addressTaken), usesMayGoto };
}

/** Helpers that call a function of the program: for_each_map_elem, timer_set_callback, find_vma, loop, user_ringbuf_drain. */
const CALLBACK_HELPERS: ReadonlySet<number> = new Set([164, 170, 180, 181, 209]);

/** Frames in the deepest call chain from slot 0; throws on recursion or more than MAX_CALL_DEPTH frames. */
function deepestChain(program: readonly Insn[], functionStart: Uint8Array, addressTaken: readonly number[]): number {
  const starts: number[] = [];
  functionStart.forEach((start, slot) => {
    if (start) starts.push(slot);
  });
  // A function is the run of slots from its start to the next start (how compilers lay them out).
  const callees = new Map<number, Set<number>>();
  starts.forEach((start, k) => {
    const end = starts[k + 1] ?? program.length;
    const out = new Set<number>();
    for (let i = start; i < end; i++) {
      const ins = program[i]!;
      if (ins.code === op.OP_CALL && ins.src === op.BPF_PSEUDO_CALL) out.add(i + 1 + ins.imm);
      // A callx, or a helper given a callback (bpf_loop), may enter any address-taken function.
      else if (ins.code === op.OP_CALLX || (ins.code === op.OP_CALL && CALLBACK_HELPERS.has(ins.imm))) for (const target of addressTaken) out.add(target);
      else if (ins.code === op.OP_LDDW) i++;
    }
    callees.set(start, out);
  });
  const depth = new Map<number, number>();
  const onPath = new Set<number>();
  const visit = (fn: number): number => {
    const known = depth.get(fn);
    if (known !== undefined) return known;
    if (onPath.has(fn)) throw new JitCompileError(`the function at slot ${fn} can call itself (recursion is not supported)`);
    onPath.add(fn);
    let deepest = 0;
    for (const callee of callees.get(fn) ?? []) deepest = Math.max(deepest, visit(callee));
    onPath.delete(fn);
    depth.set(fn, deepest + 1);
    return deepest + 1;
  };
  const frames = visit(0);
  if (frames > op.MAX_CALL_DEPTH) {
    throw new JitCompileError(`a call chain of ${frames} frames exceeds the limit of ${op.MAX_CALL_DEPTH}`);
  }
  return frames;
}
