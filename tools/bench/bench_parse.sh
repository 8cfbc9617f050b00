#!/usr/bin/env bash
# Parsing speed: melon's readers vs Python's json.load on the same files, in
# one run (best of 3 each), with the ratio. Default input: a full-size
# generated dataset (115,071 playlists, 707,989 songs, no mel), made if absent.
#   tools/bench/bench_parse.sh [DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-/tmp/melon-full}
melon=${MELON:-build/melon}
[ -x "$melon" ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null; cmake --build build --target melon; }
if [ ! -f "$data/train.json" ]; then
  echo "generating full-size JSON into $data (no mel files)"
  "$melon" generate --out "$data" --seed 1 --mel-songs 0 >/dev/null
fi
py=/usr/bin/python3
out=$("$melon" bench-parse --playlists "$data/train.json" --song-meta "$data/song_meta.json" --repeat 3 --nlohmann)
echo "$out"
pyout=$("$py" - "$data/train.json" "$data/song_meta.json" <<'PY'
import json, sys, time
for path in sys.argv[1:]:
    best = 1e9
    for _ in range(3):
        t = time.perf_counter()
        with open(path, encoding="utf-8") as f:
            n = len(json.load(f))
        best = min(best, time.perf_counter() - t)
    print(f"python json.load {path}: {n} records, {best:.3f} s")
PY
)
echo "$pyout"
m_pl=$(echo "$out" | awk '/read_playlists/ {print $(NF-1)}'); m_sm=$(echo "$out" | awk '/read_song_meta/ {print $(NF-1)}')
p_pl=$(echo "$pyout" | awk 'NR==1 {print $(NF-1)}'); p_sm=$(echo "$pyout" | awk 'NR==2 {print $(NF-1)}')
awk -v a="$p_pl" -v b="$m_pl" -v c="$p_sm" -v d="$m_sm" 'BEGIN {
  printf "speed-up over json.load: train.json %.2fx, song_meta.json %.2fx (melon parses AND validates into typed records)\n", a/b, c/d }'
