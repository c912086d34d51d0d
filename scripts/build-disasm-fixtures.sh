#!/usr/bin/env bash
# Rebuilds test/fixtures/disasm: BPF objects from programs.c (clang at -mcpu=v1, v2, v3) and from *.s
# (llvm-mc), plus the listings `llvm-objdump -d` prints for them, with default features (*.objdump.txt)
# and with +alu32 (*.alu32.objdump.txt). test/isa/disassembler.test.ts compares our llvm-style listing with
# these files, so the tests need neither clang nor llvm. The reference is LLVM 14 (Debian bookworm:
# `apt-get install clang llvm`); other versions print numbers and some instructions differently.
set -euo pipefail

cd "$(dirname "$0")/../test/fixtures/disasm"

for tool in clang llvm-mc llvm-objdump; do
  command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install clang llvm)" >&2; exit 1; }
done
if ! llvm-objdump --version | grep -q "LLVM version 14\."; then
  echo "warning: llvm-objdump is not LLVM 14; the listings will not match what the tests expect" >&2
fi

rm -f ./*.o ./*.objdump.txt

# The prefix map keeps the build directory out of the debug info, so rebuilding anywhere gives the same bytes.
cflags=(-target bpf -O2 -g -fdebug-prefix-map="$PWD"=.)
clang "${cflags[@]}" -mcpu=v1 -c programs.c -o programs.v1.o
clang "${cflags[@]}" -mcpu=v2 -c programs.c -o programs.v2.o
clang "${cflags[@]}" -mcpu=v3 -DFETCH_ATOMICS -c programs.c -o programs.v3.o

llvm-mc -triple bpfel -filetype=obj encodings.s -o encodings.o
llvm-mc -triple bpfel -mattr=+alu32 -filetype=obj atomic32.s -o atomic32.o

for object in ./*.o; do
  base=$(basename "$object" .o)
  # LLVM 14 without alu32 cannot decode most 32-bit atomics, so atomic32 is only listed with +alu32.
  if [ "$base" != atomic32 ]; then
    llvm-objdump -d "$base.o" >"$base.objdump.txt"
  fi
  llvm-objdump -d --mattr=+alu32 "$base.o" >"$base.alu32.objdump.txt"
done

ls -l ./*.o ./*.objdump.txt
