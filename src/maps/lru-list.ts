// The kernel's LRU element lists (kernel/bpf/bpf_lru_list.c), reimplemented over a map region, so that an
// LRU hash evicts the same keys the kernel would for the same sequence of operations on the same CPUs.
//
// The algorithm, in short. Every element is on exactly one list. A global list (or one list per CPU with
// BPF_F_NO_COMMON_LRU) has three sublists: active, inactive and free. With the common list, each CPU also
// has a local free list and a local pending list: an update takes an element from its CPU's local free
// list, refilling that list in batches of `target_free` from the global free list, or, when the global
// free list is empty, by evicting unreferenced elements from the tail of the inactive list; the taken
// element waits on the local pending list until the next refill moves it to the active (if referenced)
// or inactive list. A lookup from a program sets the element's ref bit; rotations move referenced
// elements to the head of the active list and unreferenced active ones to the inactive list. When no
// element can be freed, elements are stolen from other CPUs' local lists, round robin.
//
// Layout of the LRU area (at the offset the hash header gives, 8-byte aligned):
//   +0   u32 flavour       0: common list with per-CPU local lists; 1: per-CPU lists (NO_COMMON_LRU)
//   +4   u32 nr_scans      elements a rotation or shrink looks at (common 128, per-CPU 4)
//   +8   u32 target_free   elements a refill moves (common: clamp(elements / ncpus / 2, 1, 128); per-CPU 4)
//   +12  u32 L             number of lists: 1, or ncpus for per-CPU lists
//   +16  lists, L x 16:    i32 lock, u32 active count, u32 inactive count, u32 next_inactive_rotation
//   then local lists (common flavour only), ncpus x 8: i32 lock, u32 next_steal (a CPU number)
//   then list heads, 8 bytes each: u32 prev, u32 next (link ids). List r owns heads 3r (active),
//        3r+1 (inactive), 3r+2 (free); local list c owns heads 3L+2c (free) and 3L+2c+1 (pending).
// Links are ids, not offsets: element i is link id i, head h is link id P+h (P = elements in the pool).
// Each element carries a 16-byte node at element offset 8:
//   +0 u32 prev, +4 u32 next (link ids), +8 u8 list type, +9 u8 ref bit, +10 u16 cpu, +12 u32 reserved
// List types are the kernel's: 0 active, 1 inactive, 2 free, 3 local free, 4 local pending.
//
// Locks are taken in the kernel's order: a local list, then the global list, then (to evict) a hash
// bucket. A lock that cannot be taken makes the pop fail (the update then returns -ENOMEM), as the
// kernel's resilient spinlocks do.

import { tryLock, unlock } from "./spinlock.js";

export const LruNode = { prev: 0, next: 4, type: 8, ref: 9, cpu: 10, size: 16 } as const;
export const LruListType = { ACTIVE: 0, INACTIVE: 1, FREE: 2, LOCAL_FREE: 3, LOCAL_PENDING: 4 } as const;

const LruArea = { flavour: 0, nrScans: 4, targetFree: 8, listCount: 12, lists: 16 } as const;
const LIST_RECORD = { lock: 0, active: 4, inactive: 8, nextInactiveRotation: 12, size: 16 } as const;
const LOCAL_RECORD = { lock: 0, nextSteal: 4, size: 8 } as const;

const LOCAL_FREE_TARGET = 128;
const PERCPU_FREE_TARGET = 4;

/** The element offset of the hash field, which the LRU writes when it hands out an element. */
const ELEMENT_HASH = 4;
const NODE_OFFSET = 8;

export const NO_ELEMENT = 0xffffffff;

export interface LruShape {
  percpuLists: boolean;
  ncpus: number;
  /** Elements in the pool. */
  elements: number;
}

/** Bytes of the LRU area for a shape. */
export function lruAreaSize(shape: LruShape): number {
  const lists = shape.percpuLists ? shape.ncpus : 1;
  const locals = shape.percpuLists ? 0 : shape.ncpus;
  return LruArea.lists + lists * LIST_RECORD.size + locals * LOCAL_RECORD.size + (3 * lists + 2 * locals) * 8;
}

/** Called to take an element out of the hash table before it is reused; false if it was not there. */
export type EvictElement = (element: number) => boolean;

export class LruLists {
  private readonly percpuLists: boolean;
  private readonly nrScans: number;
  private readonly targetFree: number;
  private readonly listCount: number;
  private readonly localsOffset: number;
  private readonly headsOffset: number;

  constructor(
    private readonly view: DataView,
    private readonly words: Int32Array,
    private readonly areaOffset: number,
    private readonly elementsOffset: number,
    private readonly elementSize: number,
    private readonly elements: number,
    private readonly ncpus: number,
    private readonly evict: EvictElement,
  ) {
    this.percpuLists = view.getUint32(areaOffset + LruArea.flavour, true) === 1;
    this.nrScans = view.getUint32(areaOffset + LruArea.nrScans, true);
    this.targetFree = view.getUint32(areaOffset + LruArea.targetFree, true);
    this.listCount = view.getUint32(areaOffset + LruArea.listCount, true);
    this.localsOffset = areaOffset + LruArea.lists + this.listCount * LIST_RECORD.size;
    const locals = this.percpuLists ? 0 : ncpus;
    this.headsOffset = this.localsOffset + locals * LOCAL_RECORD.size;
  }

  /** Writes the LRU parameters and puts every element on a free list (bpf_lru_populate). */
  static initialize(view: DataView, areaOffset: number, shape: LruShape): void {
    const lists = shape.percpuLists ? shape.ncpus : 1;
    view.setUint32(areaOffset + LruArea.flavour, shape.percpuLists ? 1 : 0, true);
    view.setUint32(areaOffset + LruArea.nrScans, shape.percpuLists ? PERCPU_FREE_TARGET : LOCAL_FREE_TARGET, true);
    const target = shape.percpuLists ? PERCPU_FREE_TARGET : Math.min(Math.max(Math.floor(Math.floor(shape.elements / shape.ncpus) / 2), 1), LOCAL_FREE_TARGET);
    view.setUint32(areaOffset + LruArea.targetFree, target, true);
    view.setUint32(areaOffset + LruArea.listCount, lists, true);
  }

  /** Second half of initialisation, once an LruLists exists over the area. */
  populate(): void {
    const lists = this.listCount;
    const locals = this.percpuLists ? 0 : this.ncpus;
    for (let h = 0; h < 3 * lists + 2 * locals; h++) {
      const id = this.elements + h;
      this.setNext(id, id);
      this.setPrev(id, id);
    }
    for (let r = 0; r < lists; r++) this.setNextInactiveRotation(r, this.head(r, LruListType.INACTIVE));
    for (let c = 0; c < locals; c++) this.view.setUint32(this.localOffset(c) + LOCAL_RECORD.nextSteal, c, true);
    if (!this.percpuLists) {
      for (let i = 0; i < this.elements; i++) {
        this.setType(i, LruListType.FREE);
        this.clearRef(i);
        this.addHead(i, this.head(0, LruListType.FREE));
      }
      return;
    }
    // Each CPU's list gets an equal share (the map rounded max_entries to a multiple of ncpus).
    const share = Math.floor(this.elements / this.ncpus);
    let i = 0;
    for (let cpu = 0; cpu < this.ncpus && i < this.elements; cpu++) {
      do {
        this.setCpu(i, cpu);
        this.setType(i, LruListType.FREE);
        this.clearRef(i);
        this.addHead(i, this.head(cpu, LruListType.FREE));
        i++;
      } while (i < this.elements && i % share !== 0);
    }
  }

  // ---- the two entry points of the hash map ------------------------------------------------------------

  /** An element for a new key, evicting if needed (bpf_lru_pop_free); NO_ELEMENT if none can be had. */
  popFree(cpu: number, hash: number): number {
    return this.percpuLists ? this.percpuPopFree(cpu, hash) : this.commonPopFree(cpu, hash);
  }

  /** Gives back an element that left the hash table, or was taken but not used (bpf_lru_push_free). */
  pushFree(node: number): void {
    if (this.percpuLists) {
      this.pushFreeToList(this.cpu(node), node);
      return;
    }
    if (this.type(node) === LruListType.LOCAL_PENDING) {
      const c = this.cpu(node);
      const lock = this.localLock(c);
      if (!tryLock(this.words, lock)) return;
      if (this.type(node) === LruListType.LOCAL_PENDING) {
        this.setType(node, LruListType.LOCAL_FREE);
        this.clearRef(node);
        this.move(node, this.localFree(c));
        unlock(this.words, lock);
        return;
      }
      unlock(this.words, lock);
    }
    this.pushFreeToList(0, node);
  }

  /** A program looked the element up (bpf_lru_node_set_ref): only written when not set yet. */
  setRef(node: number): void {
    const offset = this.nodeOffset(node) + LruNode.ref;
    if (this.view.getUint8(offset) === 0) this.view.setUint8(offset, 1);
  }

  // ---- common list ---------------------------------------------------------------------------------------

  private commonPopFree(cpu: number, hash: number): number {
    const lock = this.localLock(cpu);
    if (!tryLock(this.words, lock)) return NO_ELEMENT;
    let node = this.localPopFree(cpu);
    if (node === NO_ELEMENT) {
      this.refillLocal(cpu);
      node = this.localPopFree(cpu);
    }
    if (node !== NO_ELEMENT) this.addPending(cpu, node, hash);
    unlock(this.words, lock);
    if (node !== NO_ELEMENT) return node;

    // Nothing free here or globally: steal a free or pending element of some CPU, round robin.
    const first = this.view.getUint32(this.localOffset(cpu) + LOCAL_RECORD.nextSteal, true);
    let steal = first;
    do {
      const stealLock = this.localLock(steal);
      if (tryLock(this.words, stealLock)) {
        node = this.localPopFree(steal);
        if (node === NO_ELEMENT) node = this.localPopPending(steal);
        unlock(this.words, stealLock);
      }
      steal = (steal + 1) % this.ncpus;
    } while (node === NO_ELEMENT && steal !== first);
    this.view.setUint32(this.localOffset(cpu) + LOCAL_RECORD.nextSteal, steal, true);
    if (node === NO_ELEMENT) return NO_ELEMENT;
    if (!tryLock(this.words, lock)) {
      this.setType(node, LruListType.LOCAL_FREE);
      this.clearRef(node);
      this.addHead(node, this.localFree(cpu));
      return NO_ELEMENT;
    }
    this.addPending(cpu, node, hash);
    unlock(this.words, lock);
    return node;
  }

  /** bpf_lru_list_pop_free_to_local: flush pending, rotate, then move target_free elements to local free. */
  private refillLocal(cpu: number): void {
    const lock = this.listLock(0);
    if (!tryLock(this.words, lock)) return;
    this.flushPending(cpu);
    this.rotate(0);
    const globalFree = this.head(0, LruListType.FREE);
    const localFree = this.localFree(cpu);
    let moved = 0;
    for (let node = this.next(globalFree); node !== globalFree; ) {
      const following = this.next(node);
      this.moveToFree(0, node, localFree, LruListType.LOCAL_FREE);
      if (++moved === this.targetFree) break;
      node = following;
    }
    if (moved < this.targetFree) this.shrink(0, this.targetFree - moved, localFree, LruListType.LOCAL_FREE);
    unlock(this.words, lock);
  }

  private flushPending(cpu: number): void {
    const pending = this.localPending(cpu);
    for (let node = this.prev(pending); node !== pending; ) {
      const previous = this.prev(node);
      this.moveIn(0, node, this.ref(node) ? LruListType.ACTIVE : LruListType.INACTIVE);
      node = previous;
    }
  }

  private addPending(cpu: number, node: number, hash: number): void {
    this.view.setUint32(this.elementOffset(node) + ELEMENT_HASH, hash, true);
    this.setCpu(node, cpu);
    this.setType(node, LruListType.LOCAL_PENDING);
    this.clearRef(node);
    this.addHead(node, this.localPending(cpu));
  }

  private localPopFree(cpu: number): number {
    const head = this.localFree(cpu);
    const node = this.next(head);
    if (node === head) return NO_ELEMENT;
    this.unlink(node);
    return node;
  }

  /** The oldest pending element that can be evicted, unreferenced ones first. */
  private localPopPending(cpu: number): number {
    const pending = this.localPending(cpu);
    for (let force = 0; force < 2; force++) {
      for (let node = this.prev(pending); node !== pending; node = this.prev(node)) {
        if ((force === 1 || !this.ref(node)) && this.evict(node)) {
          this.unlink(node);
          return node;
        }
      }
    }
    return NO_ELEMENT;
  }

  // ---- per-CPU lists -------------------------------------------------------------------------------------

  private percpuPopFree(cpu: number, hash: number): number {
    const lock = this.listLock(cpu);
    if (!tryLock(this.words, lock)) return NO_ELEMENT;
    this.rotate(cpu);
    const free = this.head(cpu, LruListType.FREE);
    if (this.next(free) === free) this.shrink(cpu, PERCPU_FREE_TARGET, free, LruListType.FREE);
    let node = NO_ELEMENT;
    if (this.next(free) !== free) {
      node = this.next(free);
      this.view.setUint32(this.elementOffset(node) + ELEMENT_HASH, hash, true);
      this.clearRef(node);
      this.nodeMove(cpu, node, LruListType.INACTIVE);
    }
    unlock(this.words, lock);
    return node;
  }

  private pushFreeToList(list: number, node: number): void {
    const lock = this.listLock(list);
    if (!tryLock(this.words, lock)) return;
    this.nodeMove(list, node, LruListType.FREE);
    unlock(this.words, lock);
  }

  // ---- rotation and shrinking (shared) -------------------------------------------------------------------

  private rotate(list: number): void {
    if (this.count(list, LruListType.INACTIVE) < this.count(list, LruListType.ACTIVE)) this.rotateActive(list);
    this.rotateInactive(list);
  }

  /** From the tail: referenced elements go back to the head of active, others to inactive. */
  private rotateActive(list: number): void {
    const active = this.head(list, LruListType.ACTIVE);
    const first = this.next(active);
    let scanned = 0;
    for (let node = this.prev(active); node !== active; ) {
      const previous = this.prev(node);
      this.nodeMove(list, node, this.ref(node) ? LruListType.ACTIVE : LruListType.INACTIVE);
      if (++scanned === this.nrScans || node === first) break;
      node = previous;
    }
  }

  /** From next_inactive_rotation backwards: referenced elements move to active, others stay. */
  private rotateInactive(list: number): void {
    const inactive = this.head(list, LruListType.INACTIVE);
    if (this.next(inactive) === inactive) return;
    let last = this.next(this.nextInactiveRotation(list));
    if (last === inactive) last = this.next(last);
    let cur = this.nextInactiveRotation(list);
    let following = inactive;
    let scanned = 0;
    while (scanned < this.nrScans) {
      if (cur === inactive) {
        cur = this.prev(cur);
        continue;
      }
      following = this.prev(cur);
      if (this.ref(cur)) this.nodeMove(list, cur, LruListType.ACTIVE);
      if (cur === last) break;
      cur = following;
      scanned++;
    }
    this.setNextInactiveRotation(list, following);
  }

  private shrinkInactive(list: number, wanted: number, freeHead: number, freeType: number): number {
    const inactive = this.head(list, LruListType.INACTIVE);
    let shrunk = 0;
    let scanned = 0;
    for (let node = this.prev(inactive); node !== inactive; ) {
      const previous = this.prev(node);
      if (this.ref(node)) {
        this.nodeMove(list, node, LruListType.ACTIVE);
      } else if (this.evict(node)) {
        this.moveToFree(list, node, freeHead, freeType);
        if (++shrunk === wanted) break;
      }
      if (++scanned === this.nrScans) break;
      node = previous;
    }
    return shrunk;
  }

  /** Frees unreferenced inactive elements, or else one element whatever its ref bit. */
  private shrink(list: number, wanted: number, freeHead: number, freeType: number): number {
    const shrunk = this.shrinkInactive(list, wanted, freeHead, freeType);
    if (shrunk) return shrunk;
    const inactive = this.head(list, LruListType.INACTIVE);
    const victims = this.next(inactive) !== inactive ? inactive : this.head(list, LruListType.ACTIVE);
    for (let node = this.prev(victims); node !== victims; ) {
      const previous = this.prev(node);
      if (this.evict(node)) {
        this.moveToFree(list, node, freeHead, freeType);
        return 1;
      }
      node = previous;
    }
    return 0;
  }

  // ---- moves between lists (the kernel's __bpf_lru_node_move*, with their count bookkeeping) ----------------

  private moveToFree(list: number, node: number, freeHead: number, freeType: number): void {
    if (node === this.nextInactiveRotation(list)) this.setNextInactiveRotation(list, this.prev(node));
    this.countAdd(list, this.type(node), -1);
    this.setType(node, freeType);
    this.move(node, freeHead);
  }

  private moveIn(list: number, node: number, target: number): void {
    this.countAdd(list, target, 1);
    this.setType(node, target);
    this.clearRef(node);
    this.move(node, this.head(list, target));
  }

  private nodeMove(list: number, node: number, target: number): void {
    const type = this.type(node);
    if (type !== target) {
      this.countAdd(list, type, -1);
      this.countAdd(list, target, 1);
      this.setType(node, target);
    }
    this.clearRef(node);
    if (node === this.nextInactiveRotation(list)) this.setNextInactiveRotation(list, this.prev(node));
    this.move(node, this.head(list, target));
  }

  // ---- records ----------------------------------------------------------------------------------------------

  private listOffset(list: number): number {
    return this.areaOffset + LruArea.lists + list * LIST_RECORD.size;
  }

  private listLock(list: number): number {
    return (this.listOffset(list) + LIST_RECORD.lock) >>> 2;
  }

  private localOffset(cpu: number): number {
    return this.localsOffset + cpu * LOCAL_RECORD.size;
  }

  private localLock(cpu: number): number {
    return (this.localOffset(cpu) + LOCAL_RECORD.lock) >>> 2;
  }

  private count(list: number, type: number): number {
    return this.view.getUint32(this.listOffset(list) + (type === LruListType.ACTIVE ? LIST_RECORD.active : LIST_RECORD.inactive), true);
  }

  /** Only the active and inactive sublists are counted, as in the kernel. */
  private countAdd(list: number, type: number, delta: number): void {
    if (type !== LruListType.ACTIVE && type !== LruListType.INACTIVE) return;
    const offset = this.listOffset(list) + (type === LruListType.ACTIVE ? LIST_RECORD.active : LIST_RECORD.inactive);
    this.view.setUint32(offset, this.view.getUint32(offset, true) + delta, true);
  }

  private nextInactiveRotation(list: number): number {
    return this.view.getUint32(this.listOffset(list) + LIST_RECORD.nextInactiveRotation, true);
  }

  private setNextInactiveRotation(list: number, id: number): void {
    this.view.setUint32(this.listOffset(list) + LIST_RECORD.nextInactiveRotation, id, true);
  }

  private head(list: number, type: number): number {
    return this.elements + 3 * list + type;
  }

  private localFree(cpu: number): number {
    return this.elements + 3 * this.listCount + 2 * cpu;
  }

  private localPending(cpu: number): number {
    return this.elements + 3 * this.listCount + 2 * cpu + 1;
  }

  // ---- nodes and links -------------------------------------------------------------------------------------

  private elementOffset(node: number): number {
    return this.elementsOffset + node * this.elementSize;
  }

  private nodeOffset(node: number): number {
    return this.elementOffset(node) + NODE_OFFSET;
  }

  private linkOffset(id: number): number {
    return id < this.elements ? this.nodeOffset(id) : this.headsOffset + (id - this.elements) * 8;
  }

  type(node: number): number {
    return this.view.getUint8(this.nodeOffset(node) + LruNode.type);
  }

  private setType(node: number, type: number): void {
    this.view.setUint8(this.nodeOffset(node) + LruNode.type, type);
  }

  ref(node: number): number {
    return this.view.getUint8(this.nodeOffset(node) + LruNode.ref);
  }

  private clearRef(node: number): void {
    this.view.setUint8(this.nodeOffset(node) + LruNode.ref, 0);
  }

  private cpu(node: number): number {
    return this.view.getUint16(this.nodeOffset(node) + LruNode.cpu, true);
  }

  private setCpu(node: number, cpu: number): void {
    this.view.setUint16(this.nodeOffset(node) + LruNode.cpu, cpu, true);
  }

  private prev(id: number): number {
    return this.view.getUint32(this.linkOffset(id) + LruNode.prev, true);
  }

  private next(id: number): number {
    return this.view.getUint32(this.linkOffset(id) + LruNode.next, true);
  }

  private setPrev(id: number, value: number): void {
    this.view.setUint32(this.linkOffset(id) + LruNode.prev, value, true);
  }

  private setNext(id: number, value: number): void {
    this.view.setUint32(this.linkOffset(id) + LruNode.next, value, true);
  }

  private unlink(id: number): void {
    const p = this.prev(id);
    const n = this.next(id);
    this.setNext(p, n);
    this.setPrev(n, p);
  }

  private addHead(id: number, head: number): void {
    const n = this.next(head);
    this.setNext(head, id);
    this.setPrev(id, head);
    this.setNext(id, n);
    this.setPrev(n, id);
  }

  private move(id: number, head: number): void {
    this.unlink(id);
    this.addHead(id, head);
  }
}
