#!/usr/bin/env bash
# Checks that every C++ file follows .clang-format (clang-format --dry-run
# --Werror): lists each file and line that formatting would change, exits 1
# if any. Exits 77 (CTest's SKIP) when clang-format is not installed.
#   tools/check-format.sh [SOURCE_DIR]      (default: this checkout)
# Fix the tree with: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
cf=${CLANG_FORMAT:-clang-format}
command -v "$cf" >/dev/null || { echo "check-format: $cf not found: SKIP (apt-get install clang-format)"; exit 77; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
else
  mapfile -t files < <(find src include tests -name '*.cpp' -o -name '*.hpp' | sort)
fi
[ ${#files[@]} -gt 0 ] || { echo "check-format: no C++ files found in $PWD" >&2; exit 2; }
if "$cf" --dry-run --Werror "${files[@]}"; then
  echo "check-format: ${#files[@]} files follow .clang-format ($("$cf" --version))"
else
  echo "check-format: files above differ from .clang-format; fix with: git ls-files '*.cpp' '*.hpp' | xargs $cf -i" >&2
  exit 1
fi
