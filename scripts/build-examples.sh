#!/usr/bin/env bash
# Builds examples/*.bpf.c into the committed examples/*.bpf.o (needs clang; tests do not).
set -euo pipefail
cd "$(dirname "$0")/../examples"
for source in *.bpf.c; do
  clang -target bpf -O2 -g -I/usr/include/x86_64-linux-gnu -c "$source" -o "${source%.c}.o"
  echo "built examples/${source%.c}.o"
done
