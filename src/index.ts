// The public API of bpftime-ts.
export * from "./isa/opcodes.js";
export * from "./isa/errors.js";
export * from "./isa/instruction.js";
export * from "./isa/opcode-table.js";
export * from "./isa/validator.js";
export { assemble } from "./isa/assembler.js";
export { disassemble, formatInsn, type DisassembleOptions, type DisassemblyStyle } from "./isa/disassembler.js";
export { Interpreter, runProgram, DEFAULT_BUDGET, type InterpreterOptions } from "./vm/interpreter.js";
export { AddressSpace, codeAddress, type Region } from "./vm/address-space.js";
export { VmError } from "./vm/errors.js";
export { HelperRegistry, type HelperContext, type HelperDefinition, type HelperFunction } from "./vm/helpers.js";
export { kernelHelperId, kernelHelperName, HelperId } from "./helpers/ids.js";
export { formatBpfPrintf, PrintfFormatError } from "./helpers/printf.js";
export { formatTraceLine, type TraceRecord, type TraceSink } from "./helpers/trace.js";
export { parseSectionName, ProgType, SectionNameError, type AttachTarget, type SectionInfo } from "./object/section-names.js";
