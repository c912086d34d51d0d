// Native helpers that read the hook frame a program runs in. Hook stubs (src/hook/trampoline) pass ctx =
// a kernel-layout pt_regs with a per-call record right above it (frame-layout.ts: override flag at +168,
// override value at +176, attach cookie at +184, function address at +192), so these helpers need only
// the ctx pointer the kernel's helpers get too. They are built into target images only: outside a hook
// (test-run, JitObject) ctx has no such record.
//
//   get_func_ip(rdi ctx) -> rax            get_attach_cookie(rdi ctx) -> rax
//   override_return(rdi ctx, rsi value) -> 0
//   get_func_arg(rdi ctx, rsi n, rdx *value) -> 0 or -EINVAL (n >= 6: only register arguments exist)
//   get_func_ret(rdi ctx, rsi *value) -> 0 (pt_regs.rax)
//   get_func_arg_cnt(rdi ctx) -> 6 (a uprobe does not know the function's arity; all register args)

import { HelperId } from "../helpers/ids.js";
import { Invocation, PtRegs } from "../hook/trampoline/frame-layout.js";
import { Asm, M } from "../jit/native/asm.js";
import { Cond } from "../jit/x64/assembler/conditions.js";
import { RAX, RCX, RDI, RDX, RSI } from "../jit/x64/assembler/registers.js";

const EINVAL = 22;
/** pt_regs offsets of the System V integer argument registers, in argument order. */
const ARGUMENT_OFFSETS = [PtRegs.rdi, PtRegs.rsi, PtRegs.rdx, PtRegs.rcx, PtRegs.r8, PtRegs.r9];

export interface ProbeHelperImage {
  readonly code: Uint8Array;
  /** Code offset of each helper by id. */
  readonly helperOffsets: ReadonlyMap<number, number>;
}

export function buildProbeHelpers(): ProbeHelperImage {
  const a = new Asm();
  a.fn("get_func_ip");
  a.ld(64, RAX, M(RDI, Invocation.funcIp));
  a.ret();

  a.fn("get_attach_cookie");
  a.ld(64, RAX, M(RDI, Invocation.cookie));
  a.ret();

  a.fn("override_return");
  a.st(64, M(RDI, Invocation.overrideValue), RSI);
  a.sti(64, M(RDI, Invocation.overrideFlag), 1);
  a.xor(RAX, RAX, 32);
  a.ret();

  a.fn("get_func_arg");
  const bad = a.label();
  a.cmpi(RSI, ARGUMENT_OFFSETS.length);
  a.j(Cond.AE, bad);
  // rcx = the n-th argument's pt_regs offset, from a compare chain (six cases: cheaper than a table).
  ARGUMENT_OFFSETS.forEach((offset, n) => {
    const next = a.label();
    a.cmpi(RSI, n);
    a.j(Cond.NE, next, true);
    a.ld(64, RCX, M(RDI, offset));
    a.st(64, M(RDX, 0), RCX);
    a.xor(RAX, RAX, 32);
    a.ret();
    a.bind(next);
  });
  a.bind(bad);
  a.sti(64, M(RDX, 0), 0);
  a.li(RAX, -EINVAL);
  a.ret();

  a.fn("get_func_ret");
  a.ld(64, RCX, M(RDI, PtRegs.rax));
  a.st(64, M(RSI, 0), RCX);
  a.xor(RAX, RAX, 32);
  a.ret();

  a.fn("get_func_arg_cnt");
  a.li(RAX, ARGUMENT_OFFSETS.length);
  a.ret();

  const byId: ReadonlyArray<readonly [number, string]> = [
    [HelperId.getFuncIp, "get_func_ip"],
    [HelperId.getAttachCookie, "get_attach_cookie"],
    [HelperId.overrideReturn, "override_return"],
    [HelperId.getFuncArg, "get_func_arg"],
    [HelperId.getFuncRet, "get_func_ret"],
    [HelperId.getFuncArgCnt, "get_func_arg_cnt"],
  ];
  return { code: a.bytes(), helperOffsets: new Map(byId.map(([id, name]) => [id, a.offsetOf(name)])) };
}
