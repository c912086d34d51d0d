// A seeded generator of random eBPF objects whose programs use maps and helpers, for differential tests
// of whole engines (interpreter vs JIT with native maps and helpers). Each case is an ObjectSpec with a
// fixed set of maps and one program that:
//   - keeps its scalars in r6..r9 and eight stack slots (initialised first; r1..r5 are only set right
//     before a call, since calls clobber them),
//   - looks up, updates and deletes random keys (from a small key space, so hits, misses, full maps, LRU
//     evictions and every update flag all happen) in array, hash, per-CPU and LRU maps, and uses returned
//     value pointers only behind a null check (loads, stores and atomic adds),
//   - pushes, pops and peeks a queue, writes ring buffer and perf event records,
//   - calls helpers whose results are the same for every engine in one process (CPU number with a fixed
//     CPU, pid/tgid, uid/gid, comm, probe reads of good and bad addresses, strncmp, bpf_loop with a
//     callback subprogram),
//   - jumps forward over blocks on scalar conditions,
//   - and folds every scalar into r0 at the end, so every result counts.
// Pointers never reach r6..r9, a stack slot or r0, so r0 is comparable across engines whose addresses
// differ; map contents are compared byte for byte (hash maps use BPF_F_ZERO_SEED).

import { insn, lddw, type Insn } from "../../src/isa/instruction.js";
import * as op from "../../src/isa/opcodes.js";
import { MapFlag, MapType } from "../../src/maps/map-types.js";
import { parseSectionName } from "../../src/object/section-names.js";
import { defineMap, type MapDefinition, type ObjectSpec } from "../../src/object/spec.js";
import { Prng } from "./program-generator.js";

/** The maps every generated object has, by index (lddw map_idx operands). */
export const GENERATED_MAPS = {
  array: 0,
  hash: 1,
  percpuArray: 2,
  lruHash: 3,
  percpuHash: 4,
  queue: 5,
  ringbuf: 6,
  perf: 7,
  lruPercpuHash: 8,
} as const;

interface KeyedMap {
  index: number;
  keySize: 4 | 8;
  valueSize: 8 | 16;
  /** Keys are drawn from [0, keySpace). */
  keySpace: number;
  array: boolean;
}

const KEYED: readonly KeyedMap[] = [
  { index: GENERATED_MAPS.array, keySize: 4, valueSize: 16, keySpace: 10, array: true },
  { index: GENERATED_MAPS.hash, keySize: 8, valueSize: 16, keySpace: 24, array: false },
  { index: GENERATED_MAPS.percpuArray, keySize: 4, valueSize: 8, keySpace: 5, array: true },
  { index: GENERATED_MAPS.lruHash, keySize: 4, valueSize: 8, keySpace: 20, array: false },
  { index: GENERATED_MAPS.percpuHash, keySize: 4, valueSize: 16, keySpace: 12, array: false },
  { index: GENERATED_MAPS.lruPercpuHash, keySize: 8, valueSize: 8, keySpace: 16, array: false },
];

function mapDefinitions(): MapDefinition[] {
  const d = (name: string, type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0): MapDefinition =>
    defineMap({ name, type, keySize, valueSize, maxEntries, flags, origin: "btf", section: ".maps" });
  return [
    d("array", MapType.ARRAY, 4, 16, 8),
    d("hash", MapType.HASH, 8, 16, 16, MapFlag.ZERO_SEED),
    d("percpu_array", MapType.PERCPU_ARRAY, 4, 8, 4),
    d("lru_hash", MapType.LRU_HASH, 4, 8, 8, MapFlag.ZERO_SEED),
    d("percpu_hash", MapType.PERCPU_HASH, 4, 16, 8, MapFlag.ZERO_SEED),
    d("queue", MapType.QUEUE, 0, 8, 4),
    d("events", MapType.RINGBUF, 0, 0, 4096),
    d("perf", MapType.PERF_EVENT_ARRAY, 4, 4, 0),
    d("lru_percpu_hash", MapType.LRU_PERCPU_HASH, 8, 8, 8, MapFlag.ZERO_SEED),
  ];
}

// Stack layout below r10.
const SLOTS = 8; // scalar slots at -8 .. -64
const KEY = -72; // 8 bytes
const VALUE = -96; // 16 bytes
const SCRATCH = -128; // 32 bytes
const LOOP_CTX = -136; // 8 bytes, bpf_loop's callback accumulates here
const CTX_SAVE = -144; // the program's r1 (a pointer: never folded)
const LOWEST = CTX_SAVE;

const SCALARS = [6, 7, 8, 9];
const DW = op.BPF_DW;

const mov = (dst: number, imm: number): Insn => insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst, 0, 0, imm);
const movX = (dst: number, src: number): Insn => insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst, src);
const addI = (dst: number, imm: number): Insn => insn(op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, dst, 0, 0, imm);
const stackAddress = (dst: number, offset: number): Insn[] => [movX(dst, op.REG_FP), addI(dst, offset)];
const store = (size: number, base: number, off: number, src: number): Insn => insn(op.BPF_STX | op.BPF_MEM | size, base, src, off);
const storeImm = (size: number, base: number, off: number, imm: number): Insn => insn(op.BPF_ST | op.BPF_MEM | size, base, 0, off, imm);
const load = (size: number, dst: number, base: number, off: number): Insn => insn(op.BPF_LDX | op.BPF_MEM | size, dst, base, off);
const call = (id: number): Insn => insn(op.OP_CALL, 0, 0, 0, id);
const mapRef = (dst: number, index: number): Insn[] => [
  insn(op.OP_LDDW, dst, op.BPF_PSEUDO_MAP_IDX, 0, index),
  insn(0, 0, 0, 0, 0),
];
/** r9 = r9 * K ^ r0: a helper's result counts in the final r0. */
const foldR0 = (): Insn[] => [insn(op.BPF_ALU64 | op.BPF_MUL | op.BPF_K, 9, 0, 0, 0x2f0b3c5), insn(op.BPF_ALU64 | op.BPF_XOR | op.BPF_X, 9, 0)];

interface Block {
  insns: Insn[];
  /** A forward jump at `at` to the start of block `toBlock` (or the fold when past the end). */
  jump?: { at: number; toBlock: number };
}

class Builder {
  readonly blocks: Block[] = [];
  /** Callback body slots, appended after the fold. */
  usesLoop = false;
  readonly loopStop: number;
  readonly loopFactor: number;

  constructor(readonly rng: Prng) {
    this.loopStop = rng.below(6);
    this.loopFactor = rng.between(1, 1000);
  }

  add(...insns: Insn[]): void {
    this.blocks.push({ insns });
  }

  scalar(): number {
    return this.rng.pick(SCALARS);
  }

  imm32(): number {
    return this.rng.chance(0.5) ? this.rng.between(-100, 100) : this.rng.u32() | 0;
  }

  prologue(): void {
    this.add(store(DW, op.REG_FP, CTX_SAVE, 1));
    for (let off = LOWEST + 8; off <= -8; off += 8) this.add(storeImm(DW, op.REG_FP, off, off >= -8 * SLOTS ? this.imm32() : 0));
    for (const r of SCALARS) this.add(...(this.rng.chance(0.3) ? lddw(r, this.rng.u64()) : [mov(r, this.imm32())]));
  }

  body(count: number): void {
    const kinds: readonly (readonly [number, () => void])[] = [
      [12, () => this.alu()],
      [4, () => this.slotTraffic()],
      [14, () => this.lookup()],
      [10, () => this.update()],
      [5, () => this.remove()],
      [5, () => this.queue()],
      [6, () => this.deterministicHelper()],
      [4, () => this.probe()],
      [3, () => this.loop()],
      [3, () => this.events()],
      [8, () => this.jump()],
    ];
    // One entry per unit of weight: picking uniformly from it picks each kind by its weight.
    const table = kinds.flatMap(([weight, make]) => new Array<() => void>(weight).fill(make));
    for (let i = 0; i < count; i++) this.rng.pick(table)();
  }

  alu(): void {
    const cls = this.rng.chance(0.5) ? op.BPF_ALU64 : op.BPF_ALU;
    const code = this.rng.pick([op.BPF_ADD, op.BPF_SUB, op.BPF_MUL, op.BPF_OR, op.BPF_AND, op.BPF_XOR, op.BPF_LSH, op.BPF_RSH, op.BPF_ARSH, op.BPF_MOV]);
    const shift = code === op.BPF_LSH || code === op.BPF_RSH || code === op.BPF_ARSH;
    if (this.rng.chance(0.5) && !shift) this.add(insn(cls | code | op.BPF_X, this.scalar(), this.scalar()));
    else this.add(insn(cls | code | op.BPF_K, this.scalar(), 0, 0, shift ? this.rng.below(cls === op.BPF_ALU64 ? 64 : 32) : this.imm32()));
  }

  slotTraffic(): void {
    const off = -8 * (1 + this.rng.below(SLOTS));
    if (this.rng.chance(0.5)) this.add(store(DW, op.REG_FP, off, this.scalar()));
    else this.add(load(DW, this.scalar(), op.REG_FP, off));
  }

  keyed(): KeyedMap {
    return this.rng.pick(KEYED);
  }

  /** Writes a key for `map` into the key buffer: a constant, or a scalar masked into the key space. */
  setKey(map: KeyedMap): Insn[] {
    const size = map.keySize === 8 ? DW : op.BPF_W;
    // Sometimes out of range for arrays (index >= max_entries), to hit the NULL and E2BIG paths.
    const space = map.array && this.rng.chance(0.2) ? map.keySpace + 4 : map.keySpace;
    if (this.rng.chance(0.5)) return [storeImm(DW, op.REG_FP, KEY, 0), storeImm(size, op.REG_FP, KEY, this.rng.below(space))];
    return [
      storeImm(DW, op.REG_FP, KEY, 0),
      movX(1, this.scalar()),
      insn(op.BPF_ALU64 | op.BPF_MOD | op.BPF_K, 1, 0, 0, space),
      store(size, op.REG_FP, KEY, 1),
    ];
  }

  lookup(): void {
    const map = this.keyed();
    const use = this.valueUse(map.valueSize);
    const insns = [...this.setKey(map), ...mapRef(1, map.index), ...stackAddress(2, KEY), call(1)];
    insns.push(insn(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 0, 0, use.length, 0), ...use);
    this.add(...insns);
  }

  /** What to do with a non-NULL value pointer in r0. */
  valueUse(valueSize: number): Insn[] {
    const off = 8 * this.rng.below(valueSize / 8);
    switch (this.rng.below(4)) {
      case 0:
        return [load(DW, this.scalar(), 0, off)];
      case 1:
        return [store(DW, 0, off, this.scalar())];
      case 2:
        return [insn(op.BPF_STX | op.BPF_ATOMIC | DW, 0, this.scalar(), off, op.BPF_ADD)];
      default:
        return [load(op.BPF_W, this.scalar(), 0, off + 4 * this.rng.below(2)), storeImm(op.BPF_W, 0, off, this.imm32())];
    }
  }

  setValue(): Insn[] {
    return [store(DW, op.REG_FP, VALUE, this.scalar()), store(DW, op.REG_FP, VALUE + 8, this.scalar())];
  }

  update(): void {
    const map = this.keyed();
    const flags = this.rng.pick([0, 0, 0, 1, 1, 2, 2, 3, 4]);
    this.add(...this.setKey(map), ...this.setValue(), ...mapRef(1, map.index), ...stackAddress(2, KEY), ...stackAddress(3, VALUE), mov(4, flags), call(2), ...foldR0());
  }

  remove(): void {
    const map = this.keyed();
    this.add(...this.setKey(map), ...mapRef(1, map.index), ...stackAddress(2, KEY), call(3), ...foldR0());
  }

  queue(): void {
    const what = this.rng.below(3);
    if (what === 0) {
      this.add(...this.setValue(), ...mapRef(1, GENERATED_MAPS.queue), ...stackAddress(2, VALUE), mov(3, this.rng.pick([0, 0, 2, 1])), call(87), ...foldR0());
      return;
    }
    const dst = this.scalar();
    this.add(...mapRef(1, GENERATED_MAPS.queue), ...stackAddress(2, VALUE), call(what === 1 ? 88 : 89), ...foldR0(), load(DW, dst, op.REG_FP, VALUE));
  }

  deterministicHelper(): void {
    switch (this.rng.below(5)) {
      case 0:
        this.add(call(8), ...foldR0()); // bpf_get_smp_processor_id (a fixed CPU in the tests)
        return;
      case 1:
        this.add(call(14), ...foldR0());
        return;
      case 2:
        this.add(call(15), ...foldR0());
        return;
      case 3: {
        const size = this.rng.pick([1, 8, 16]);
        this.add(...stackAddress(1, SCRATCH), mov(2, size), call(16), ...foldR0(), load(DW, this.scalar(), op.REG_FP, SCRATCH));
        return;
      }
      default: {
        // strncmp of the value buffer (a short string) and the scratch buffer.
        const nul = this.rng.below(8);
        this.add(
          storeImm(DW, op.REG_FP, VALUE, 0x64636261),
          storeImm(op.BPF_B, op.REG_FP, VALUE + nul, 0),
          storeImm(DW, op.REG_FP, SCRATCH, this.rng.pick([0x64636261, 0x64636161, 0x61])),
          ...stackAddress(1, VALUE),
          mov(2, this.rng.between(0, 12)),
          ...stackAddress(3, SCRATCH),
          call(182),
          ...foldR0(),
        );
      }
    }
  }

  probe(): void {
    const size = this.rng.pick([8, 16]);
    const bad = this.rng.chance(0.3);
    const id = this.rng.pick([4, 112, 113, 45, 114]);
    const source = bad ? [mov(3, this.rng.pick([0, 8, 4000]))] : stackAddress(3, VALUE);
    this.add(
      ...this.setValue(),
      storeImm(op.BPF_B, op.REG_FP, VALUE + this.rng.below(16), this.rng.chance(0.5) ? 0 : 0x41),
      ...stackAddress(1, SCRATCH),
      mov(2, size),
      ...source,
      call(id),
      ...foldR0(),
      load(DW, this.scalar(), op.REG_FP, SCRATCH),
      load(DW, this.scalar(), op.REG_FP, SCRATCH + 8),
    );
  }

  loop(): void {
    this.usesLoop = true;
    // lddw r2 = &callback: patched in layout() once the callback's slot is known.
    this.add(
      mov(1, this.rng.below(9)),
      insn(op.OP_LDDW, 2, op.BPF_PSEUDO_FUNC, 0, 0),
      insn(0, 0, 0, 0, 0),
      ...stackAddress(3, LOOP_CTX),
      mov(4, this.rng.chance(0.1) ? 1 : 0),
      call(181),
      ...foldR0(),
    );
  }

  events(): void {
    if (this.rng.chance(0.5)) {
      const size = this.rng.pick([8, 16, 12]);
      this.add(...this.setValue(), ...mapRef(1, GENERATED_MAPS.ringbuf), ...stackAddress(2, VALUE), mov(3, size), mov(4, this.rng.chance(0.1) ? 4 : 0), call(130), ...foldR0());
      return;
    }
    const flags = this.rng.pick([0, 1, -1]);
    this.add(
      ...this.setValue(),
      load(DW, 1, op.REG_FP, CTX_SAVE),
      ...mapRef(2, GENERATED_MAPS.perf),
      insn(op.BPF_ALU | op.BPF_MOV | op.BPF_K, 3, 0, 0, flags), // -1: BPF_F_CURRENT_CPU (zero-extended)
      ...stackAddress(4, VALUE),
      mov(5, this.rng.pick([8, 13, 16])),
      call(25),
      ...foldR0(),
    );
  }

  jump(): void {
    const code = this.rng.pick([op.BPF_JEQ, op.BPF_JNE, op.BPF_JGT, op.BPF_JSGT, op.BPF_JLT, op.BPF_JSET, op.BPF_JGE, op.BPF_JSLE]);
    const cls = this.rng.chance(0.5) ? op.BPF_JMP : op.BPF_JMP32;
    const jump = this.rng.chance(0.5) ? insn(cls | code | op.BPF_X, this.scalar(), this.scalar()) : insn(cls | code | op.BPF_K, this.scalar(), 0, 0, this.rng.between(-5, 5));
    this.blocks.push({ insns: [jump], jump: { at: 0, toBlock: this.blocks.length + 1 + this.rng.below(4) } });
  }

  fold(): Insn[] {
    const mix = (): Insn => insn(op.BPF_ALU64 | op.BPF_MUL | op.BPF_K, 0, 0, 0, 0x9e3779b1 | 0);
    const out: Insn[] = [mov(0, 0)];
    for (const r of SCALARS) out.push(mix(), insn(op.BPF_ALU64 | op.BPF_XOR | op.BPF_X, 0, r));
    for (let slot = 1; slot <= SLOTS; slot++) out.push(load(DW, 1, op.REG_FP, -8 * slot), mix(), insn(op.BPF_ALU64 | op.BPF_XOR | op.BPF_X, 0, 1));
    out.push(load(DW, 1, op.REG_FP, LOOP_CTX), mix(), insn(op.BPF_ALU64 | op.BPF_XOR | op.BPF_X, 0, 1), insn(op.OP_EXIT));
    return out;
  }

  /** bpf_loop's callback(index r1, ctx r2): *ctx += index * factor; stop (1) once index reaches loopStop. */
  callback(): Insn[] {
    return [
      load(DW, 3, 2, 0),
      movX(4, 1),
      insn(op.BPF_ALU64 | op.BPF_MUL | op.BPF_K, 4, 0, 0, this.loopFactor),
      insn(op.BPF_ALU64 | op.BPF_ADD | op.BPF_X, 3, 4),
      store(DW, 2, 0, 3),
      mov(0, 0),
      insn(op.BPF_JMP | op.BPF_JLT | op.BPF_K, 1, 0, 1, this.loopStop),
      mov(0, 1),
      insn(op.OP_EXIT),
    ];
  }

  layout(): { insns: Insn[]; mainLength: number } {
    const starts: number[] = [];
    let at = 0;
    for (const block of this.blocks) {
      starts.push(at);
      at += block.insns.length;
    }
    const foldAt = at;
    const fold = this.fold();
    const callbackAt = foldAt + fold.length;
    const insns: Insn[] = [];
    this.blocks.forEach((block, i) => {
      const copy = block.insns.map((x) => ({ ...x }));
      if (block.jump) {
        const target = block.jump.toBlock < this.blocks.length ? starts[block.jump.toBlock]! : foldAt;
        copy[block.jump.at]!.off = target - (starts[i]! + block.jump.at + 1);
      }
      copy.forEach((x, j) => {
        if (x.code === op.OP_LDDW && x.src === op.BPF_PSEUDO_FUNC) x.imm = callbackAt - (starts[i]! + j + 1);
      });
      insns.push(...copy);
    });
    insns.push(...fold);
    if (this.usesLoop) insns.push(...this.callback());
    return { insns, mainLength: callbackAt };
  }
}

export interface MapProgramCase {
  seed: number;
  spec: ObjectSpec;
  /** The program's name in the spec. */
  program: string;
}

/** One random object (see the header). */
export function generateMapProgram(seed: number, blocks?: number): MapProgramCase {
  const rng = new Prng(seed);
  const builder = new Builder(rng);
  builder.prologue();
  builder.body(blocks ?? rng.between(6, 40));
  const { insns, mainLength } = builder.layout();
  const functions = [{ name: "prog", start: 0, length: mainLength }];
  if (insns.length > mainLength) functions.push({ name: "callback", start: mainLength, length: insns.length - mainLength });
  const spec: ObjectSpec = {
    name: `case${seed}`,
    license: "GPL",
    kernelVersion: undefined,
    programs: [
      {
        name: "prog",
        section: "socket",
        info: parseSectionName("socket"),
        attachError: undefined,
        insns,
        functions,
        coreRelocations: [],
        kernelSymbols: new Map(),
      },
    ],
    maps: mapDefinitions(),
    variables: [],
    kconfig: [],
    btf: undefined,
    btfExt: undefined,
  };
  return { seed, spec, program: "prog" };
}
