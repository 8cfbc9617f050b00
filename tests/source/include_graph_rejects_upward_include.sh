#!/usr/bin/env bash
# The include-graph checker must fail, naming file, line and modules, on a
# tree where a lower module (util) includes a higher one (cli).
set -uo pipefail
check=${1:?usage: $0 tools/check-includes.sh}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/include/melon/util" "$d/src/cli"
printf '#include "melon/cli/cli.hpp"\n' > "$d/include/melon/util/x.hpp"
printf '#include "melon/util/x.hpp"\n' > "$d/src/cli/y.cpp"
if bash "$check" "$d" > "$d/out" 2>&1; then
  echo "FAIL: the checker accepted util -> cli"; cat "$d/out"; exit 1
fi
grep -q 'include/melon/util/x.hpp:1: util includes melon/cli/cli.hpp, but cli comes after util' "$d/out" ||
  { echo "FAIL: no file:line message"; cat "$d/out"; exit 1; }
# and accepts the same tree the right way round
printf '\n' > "$d/include/melon/util/x.hpp"
bash "$check" "$d" > "$d/out" 2>&1 || { echo "FAIL: a clean tree was rejected"; cat "$d/out"; exit 1; }
echo "ok: upward include rejected with its file and line, clean tree accepted"
