// The seeded PRNG of the program generator, with the few choices the map tests make: so every random
// sequence a test runs can be replayed from its seed.

import { Prng } from "../../support/program-generator.js";

export class Random extends Prng {
  constructor(readonly seed: number) {
    super(seed);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return this.below(n);
  }

  /** Picks a key from `weights` ({ name: weight }) proportionally. */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as [K, number][];
    let total = 0;
    for (const [, w] of entries) total += w;
    let r = this.below(total);
    for (const [name, w] of entries) {
      if (r < w) return name;
      r -= w;
    }
    return entries[entries.length - 1]![0];
  }
}
