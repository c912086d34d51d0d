// The lock word every map layout uses: one 32-bit word, 0 = free, 1 = held, taken with a compare-and-
// exchange from 0 to 1 and released by storing 0 (from native code: `lock cmpxchg` and a plain `mov`).
// Words are addressed by their index in an Int32Array over the whole map region, so the region must start
// at a 4-byte (in practice 8-byte) aligned offset of its buffer.
//
// A holder can be another thread or another process sharing the memory. Taking the lock gives up after a
// bounded number of attempts instead of spinning forever on a lock whose holder died: the operation then
// fails with -EBUSY, which is also what the kernel's resilient spinlocks make map operations return.

/** Attempts before giving up: far longer than any critical section of a map operation. */
const MAX_SPINS = 1 << 24;

export function tryLock(words: Int32Array, index: number): boolean {
  if (Atomics.compareExchange(words, index, 0, 1) === 0) return true;
  for (let i = 0; i < MAX_SPINS; i++) {
    // Read before retrying the exchange, so a waiter does not keep the cache line exclusive.
    if (Atomics.load(words, index) === 0 && Atomics.compareExchange(words, index, 0, 1) === 0) return true;
  }
  return false;
}

export function unlock(words: Int32Array, index: number): void {
  Atomics.store(words, index, 0);
}
