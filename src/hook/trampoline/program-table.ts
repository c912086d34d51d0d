// The list of programs attached to one hook, as the stubs read it: a u64 count followed by {entry, cookie}
// pairs. A stub never reads a table in place of another: it loads a pointer to the current table from a slot
// once per hit. To attach or detach a program the control plane writes a new table elsewhere and then stores
// its address into the slot (one aligned 8-byte store, atomic on x86-64): no re-patching, no stopped
// threads, and a thread already inside the stub finishes with the table it started with. Old tables must
// stay readable until no thread can still be using them.

export interface AttachedProgram {
  /** Address of the native code, called as `u64 program(struct pt_regs *ctx)` (System V ABI). */
  readonly entry: bigint;
  /** Its attach cookie (bpf_get_attach_cookie), stored into the invocation record before the call. */
  readonly cookie: bigint;
}

export const PROGRAM_TABLE_HEADER_SIZE = 8;
export const PROGRAM_TABLE_ENTRY_SIZE = 16;

export function programTableSize(count: number): number {
  return PROGRAM_TABLE_HEADER_SIZE + count * PROGRAM_TABLE_ENTRY_SIZE;
}

export function encodeProgramTable(programs: readonly AttachedProgram[]): Uint8Array {
  const bytes = new Uint8Array(programTableSize(programs.length));
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(programs.length), true);
  programs.forEach((program, i) => {
    const at = PROGRAM_TABLE_HEADER_SIZE + i * PROGRAM_TABLE_ENTRY_SIZE;
    view.setBigUint64(at, BigInt.asUintN(64, program.entry), true);
    view.setBigUint64(at + 8, BigInt.asUintN(64, program.cookie), true);
  });
  return bytes;
}

export function decodeProgramTable(bytes: Uint8Array): AttachedProgram[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Number(view.getBigUint64(0, true));
  const programs: AttachedProgram[] = [];
  for (let i = 0; i < count; i++) {
    const at = PROGRAM_TABLE_HEADER_SIZE + i * PROGRAM_TABLE_ENTRY_SIZE;
    programs.push({ entry: view.getBigUint64(at, true), cookie: view.getBigUint64(at + 8, true) });
  }
  return programs;
}
