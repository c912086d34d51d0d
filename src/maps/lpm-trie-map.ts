// BPF_MAP_TYPE_LPM_TRIE (kernel/bpf/lpm_trie.c): keys are { u32 prefixlen; u8 data[key_size - 4] } with
// the data in network (big-endian bit) order. Lookups return the value of the longest stored prefix that
// matches the key; updates and deletes act on exact (prefixlen, data) pairs. The tree has the kernel's
// shape: a binary trie with path compression, where intermediate nodes (flag bit 0) exist only where two
// subtrees split and always have two children. get_next_key walks it in the kernel's post-order (more
// specific prefixes before the prefixes that contain them), so it returns keys in exactly the kernel's
// order, including the data bits past the prefix length, which are stored as given.
//
// Type header:
//   0x80 u32 data size D        key_size - 4
//   0x84 u32 max prefixlen      8 * D
//   0x88 u32 root               node index, or 0xffffffff for an empty trie
//   0x8c i32 lock               taken by every operation (lookups too: a freed node may be reused at once)
//   0x90 u32 node size
//   0x94 u32 nodes in pool      2 * max_entries (elements plus at most max_entries - 1 intermediates)
//   0x98 u32 free-list head     linked through child[0]
//   0x9c u32 value offset       in a node: 16 + round_up(D, 8)
// Nodes at 0x100 + i * node size:
//   +0 u32 child[0], +4 u32 child[1] (node indices or 0xffffffff), +8 u32 prefixlen,
//   +12 u32 flags (bit 0: intermediate), +16 data (D bytes), then the value (value_stride bytes)

import { genericDeleteBatch, genericLookupBatch, genericUpdateBatch } from "./batch.js";
import { BpfMap, type BatchRequest, type BatchResult } from "./bpf-map.js";
import { copyBytes, readU32, roundUp, writeU32 } from "./bytes.js";
import { Errno } from "./errno.js";
import { Header, type HeaderFields } from "./header.js";
import { accessFlagsOk, flagsOutside, KMALLOC_MAX_SIZE, type MapKind } from "./map-kind.js";
import { MapFlag, MapType, UpdateFlag } from "./map-types.js";
import { tryLock, unlock } from "./spinlock.js";

export const LpmHeader = {
  dataSize: 0x80,
  maxPrefixlen: 0x84,
  root: 0x88,
  lock: 0x8c,
  nodeSize: 0x90,
  poolSize: 0x94,
  freeHead: 0x98,
  valueOffset: 0x9c,
} as const;

export const LpmNode = { child0: 0, child1: 4, prefixlen: 8, flags: 12, data: 16 } as const;
const INTERMEDIATE = 1;
const NONE = 0xffffffff;
const LPM_DATA_SIZE_MAX = 256;
const LPM_KEY_PREFIX = 4;

function lpmLayout(fields: HeaderFields): { dataSize: number; nodeSize: number; pool: number; valueOffset: number; size: number } {
  const dataSize = fields.keySize - LPM_KEY_PREFIX;
  const valueOffset = LpmNode.data + roundUp(dataSize, 8);
  const nodeSize = valueOffset + roundUp(fields.valueSize, 8);
  const pool = 2 * fields.maxEntries;
  return { dataSize, nodeSize, pool, valueOffset, size: Header.size + pool * nodeSize };
}

export class LpmTrieMap extends BpfMap {
  private readonly dataSize: number;
  private readonly maxPrefixlen: number;
  private readonly nodeSize: number;
  private readonly valueOffset: number;
  /** Path from the root, for get_next_key (control plane only). */
  private readonly stack: Uint32Array;

  constructor(region: Uint8Array, header: HeaderFields) {
    super(region, header);
    this.dataSize = this.view.getUint32(LpmHeader.dataSize, true);
    this.maxPrefixlen = this.view.getUint32(LpmHeader.maxPrefixlen, true);
    this.nodeSize = this.view.getUint32(LpmHeader.nodeSize, true);
    this.valueOffset = this.view.getUint32(LpmHeader.valueOffset, true);
    this.stack = new Uint32Array(this.maxPrefixlen + 2);
  }

  initialize(): void {
    const pool = this.view.getUint32(LpmHeader.poolSize, true);
    for (let i = 0; i < pool; i++) this.setChild(i, 0, i + 1 < pool ? i + 1 : NONE);
    this.view.setUint32(LpmHeader.freeHead, pool > 0 ? 0 : NONE, true);
    this.view.setUint32(LpmHeader.root, NONE, true);
  }

  // ---- nodes ---------------------------------------------------------------------------------------------

  nodeOffset(node: number): number {
    return Header.size + node * this.nodeSize;
  }

  private child(node: number, bit: number): number {
    return this.view.getUint32(this.nodeOffset(node) + (bit ? LpmNode.child1 : LpmNode.child0), true);
  }

  private setChild(node: number, bit: number, value: number): void {
    this.view.setUint32(this.nodeOffset(node) + (bit ? LpmNode.child1 : LpmNode.child0), value, true);
  }

  private prefixlen(node: number): number {
    return this.view.getUint32(this.nodeOffset(node) + LpmNode.prefixlen, true);
  }

  private intermediate(node: number): boolean {
    return (this.view.getUint32(this.nodeOffset(node) + LpmNode.flags, true) & INTERMEDIATE) !== 0;
  }

  private setFlags(node: number, flags: number): void {
    this.view.setUint32(this.nodeOffset(node) + LpmNode.flags, flags, true);
  }

  private get root(): number {
    return this.view.getUint32(LpmHeader.root, true);
  }

  /** A slot is where a node index lives: the root word, or a child word of some node. */
  private readSlot(slot: number): number {
    return this.view.getUint32(slot, true);
  }

  private writeSlot(slot: number, node: number): void {
    this.view.setUint32(slot, node, true);
  }

  private childSlot(node: number, bit: number): number {
    return this.nodeOffset(node) + (bit ? LpmNode.child1 : LpmNode.child0);
  }

  private allocNode(): number {
    const node = this.view.getUint32(LpmHeader.freeHead, true);
    if (node !== NONE) this.view.setUint32(LpmHeader.freeHead, this.child(node, 0), true);
    return node;
  }

  private freeNode(node: number): void {
    this.setChild(node, 0, this.view.getUint32(LpmHeader.freeHead, true));
    this.view.setUint32(LpmHeader.freeHead, node, true);
  }

  /** Writes prefixlen, flags, data (from a key) and no children into a node. */
  private fillNode(node: number, prefixlen: number, flags: number, key: Uint8Array, dataOffset: number): void {
    const at = this.nodeOffset(node);
    this.view.setUint32(at + LpmNode.child0, NONE, true);
    this.view.setUint32(at + LpmNode.child1, NONE, true);
    this.view.setUint32(at + LpmNode.prefixlen, prefixlen, true);
    this.view.setUint32(at + LpmNode.flags, flags, true);
    copyBytes(this.region, at + LpmNode.data, key, dataOffset, this.dataSize);
  }

  // ---- bit matching --------------------------------------------------------------------------------------

  /** Leading bits that node and key share, capped at both prefix lengths (longest_prefix_match). */
  private matchLength(node: number, key: Uint8Array, keyOffset: number): number {
    const limit = Math.min(this.prefixlen(node), readU32(key, keyOffset));
    const nodeData = this.nodeOffset(node) + LpmNode.data;
    const keyData = keyOffset + LPM_KEY_PREFIX;
    let bits = 0;
    for (let i = 0; bits < limit; i++) {
      const difference = this.region[nodeData + i]! ^ key[keyData + i]!;
      if (difference !== 0) {
        bits += Math.clz32(difference) - 24;
        break;
      }
      bits += 8;
    }
    return Math.min(bits, limit);
  }

  private static bitAt(data: Uint8Array, dataOffset: number, index: number): number {
    return (data[dataOffset + (index >>> 3)]! >>> (7 - (index & 7))) & 1;
  }

  // ---- operations ----------------------------------------------------------------------------------------

  /** Longest-prefix match; the node whose value answers, or NONE. */
  private longestMatch(key: Uint8Array, keyOffset: number): number {
    let found = NONE;
    let node = this.root;
    while (node !== NONE) {
      const matched = this.matchLength(node, key, keyOffset);
      if (matched === this.maxPrefixlen) return node;
      if (matched < this.prefixlen(node)) break;
      if (!this.intermediate(node)) found = node;
      node = this.child(node, LpmTrieMap.bitAt(key, keyOffset + LPM_KEY_PREFIX, this.prefixlen(node)));
    }
    return found;
  }

  override progLookup(key: Uint8Array, keyOffset: number, _cpu: number): number {
    if (!tryLock(this.words, LpmHeader.lock >>> 2)) return -Errno.EBUSY;
    const node = this.longestMatch(key, keyOffset);
    unlock(this.words, LpmHeader.lock >>> 2);
    return node === NONE ? -Errno.ENOENT : this.nodeOffset(node) + this.valueOffset;
  }

  override progUpdate(key: Uint8Array, keyOffset: number, value: Uint8Array, valueOffset: number, flags: number, _cpu: number): number {
    if (flags > UpdateFlag.EXIST) return -Errno.EINVAL;
    const prefixlen = readU32(key, keyOffset);
    if (prefixlen > this.maxPrefixlen) return -Errno.EINVAL;
    if (!tryLock(this.words, LpmHeader.lock >>> 2)) return -Errno.EBUSY;
    const result = this.insert(key, keyOffset, prefixlen, value, valueOffset, flags);
    unlock(this.words, LpmHeader.lock >>> 2);
    return result;
  }

  /** trie_check_add_elem: a new element needs room and must not have been asked to exist already. */
  private admitNew(flags: number): number {
    if (flags === UpdateFlag.EXIST) return -Errno.ENOENT;
    if (this.count === this.maxEntries) return -Errno.ENOSPC;
    this.addCount(1);
    return 0;
  }

  private insert(key: Uint8Array, keyOffset: number, prefixlen: number, value: Uint8Array, valueOffset: number, flags: number): number {
    const data = keyOffset + LPM_KEY_PREFIX;
    let slot: number = LpmHeader.root;
    let node = this.readSlot(slot);
    let matched = 0;
    while (node !== NONE) {
      matched = this.matchLength(node, key, keyOffset);
      if (this.prefixlen(node) !== matched || this.prefixlen(node) === prefixlen) break;
      slot = this.childSlot(node, LpmTrieMap.bitAt(key, data, this.prefixlen(node)));
      node = this.readSlot(slot);
    }
    const writeValue = (target: number): void => {
      copyBytes(this.region, this.nodeOffset(target) + this.valueOffset, value, valueOffset, this.valueSize);
    };

    if (node === NONE) {
      const error = this.admitNew(flags);
      if (error) return error;
      const fresh = this.allocNode();
      this.fillNode(fresh, prefixlen, 0, key, data);
      writeValue(fresh);
      this.writeSlot(slot, fresh);
      return 0;
    }

    if (this.prefixlen(node) === matched) {
      // The exact prefix is there: replace it (an intermediate node becomes a real one), keeping children.
      if (!this.intermediate(node)) {
        if (flags === UpdateFlag.NOEXIST) return -Errno.EEXIST;
      } else {
        const error = this.admitNew(flags);
        if (error) return error;
      }
      const children0 = this.child(node, 0);
      const children1 = this.child(node, 1);
      this.fillNode(node, prefixlen, 0, key, data);
      this.setChild(node, 0, children0);
      this.setChild(node, 1, children1);
      writeValue(node);
      return 0;
    }

    const error = this.admitNew(flags);
    if (error) return error;
    const fresh = this.allocNode();
    this.fillNode(fresh, prefixlen, 0, key, data);
    writeValue(fresh);

    if (matched === prefixlen) {
      // The new prefix contains the node's: it becomes the node's parent.
      const nodeData = this.nodeOffset(node) + LpmNode.data;
      this.setChild(fresh, LpmTrieMap.bitAt(this.region, nodeData, matched), node);
      this.writeSlot(slot, fresh);
      return 0;
    }

    // The two prefixes diverge after `matched` bits: join them under an intermediate node.
    const joint = this.allocNode();
    this.fillNode(joint, matched, INTERMEDIATE, this.region, this.nodeOffset(node) + LpmNode.data);
    if (LpmTrieMap.bitAt(key, data, matched)) {
      this.setChild(joint, 0, node);
      this.setChild(joint, 1, fresh);
    } else {
      this.setChild(joint, 0, fresh);
      this.setChild(joint, 1, node);
    }
    this.writeSlot(slot, joint);
    return 0;
  }

  override progDelete(key: Uint8Array, keyOffset: number, _cpu: number): number {
    const prefixlen = readU32(key, keyOffset);
    if (prefixlen > this.maxPrefixlen) return -Errno.EINVAL;
    if (!tryLock(this.words, LpmHeader.lock >>> 2)) return -Errno.EBUSY;
    const result = this.remove(key, keyOffset, prefixlen);
    unlock(this.words, LpmHeader.lock >>> 2);
    return result;
  }

  private remove(key: Uint8Array, keyOffset: number, prefixlen: number): number {
    const data = keyOffset + LPM_KEY_PREFIX;
    let slot: number = LpmHeader.root;
    let parentSlot = slot;
    let parent = NONE;
    let node = this.readSlot(slot);
    let matched = 0;
    while (node !== NONE) {
      matched = this.matchLength(node, key, keyOffset);
      if (this.prefixlen(node) !== matched || this.prefixlen(node) === prefixlen) break;
      parent = node;
      parentSlot = slot;
      slot = this.childSlot(node, LpmTrieMap.bitAt(key, data, this.prefixlen(node)));
      node = this.readSlot(slot);
    }
    if (node === NONE || this.prefixlen(node) !== prefixlen || this.prefixlen(node) !== matched || this.intermediate(node)) {
      return -Errno.ENOENT;
    }
    this.addCount(-1);
    const left = this.child(node, 0);
    const right = this.child(node, 1);
    if (left !== NONE && right !== NONE) {
      // Still needed to join its two subtrees: it only stops being an element.
      this.setFlags(node, INTERMEDIATE);
      return 0;
    }
    if (parent !== NONE && this.intermediate(parent) && left === NONE && right === NONE) {
      // A leaf under an intermediate node: the intermediate goes too, its other child takes its place.
      this.writeSlot(parentSlot, this.child(parent, 0) === node ? this.child(parent, 1) : this.child(parent, 0));
      this.freeNode(parent);
      this.freeNode(node);
      return 0;
    }
    this.writeSlot(slot, left !== NONE ? left : right);
    this.freeNode(node);
    return 0;
  }

  protected override sysLookup(key: Uint8Array, value: Uint8Array): number {
    const offset = this.progLookup(key, 0, 0);
    if (offset < 0) return offset;
    value.set(this.region.subarray(offset, offset + this.valueSize));
    return 0;
  }

  protected override sysUpdate(key: Uint8Array, value: Uint8Array, flags: number): number {
    return this.progUpdate(key, 0, value, 0, flags, 0);
  }

  protected override sysDelete(key: Uint8Array): number {
    return this.progDelete(key, 0, 0);
  }

  /** trie_get_next_key: post-order, so the key after a prefix is the next more specific one, or its parent. */
  protected override sysGetNextKey(key: Uint8Array | null, nextKey: Uint8Array): number {
    if (!tryLock(this.words, LpmHeader.lock >>> 2)) return -Errno.EBUSY;
    const result = this.nextKey(key, nextKey);
    unlock(this.words, LpmHeader.lock >>> 2);
    return result;
  }

  private nextKey(key: Uint8Array | null, nextKey: Uint8Array): number {
    let searchRoot = this.root;
    if (searchRoot === NONE) return -Errno.ENOENT;
    if (key !== null && readU32(key, 0) <= this.maxPrefixlen) {
      const prefixlen = readU32(key, 0);
      let depth = -1;
      let node = searchRoot;
      let matched = 0;
      while (node !== NONE) {
        this.stack[++depth] = node;
        matched = this.matchLength(node, key, 0);
        if (this.prefixlen(node) !== matched || this.prefixlen(node) === prefixlen) break;
        node = this.child(node, LpmTrieMap.bitAt(key, LPM_KEY_PREFIX, this.prefixlen(node)));
      }
      if (node !== NONE && this.prefixlen(node) === matched && !this.intermediate(node)) {
        // Found: climb until a parent has an unvisited right subtree, or is itself an element.
        node = this.stack[depth]!;
        searchRoot = NONE;
        while (depth > 0) {
          const parent = this.stack[depth - 1]!;
          if (this.child(parent, 0) === node && this.child(parent, 1) !== NONE) {
            searchRoot = this.child(parent, 1);
            break;
          }
          if (!this.intermediate(parent)) return this.copyKey(parent, nextKey);
          node = parent;
          depth--;
        }
        if (searchRoot === NONE) return -Errno.ENOENT;
      }
    }
    // The leftmost element of the subtree: its first element in post-order.
    let next = NONE;
    for (let node = searchRoot; node !== NONE; ) {
      if (this.intermediate(node)) {
        node = this.child(node, 0);
      } else {
        next = node;
        node = this.child(node, 0);
        if (node === NONE) node = this.child(next, 1);
      }
    }
    return this.copyKey(next, nextKey);
  }

  private copyKey(node: number, out: Uint8Array): number {
    const at = this.nodeOffset(node);
    writeU32(out, 0, this.prefixlen(node));
    out.set(this.region.subarray(at + LpmNode.data, at + LpmNode.data + this.dataSize), LPM_KEY_PREFIX);
    return 0;
  }

  protected override sysLookupBatch(request: BatchRequest): BatchResult {
    return genericLookupBatch(this, request);
  }

  protected override sysUpdateBatch(request: BatchRequest, cpu: number): BatchResult {
    return genericUpdateBatch(this, request, cpu);
  }

  protected override sysDeleteBatch(request: BatchRequest, cpu: number): BatchResult {
    return genericDeleteBatch(this, request, cpu);
  }
}

const LPM_FLAGS = MapFlag.NO_PREALLOC | MapFlag.NUMA_NODE;
const LPM_VALUE_SIZE_MAX = KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - 24;

export const lpmTrieKind: MapKind = {
  types: [MapType.LPM_TRIE],
  check(spec) {
    if (
      spec.maxEntries === 0 ||
      !(spec.flags & MapFlag.NO_PREALLOC) ||
      flagsOutside(spec.flags, LPM_FLAGS) ||
      !accessFlagsOk(spec.flags) ||
      spec.keySize < LPM_KEY_PREFIX + 1 ||
      spec.keySize > LPM_KEY_PREFIX + LPM_DATA_SIZE_MAX ||
      spec.valueSize < 1 ||
      spec.valueSize > LPM_VALUE_SIZE_MAX
    ) {
      return -Errno.EINVAL;
    }
    return 0;
  },
  regionSize: (fields) => lpmLayout(fields).size,
  create(region, fields) {
    const layout = lpmLayout(fields);
    const v = new DataView(region.buffer, region.byteOffset, region.byteLength);
    v.setUint32(LpmHeader.dataSize, layout.dataSize, true);
    v.setUint32(LpmHeader.maxPrefixlen, layout.dataSize * 8, true);
    v.setUint32(LpmHeader.nodeSize, layout.nodeSize, true);
    v.setUint32(LpmHeader.poolSize, layout.pool, true);
    v.setUint32(LpmHeader.valueOffset, layout.valueOffset, true);
    const map = new LpmTrieMap(region, fields);
    map.initialize();
    return map;
  },
  open: (region, fields) => new LpmTrieMap(region, fields),
};
