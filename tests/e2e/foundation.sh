#!/usr/bin/env bash
# generate (small) -> split -> baseline -> evaluate, the foundation end to end:
# valid output by the official rules, genre-most-popular beats most-popular on
# song nDCG, same seed gives the same files, the 2-rank baseline equals 1 rank.
source "$(dirname "$0")/lib.sh"
D=$WORK/data
"$MELON" generate --out "$D" --playlists 2000 --songs 20000 --seed 11 --mel-songs 50 > "$WORK/gen.txt"
for f in train.json val.json test.json song_meta.json genre_gn_all.json answers/val.json answers/test.json; do
  [ -s "$D/$f" ] || fail "generate did not write $f"
done
[ -n "$(find "$D/arena_mel" -name '*.npy' | head -1)" ] || fail "generate wrote no mel files"
"$MELON" validate --data "$D" --mel-dir "$D/arena_mel" --missing-mel-ok 2> "$WORK/validate.txt" >/dev/null \
  || { cat "$WORK/validate.txt"; fail "generated data does not validate"; }

"$MELON" split --input "$D/train.json" --out "$WORK/split" --seed 3
for m in most-popular genre-most-popular; do
  "$MELON" baseline --method $m --train "$WORK/split/orig/train.json" --questions "$WORK/split/questions/val.json" \
    --song-meta "$D/song_meta.json" --out "$WORK/$m.json"
  "$MELON" evaluate --answers "$WORK/split/answers/val.json" --results "$WORK/$m.json" \
    --questions "$WORK/split/questions/val.json" --json > "$WORK/$m.score"
  echo "$m: $(cat "$WORK/$m.score")"
done
python3 - "$WORK/most-popular.score" "$WORK/genre-most-popular.score" <<'PY'
import json, sys
mp, gmp = (json.load(open(p))["overall"] for p in sys.argv[1:3])
assert gmp["song_ndcg"] > mp["song_ndcg"], f"genre-most-popular {gmp['song_ndcg']} <= most-popular {mp['song_ndcg']}"
assert 0 < mp["score"] < 1 and 0 < gmp["score"] < 1
print(f"ok  genre-most-popular song nDCG {gmp['song_ndcg']:.4f} > most-popular {mp['song_ndcg']:.4f}")
PY

# The released-style questions (val.json) are answerable and scorable too.
"$MELON" baseline --method genre-most-popular --train "$D/train.json" --questions "$D/val.json" \
  --song-meta "$D/song_meta.json" --out "$WORK/val-results.json"
"$MELON" evaluate --answers "$D/answers/val.json" --results "$WORK/val-results.json" --questions "$D/val.json"

# Data-parallel baseline: 2 ranks give the same file as 1 rank.
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" baseline --method genre-most-popular --train "$WORK/split/orig/train.json" \
  --questions "$WORK/split/questions/val.json" --song-meta "$D/song_meta.json" --out "$WORK/np2.json"
cmp "$WORK/np2.json" "$WORK/genre-most-popular.json" || fail "2-rank baseline differs from 1 rank"
echo "ok  2-rank baseline identical to 1 rank"

# Determinism: the same seed writes byte-identical JSON.
"$MELON" generate --out "$WORK/again" --playlists 2000 --songs 20000 --seed 11 --mel-songs 50 > /dev/null
for f in train.json val.json test.json song_meta.json answers/val.json; do
  cmp "$D/$f" "$WORK/again/$f" || fail "same seed, different $f"
done
echo "ok  same seed, identical files"
echo "foundation end-to-end passed"
