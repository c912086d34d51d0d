#!/usr/bin/env bash
# Builds examples/*.bpf.c and test/fixtures/objects/*.bpf.c into the committed .bpf.o files next to them
# (needs clang; the tests do not).
set -euo pipefail
cd "$(dirname "$0")/.."
for source in examples/*.bpf.c test/fixtures/objects/*.bpf.c; do
  clang -target bpf -D__TARGET_ARCH_x86 -O2 -g -I/usr/include/x86_64-linux-gnu -c "$source" -o "${source%.c}.o"
  echo "built ${source%.c}.o"
done
