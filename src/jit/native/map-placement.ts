// Map regions in native memory for the JIT: each region is its own page-aligned shared mapping (enough
// for every alignment mapRegionAlignment asks for), at the address programs get as the map. Later the
// session arena takes this role, placing regions inside one memfd that several processes map.

import type { MapPlacement } from "../../runtime/object-maps.js";
import { SharedMemory } from "./shared-memory.js";

export class NativeMapPlacement implements MapPlacement {
  private readonly mappings: SharedMemory[] = [];

  place(size: number): { region: Uint8Array; address: bigint } {
    const memory = SharedMemory.shared(size);
    this.mappings.push(memory);
    return { region: memory.bytes(0, size), address: memory.address };
  }

  /** Unmaps every region placed (the map objects over them must not be used afterwards). */
  dispose(): void {
    for (const memory of this.mappings) memory.free();
    this.mappings.length = 0;
  }
}
