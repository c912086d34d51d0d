// Injection into native processes through ptrace: attach to or spawn a target with every thread stopped,
// run system calls and functions inside it, patch its code safely, and let it go.
export { InjectionSession, type AttachOptions, type MmapOptions, type PauseReport, type ResolvedFunction, type ThreadOption } from "./session.js";
export type { SpawnOptions } from "./spawn.js";
export { InjectError, type InjectErrorCode } from "./errors.js";
export type { RangeQuery, ThreadPosition } from "./code-safety.js";
export type { RemoteArg } from "./remote.js";
