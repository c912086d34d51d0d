// BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK (kernel/bpf/queue_stack_maps.c): a ring of max_entries + 1
// value slots, one always left empty to tell full from empty. Pushes go in at `head`; a queue takes from
// `tail` (oldest first), a stack from `head - 1` (newest first). A push with BPF_EXIST on a full map
// drops the oldest element (advances `tail`) to make room.
//
// Type header:
//   0x80 u32 size        max_entries + 1 slots
//   0x84 u32 head        next slot to push into
//   0x88 u32 tail        oldest element
//   0x8c i32 lock        taken by every operation
// Slots at 0x100: slot i at 0x100 + i * value_stride.
//
// The control plane's commands map onto the same operations as in the kernel: UPDATE_ELEM pushes (key
// NULL), LOOKUP_ELEM peeks, LOOKUP_AND_DELETE_ELEM pops; DELETE_ELEM and GET_NEXT_KEY are EINVAL.

import { BpfMap } from "./bpf-map.js";
import { copyBytes, roundUp } from "./bytes.js";
import { Errno } from "./errno.js";
import { Header, type HeaderFields } from "./header.js";
import { accessFlagsOk, flagsOutside, KMALLOC_MAX_SIZE, type MapKind } from "./map-kind.js";
import { MapFlag, MapType, UpdateFlag } from "./map-types.js";
import { tryLock, unlock } from "./spinlock.js";

export const QueueHeader = { size: 0x80, head: 0x84, tail: 0x88, lock: 0x8c } as const;

export class QueueStackMap extends BpfMap {
  private readonly slots: number;
  private readonly isStack: boolean;

  constructor(region: Uint8Array, header: HeaderFields) {
    super(region, header);
    this.slots = this.view.getUint32(QueueHeader.size, true);
    this.isStack = this.type === MapType.STACK;
  }

  private get head(): number {
    return this.view.getUint32(QueueHeader.head, true);
  }

  private get tail(): number {
    return this.view.getUint32(QueueHeader.tail, true);
  }

  private slotOffset(slot: number): number {
    return Header.size + slot * this.valueStride;
  }

  override progPush(value: Uint8Array, valueOffset: number, flags: number, _cpu: number): number {
    if (flags & UpdateFlag.NOEXIST || flags > UpdateFlag.EXIST) return -Errno.EINVAL;
    if (!tryLock(this.words, QueueHeader.lock >>> 2)) return -Errno.EBUSY;
    let head = this.head;
    const afterHead = head + 1 >= this.slots ? 0 : head + 1;
    if (afterHead === this.tail) {
      if (!(flags & UpdateFlag.EXIST)) {
        unlock(this.words, QueueHeader.lock >>> 2);
        return -Errno.E2BIG;
      }
      // Full and told to overwrite: drop the oldest element.
      this.view.setUint32(QueueHeader.tail, this.tail + 1 >= this.slots ? 0 : this.tail + 1, true);
      this.addCount(-1);
    }
    copyBytes(this.region, this.slotOffset(head), value, valueOffset, this.valueSize);
    head = afterHead;
    this.view.setUint32(QueueHeader.head, head, true);
    this.addCount(1);
    unlock(this.words, QueueHeader.lock >>> 2);
    return 0;
  }

  override progPop(out: Uint8Array, outOffset: number, _cpu: number): number {
    return this.take(out, outOffset, true);
  }

  override progPeek(out: Uint8Array, outOffset: number, _cpu: number): number {
    return this.take(out, outOffset, false);
  }

  private take(out: Uint8Array, outOffset: number, remove: boolean): number {
    if (!tryLock(this.words, QueueHeader.lock >>> 2)) return -Errno.EBUSY;
    const head = this.head;
    const tail = this.tail;
    if (head === tail) {
      // The kernel zeroes the caller's buffer when there is nothing to return.
      out.fill(0, outOffset, outOffset + this.valueSize);
      unlock(this.words, QueueHeader.lock >>> 2);
      return -Errno.ENOENT;
    }
    let slot: number;
    if (this.isStack) {
      slot = head === 0 ? this.slots - 1 : head - 1;
      if (remove) this.view.setUint32(QueueHeader.head, slot, true);
    } else {
      slot = tail;
      if (remove) this.view.setUint32(QueueHeader.tail, tail + 1 >= this.slots ? 0 : tail + 1, true);
    }
    const at = this.slotOffset(slot);
    copyBytes(out, outOffset, this.region, at, this.valueSize);
    if (remove) this.addCount(-1);
    unlock(this.words, QueueHeader.lock >>> 2);
    return 0;
  }

  protected override sysLookup(_key: Uint8Array | null, value: Uint8Array): number {
    return this.progPeek(value, 0, 0);
  }

  protected override sysUpdate(_key: Uint8Array | null, value: Uint8Array, flags: number): number {
    return this.progPush(value, 0, flags, 0);
  }

  protected override sysLookupAndDelete(_key: Uint8Array | null, value: Uint8Array): number {
    return this.progPop(value, 0, 0);
  }

  protected override sysDelete(): number {
    return -Errno.EINVAL;
  }

  protected override sysGetNextKey(): number {
    return -Errno.EINVAL;
  }
}

export const queueStackKind: MapKind = {
  types: [MapType.QUEUE, MapType.STACK],
  check(spec) {
    if (spec.maxEntries === 0 || spec.keySize !== 0 || spec.valueSize === 0 || flagsOutside(spec.flags, MapFlag.NUMA_NODE) || !accessFlagsOk(spec.flags)) {
      return -Errno.EINVAL;
    }
    if (spec.valueSize > KMALLOC_MAX_SIZE) return -Errno.E2BIG;
    return 0;
  },
  regionSize: (fields) => Header.size + (fields.maxEntries + 1) * roundUp(fields.valueSize, 8),
  create(region, fields) {
    new DataView(region.buffer, region.byteOffset, region.byteLength).setUint32(QueueHeader.size, fields.maxEntries + 1, true);
    return new QueueStackMap(region, fields);
  },
  open: (region, fields) => new QueueStackMap(region, fields),
};
