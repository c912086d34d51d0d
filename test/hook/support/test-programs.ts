// Tiny native "programs" for the in-process hook tests, called by the stubs as u64 program(struct pt_regs *).

import { Invocation } from "../../../src/hook/trampoline/frame-layout.js";
import { mem, Reg, rip, type X64Writer } from "../../../src/hook/emit/x64-writer.js";
import type { HookLab } from "./hook-lab.js";

/** Atomically adds 1 to `cell`. */
export function countingProgram(lab: HookLab, cell: bigint): bigint {
  return lab.code((w) => {
    w.lockAddImm(rip(cell), 1);
    w.zero(Reg.rax);
    w.ret();
  });
}

/** Atomically adds the u64 at ctx + `offset` to `cell` (and 1 to `countCell`, if given). */
export function summingProgram(lab: HookLab, offset: number, cell: bigint, countCell?: bigint): bigint {
  return lab.code((w) => {
    w.load(Reg.rax, mem(Reg.rdi, offset));
    w.raw([0xf0]); // lock
    w.alu("add", rip(cell), Reg.rax);
    if (countCell !== undefined) w.lockAddImm(rip(countCell), 1);
    w.zero(Reg.rax);
    w.ret();
  });
}

/** Stores ctx fields into cells: each [ctx offset, cell]; a negative offset -k stores *(u64 *)(regs->sp - k). */
export function recordingProgram(lab: HookLab, fields: readonly (readonly [number, bigint])[]): bigint {
  return lab.code((w) => {
    for (const [offset, cell] of fields) {
      if (offset >= 0) w.load(Reg.rax, mem(Reg.rdi, offset));
      else {
        w.load(Reg.rax, mem(Reg.rdi, 152));
        w.load(Reg.rax, mem(Reg.rax, offset));
      }
      w.store(rip(cell), Reg.rax);
    }
    w.zero(Reg.rax);
    w.ret();
  });
}

/** bpf_override_return(ctx, value): the helper's effect, written into the invocation record. */
export function overridingProgram(lab: HookLab, value: number): bigint {
  return lab.code((w) => {
    w.storeImm(mem(Reg.rdi, Invocation.overrideFlag), 1);
    w.storeImm(mem(Reg.rdi, Invocation.overrideValue), value);
    w.zero(Reg.rax);
    w.ret();
  });
}

/** Returns at once. */
export function emptyProgram(lab: HookLab): bigint {
  return lab.code((w) => {
    w.zero(Reg.rax);
    w.ret();
  });
}

/**
 * Destroys everything a System V function may destroy: all caller-saved general registers, xmm0-15
 * (xorps, then a pattern) and the status flags (which end up CF=1, ZF=0).
 */
export function clobberingProgram(lab: HookLab): bigint {
  return lab.code((w: X64Writer) => {
    for (const reg of [Reg.rcx, Reg.rdx, Reg.rsi, Reg.rdi, Reg.r8, Reg.r9, Reg.r10, Reg.r11]) w.movImm(reg, 0xdead0000n + BigInt(reg));
    w.movImm(Reg.rax, 0x4141414141414141n);
    for (let x = 0; x < 16; x++) {
      // movq xmm_x, rax: 66 REX.W 0F 6E /r
      w.raw([0x66, 0x48 | (x >= 8 ? 4 : 0), 0x0f, 0x6e, 0xc0 | ((x & 7) << 3)]);
    }
    w.raw([0x48, 0x83, 0xf8, 0x00]); // cmp rax, 0: ZF=0
    w.raw([0xf9]); // stc: CF=1
    w.ret();
  });
}
