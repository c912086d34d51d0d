// GNU objdump as the length oracle for the x86-64 decoder: run `objdump -d` on a binary, keep every
// instruction's address and bytes, and find function entries (symbols, plus the targets of direct calls,
// which also finds the functions of stripped binaries).

import { execFileSync, spawnSync } from "node:child_process";

export interface ListedInstruction {
  readonly address: number;
  readonly bytes: readonly number[];
  /** objdump could not decode these bytes ("(bad)"); its length is then meaningless. */
  readonly bad: boolean;
}

export interface Listing {
  readonly instructions: readonly ListedInstruction[];
  /** Index into `instructions` by address. */
  readonly indexByAddress: ReadonlyMap<number, number>;
  /** Function entries: symbol labels and direct call targets, each with a name. */
  readonly functions: ReadonlyMap<number, string>;
}

export function objdumpAvailable(): boolean {
  return spawnSync("objdump", ["--version"], { stdio: "ignore" }).status === 0;
}

const INSTRUCTION_LINE = /^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*(?:\t(.*))?$/;
const LABEL_LINE = /^([0-9a-f]+) <(.+)>:$/;
const CALL_TARGET = /\bcall\s+([0-9a-f]+) </;

export function parseObjdump(text: string): Listing {
  const instructions: ListedInstruction[] = [];
  const indexByAddress = new Map<number, number>();
  const functions = new Map<number, string>();
  const callTargets = new Set<number>();
  for (const line of text.split("\n")) {
    const label = LABEL_LINE.exec(line);
    if (label) {
      functions.set(parseInt(label[1]!, 16), label[2]!);
      continue;
    }
    const match = INSTRUCTION_LINE.exec(line);
    if (!match) continue;
    const address = parseInt(match[1]!, 16);
    const bytes = match[2]!.split(" ").map((hex) => parseInt(hex, 16));
    const text = match[3] ?? "";
    indexByAddress.set(address, instructions.length);
    instructions.push({ address, bytes, bad: text.includes("(bad)") });
    const call = CALL_TARGET.exec(text);
    if (call) callTargets.add(parseInt(call[1]!, 16));
  }
  for (const target of callTargets) {
    if (!functions.has(target) && indexByAddress.has(target)) functions.set(target, `sub_${target.toString(16)}`);
  }
  return { instructions, indexByAddress, functions };
}

export function objdumpListing(path: string): Listing {
  const text = execFileSync("objdump", ["-d", "--insn-width=16", path], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  return parseObjdump(text);
}

export interface PrologueSample {
  readonly name: string;
  readonly address: number;
  readonly bytes: readonly number[];
  /** objdump's length of each instruction, in order; they add up to bytes.length. */
  readonly lengths: readonly number[];
}

/**
 * The first `limit` bytes (whole instructions, contiguous, without objdump's "(bad)") of each function.
 * Functions whose first instruction objdump could not decode are left out.
 */
export function prologueSamples(listing: Listing, limit = 64): PrologueSample[] {
  const samples: PrologueSample[] = [];
  const entries = [...listing.functions].sort((a, b) => a[0] - b[0]);
  for (const [address, name] of entries) {
    let index = listing.indexByAddress.get(address);
    if (index === undefined) continue;
    const bytes: number[] = [];
    const lengths: number[] = [];
    let expected = address;
    while (bytes.length < limit) {
      const instruction = listing.instructions[index];
      if (!instruction || instruction.address !== expected || instruction.bad) break;
      bytes.push(...instruction.bytes);
      lengths.push(instruction.bytes.length);
      expected += instruction.bytes.length;
      index++;
    }
    if (lengths.length > 0) samples.push({ name, address, bytes, lengths });
  }
  return samples;
}
