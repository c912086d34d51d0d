// Target processes as /proc shows them: threads, mappings and modules, free address ranges, memory, and
// function addresses inside mapped binaries.
export * from "./errors.js";
export * from "./tasks.js";
export * from "./auxv.js";
export * from "./maps.js";
export * from "./address-gaps.js";
export * from "./memory.js";
export * from "./module-file.js";
export * from "./symbols.js";
