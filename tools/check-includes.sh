#!/usr/bin/env bash
# The include graph follows the module order: a module's headers
# (include/melon/<m>/) and sources (src/<m>/) include only melon headers of
# modules listed before it, or its own. Prints each offending file and line and
# exits 1; a module folder missing from the order is an error too (add it to
# ORDER here and to the README's "Layout of the code").
#   tools/check-includes.sh [SOURCE_DIR]      (default: this checkout)
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

# Bottom up, as in the README. include/melon/error.hpp belongs to util.
ORDER="util mpi arena mel text h5 questions eval split dataset generate pca ae train recommend rank plan report cli"

dirs=()
for d in include/melon/* src/*; do [ -d "$d" ] && dirs+=("$d"); done
[ ${#dirs[@]} -gt 0 ] || { echo "check-includes: no module folders under $PWD/include/melon or $PWD/src" >&2; exit 2; }

files=$( { find "${dirs[@]}" -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' \); \
           find include/melon -maxdepth 1 -type f -name '*.hpp'; } | sort)

awk -v order="$ORDER" '
  BEGIN {
    n = split(order, mods, " ")
    for (i = 1; i <= n; i++) level[mods[i]] = i
    bad = 0
  }
  # The module a file belongs to: include/melon/<m>/..., src/<m>/..., include/melon/x.hpp (util).
  function module_of(path,   p) {
    if (path ~ /^include\/melon\/[^\/]+$/) return "util"
    p = path; sub(/^include\/melon\//, "", p); sub(/^src\//, "", p); sub(/\/.*/, "", p)
    return p
  }
  FNR == 1 {
    m = module_of(FILENAME)
    if (!(m in level) && !(m in unknown)) unknown[m] = FILENAME
  }
  /^[ \t]*#[ \t]*include[ \t]*"melon\// {
    dep = $0
    sub(/^[^"]*"melon\/+/, "", dep); sub(/".*/, "", dep)
    target = dep
    if (dep ~ /^[^\/]+$/) dep = "util"; else sub(/\/.*/, "", dep)
    if (!(dep in level)) {
      if (!(dep in unknown)) unknown[dep] = FILENAME ":" FNR
    } else if ((m in level) && level[dep] > level[m]) {
      printf "%s:%d: %s includes melon/%s, but %s comes after %s\n", FILENAME, FNR, m, target, dep, m
      bad = 1
    }
  }
  END {
    for (u in unknown) {
      printf "%s: module %s is not in the order\n", unknown[u], u
      bad = 1
    }
    if (bad) printf "check-includes: the module order, bottom up: %s\n", order
    exit bad
  }
' $files && echo "check-includes: $(echo "$files" | wc -l) files follow the module order ($ORDER)"
