// The public API of bpftime-ts.
export * from "./isa/opcodes.js";
export * from "./isa/errors.js";
export * from "./isa/instruction.js";
export * from "./isa/opcode-table.js";
export * from "./isa/validator.js";
