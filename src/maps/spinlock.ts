// The lock word every map layout uses: one 32-bit word, 0 = free, 1 = held, taken with a compare-and-
// exchange from 0 to 1 and released by storing 0 (from native code: `lock cmpxchg` and a plain `mov`).
// Words are addressed by their index in an Int32Array over the whole map region, so the region must start
// at a 4-byte (in practice 8-byte) aligned offset of its buffer.
//
// Unlike the kernel's, a holder here can be preempted, so a waiter spins briefly and then sleeps a
// millisecond at a time between spins (Atomics.wait with a timeout: the holder may be native code in
// another process, which never notifies). It gives up only after LOCK_TIMEOUT_MS, so that a lock whose holder died cannot
// hang the caller forever: the operation then fails with -EBUSY, which is also what the kernel's
// resilient spinlocks make map operations return when they cannot get a lock.

const SPINS = 1000;
export const LOCK_TIMEOUT_MS = 10_000;

export function tryLock(words: Int32Array, index: number): boolean {
  if (Atomics.compareExchange(words, index, 0, 1) === 0) return true;
  for (let i = 0; i < SPINS; i++) {
    // Read before retrying the exchange, so a waiter does not keep the cache line exclusive.
    if (Atomics.load(words, index) === 0 && Atomics.compareExchange(words, index, 0, 1) === 0) return true;
  }
  // Atomics.wait needs a SharedArrayBuffer; memory mapped from elsewhere (a memfd seen through an FFI) is a
  // plain ArrayBuffer that other processes still write, so there the waiter keeps spinning instead.
  const canSleep = words.buffer instanceof SharedArrayBuffer;
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  do {
    if (canSleep) Atomics.wait(words, index, 1, 1);
    for (let i = 0; i < SPINS; i++) {
      if (Atomics.load(words, index) === 0 && Atomics.compareExchange(words, index, 0, 1) === 0) return true;
    }
  } while (Date.now() < deadline);
  return false;
}

export function unlock(words: Int32Array, index: number): void {
  Atomics.store(words, index, 0);
}
