// Native ARRAY / PERCPU_ARRAY / ARRAY_OF_MAPS element operations over the layout of src/maps/array-map.ts
// (values at V + (index * S + cpu) * value_stride), with array_map_update_elem's checks in its order.
//
//   array_lookup(rdi map, rsi key) -> rax value pointer or 0
//   array_update(rdi map, rsi key, rdx value, rcx flags) -> rax 0 or -errno
//   array_of_maps_lookup(rdi map, rsi key) -> rax pointer to the inner map id, or 0 for an empty slot

import { Errno } from "../../maps/errno.js";
import { Header } from "../../maps/header.js";
import { ArrayHeader } from "../../maps/array-map.js";
import { UpdateFlag } from "../../maps/map-types.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R10, R11, R8, R9, RAX, RCX, RDI, RDX, RSI } from "../x64/assembler/registers.js";
import { M } from "./asm.js";
import { emitCpu, emitCpuSlot, type EmitContext } from "./emit-context.js";

/**
 * r10 = byte offset of element `index`'s slot for this CPU: (index * S + cpu slot) * stride. `index` is a
 * register other than rax/rcx/rdx/r8/r9/r11; uses rax, rcx, rdx, r8, r9, r11.
 */
function emitSlotOffset(ctx: EmitContext, map: number, index: number): void {
  const a = ctx.a;
  const single = a.label();
  a.mov(R10, index, 32);
  a.ld(32, R11, M(map, Header.valueStride));
  a.ld(32, RCX, M(map, ArrayHeader.slotsPerElement));
  a.cmpi(RCX, 1, 32);
  a.j(Cond.E, single);
  a.imul(R10, RCX);
  emitCpu(ctx, R8);
  a.ld(32, R9, M(map, Header.ncpus));
  emitCpuSlot(a, R8, R9);
  a.add(R10, R8);
  a.bind(single);
  a.imul(R10, R11);
}

export function emitArrayOperations(ctx: EmitContext): void {
  const a = ctx.a;

  a.fn("array_lookup");
  {
    const missing = a.label();
    a.ld(32, RSI, M(RSI));
    a.cmpm(RSI, M(RDI, Header.maxEntries), 32);
    a.j(Cond.AE, missing);
    emitSlotOffset(ctx, RDI, RSI);
    a.ld(32, RAX, M(RDI, ArrayHeader.valuesOffset));
    a.add(RAX, RDI);
    a.add(RAX, R10);
    a.ret();
    a.bind(missing);
    a.li(RAX, 0);
    a.ret();
  }

  a.fn("array_update");
  {
    const invalid = a.label();
    const tooBig = a.label();
    const exists = a.label();
    a.mov(RAX, RCX);
    a.andi(RAX, ~UpdateFlag.LOCK);
    a.cmpi(RAX, UpdateFlag.EXIST);
    a.j(Cond.A, invalid);
    a.ld(32, RSI, M(RSI));
    a.cmpm(RSI, M(RDI, Header.maxEntries), 32);
    a.j(Cond.AE, tooBig);
    a.testi(RCX, UpdateFlag.NOEXIST, 32);
    a.j(Cond.NE, exists);
    a.testi(RCX, UpdateFlag.LOCK, 32);
    a.j(Cond.NE, invalid);
    a.push(RDX); // the value pointer, across the slot computation
    emitSlotOffset(ctx, RDI, RSI);
    a.pop(RSI);
    a.ld(32, RDX, M(RDI, Header.valueSize));
    a.ld(32, RAX, M(RDI, ArrayHeader.valuesOffset));
    a.add(RDI, RAX);
    a.add(RDI, R10);
    a.callFn("copy_bytes");
    a.li(RAX, 0);
    a.ret();
    a.bind(invalid);
    a.li(RAX, -Errno.EINVAL);
    a.ret();
    a.bind(tooBig);
    a.li(RAX, -Errno.E2BIG);
    a.ret();
    a.bind(exists);
    a.li(RAX, -Errno.EEXIST);
    a.ret();
  }

  a.fn("array_of_maps_lookup");
  {
    const missing = a.label();
    a.ld(32, RSI, M(RSI));
    a.cmpm(RSI, M(RDI, Header.maxEntries), 32);
    a.j(Cond.AE, missing);
    a.ld(32, RAX, M(RDI, Header.valueStride));
    a.imul(RAX, RSI);
    a.ld(32, RCX, M(RDI, ArrayHeader.valuesOffset));
    a.add(RAX, RCX);
    a.add(RAX, RDI);
    a.cmpMemImm(M(RAX), 0, 32);
    a.j(Cond.E, missing);
    a.ret();
    a.bind(missing);
    a.li(RAX, 0);
    a.ret();
  }
}
