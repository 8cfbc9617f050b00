#!/usr/bin/env bash
# The CPU check's two lists name the same extensions: every name
# src/util/isa_target.cpp may write down (one per #ifdef) has a probe in
# src/util/isa_guard.cpp, and the other way round. A name the check could not
# ask about would count as absent on every CPU: the binary would refuse to
# run anywhere its compiler enabled that extension.
#   tests/source/isa_lists_agree.sh [SOURCE_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"
target=$(grep -oE '^ *"[a-z0-9.-]+ "$' src/util/isa_target.cpp | tr -d ' "' | sort)
probes=$(grep -oE '__builtin_cpu_supports\("[a-z0-9.-]+"\)' src/util/isa_guard.cpp | sed -E 's/.*\("([^"]+)"\)/\1/' | sort)
[ -n "$target" ] && [ -n "$probes" ] || { echo "isa_lists_agree: no names read (the files' layout changed?)" >&2; exit 2; }
if [ "$target" != "$probes" ]; then
  echo "isa_lists_agree: the lists differ (< isa_target.cpp only, > isa_guard.cpp only):" >&2
  diff <(echo "$target") <(echo "$probes") | grep '^[<>]' >&2
  exit 1
fi
echo "isa_lists_agree: both files name the same $(echo "$target" | wc -l) extensions"
