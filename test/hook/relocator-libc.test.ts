// The planner and relocator over every function libc exports: each is either planned or refused with a
// HookError, and every planned relocation refers to exactly the addresses the original instructions did.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { ElfFile, STT_FUNC, STT_GNU_IFUNC, vaddrToFileOffset } from "../../src/elf/index.js";
import { HookError } from "../../src/hook/errors.js";
import { branchTargetOffset, ripOperandAddress } from "../../src/hook/relocator/function-code.js";
import { planPrologue, type ProloguePlan } from "../../src/hook/relocator/plan.js";
import { relocatePrologue } from "../../src/hook/relocator/relocate.js";
import { walkCode } from "./support/code-walk.js";

const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const LOAD_BASE = 0x7f3000000000n;
const TRAMPOLINE_DISTANCE = 0x40000000n;

/** Every absolute address the displaced instructions refer to (data and branch targets), as a multiset. */
function originalReferences(plan: ProloguePlan): bigint[] {
  const refs: bigint[] = [];
  for (const instruction of plan.displaced) {
    if (instruction.ripRelative) refs.push(ripOperandAddress(plan.code.bytes, instruction, plan.code.address));
    const target = branchTargetOffset(plan.code.bytes, instruction);
    const end = instruction.offset + instruction.length;
    if (target !== undefined && target !== end) refs.push(plan.code.address + BigInt(target));
  }
  if (plan.fallsThrough) refs.push(plan.resumeAddress);
  return refs.sort();
}

/** The same, read back from the relocated code (jumps between relocated instructions excluded). */
function relocatedReferences(code: Uint8Array, at: bigint): bigint[] {
  const inside = (address: bigint): boolean => address >= at && address < at + BigInt(code.length);
  const refs: bigint[] = [];
  for (const walked of walkCode(code, at)) {
    for (const target of [walked.ripTarget, walked.branchTarget, walked.absoluteTarget]) {
      if (target !== undefined && !inside(target)) refs.push(target);
    }
  }
  return refs.sort();
}

test("relocator over libc's exported functions", { skip: existsSync(LIBC) ? false : `${LIBC} is missing` }, (t) => {
  const elf = ElfFile.parse(new Uint8Array(readFileSync(LIBC)));
  const seen = new Set<number>();
  const refusals = new Map<string, number>();
  let planned = 0;
  let copiedOnly = 0;
  let endbr = 0;
  for (const symbol of elf.dynamicSymbols()) {
    if ((symbol.type !== STT_FUNC && symbol.type !== STT_GNU_IFUNC) || symbol.size === 0 || seen.has(symbol.value)) continue;
    seen.add(symbol.value);
    const offset = vaddrToFileOffset(elf.segments, symbol.value);
    assert.ok(offset !== undefined, symbol.name);
    const code = { name: symbol.name, address: LOAD_BASE + BigInt(symbol.value), bytes: elf.bytes.subarray(offset, offset + symbol.size), size: symbol.size };
    let plan: ProloguePlan;
    try {
      plan = planPrologue(code);
    } catch (error) {
      if (!(error instanceof HookError)) throw error;
      assert.match(error.message, new RegExp(`^function ${symbol.name.replace(/[$.]/g, "\\$&")}: `));
      refusals.set(error.code, (refusals.get(error.code) ?? 0) + 1);
      continue;
    }
    planned++;
    if (plan.patchOffset === 4) endbr++;
    if (plan.displaced.every((i) => !i.ripRelative && i.branchDisplacement === undefined)) copiedOnly++;
    const at = code.address + TRAMPOLINE_DISTANCE;
    const relocated = relocatePrologue(plan, at);
    assert.deepEqual(relocatedReferences(relocated, at), originalReferences(plan), `${symbol.name}: relocated references`);
  }
  const total = seen.size;
  t.diagnostic(`${total} functions: ${planned} planned (${copiedOnly} by plain copy, ${endbr} after endbr64), refused: ${JSON.stringify(Object.fromEntries(refusals))}`);
  assert.ok(total > 1500);
  assert.ok(planned / total > 0.95, `planned ${planned} of ${total}`);
});
