#!/usr/bin/env bash
# melon oracle: the ceiling of a generated dataset. On small taste data the
# Bayes answer (--knows catalogue) must beat item-kNN by a wide margin and
# stay at or under the answer that knows each playlist's hidden state; a
# ceiling under a plain reference would mean the oracle, not the data, is
# wrong. Data it has no hidden state for is refused, naming the folder.
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 1500 --songs 6000 --seed 3 --title-tag-rate 0 --mel-mode none \
  --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
T=$WORK/split/orig/train.json Q=$WORK/split/questions/val.json A=$WORK/split/answers/val.json
"$MELON" baseline --method item-knn --train "$T" --questions "$Q" --song-meta "$WORK/data/song_meta.json" \
  --out "$WORK/knn.json" >"$WORK/knn.log" 2>&1 || { tail -20 "$WORK/knn.log"; fail "baseline item-knn failed"; }
for k in catalogue playlist; do
  "$MELON" oracle --knows $k --data "$WORK/data" --questions "$Q" --out "$WORK/$k.json" >"$WORK/$k.log" 2>&1 ||
    { tail -20 "$WORK/$k.log"; fail "oracle --knows $k failed"; }
done
score() { "$MELON" evaluate --answers "$A" --results "$1" --questions "$Q" --json |
  python3 -c "import json,sys; print(json.load(sys.stdin)['overall']['score'])"; }
knn=$(score "$WORK/knn.json") cat_=$(score "$WORK/catalogue.json") pl=$(score "$WORK/playlist.json")
echo "item-knn $knn, oracle knowing the catalogue $cat_, knowing each playlist $pl"
python3 - "$knn" "$cat_" "$pl" <<'PY' || fail "the oracle's scores are out of order"
import sys
knn, cat, pl = map(float, sys.argv[1:])
assert cat > 1.1 * knn, f"catalogue oracle {cat} not 10% above item-knn {knn}"
assert pl >= cat - 0.01, f"knowing each playlist ({pl}) scored under knowing the catalogue ({cat})"
PY
"$MELON" oracle --data "$WORK/data" --questions "$Q" --out "$WORK/again.json" >/dev/null 2>&1
cmp -s "$WORK/catalogue.json" "$WORK/again.json" || fail "a second run answered differently"
for np in 2 3; do
  "$MPIRUN" "${MPIFLAGS[@]}" -np $np "$MELON" oracle --data "$WORK/data" --questions "$Q" --out "$WORK/np$np.json" \
    >"$WORK/np$np.log" 2>&1 || { tail -20 "$WORK/np$np.log"; fail "oracle on $np ranks failed"; }
  cmp -s "$WORK/catalogue.json" "$WORK/np$np.json" || fail "the oracle on $np ranks answered differently from 1 rank"
done
echo "ok  ceiling above item-knn, under the hidden state, the same on a second run and on 2 and 3 ranks"

"$MELON" generate --out "$WORK/walk" --playlists 300 --songs 2000 --seed 3 --model walk --mel-mode none \
  --quiet >/dev/null 2>&1
expect_error "walk family" "is of the walk family" \
  "$MELON" oracle --data "$WORK/walk" --questions "$WORK/walk/val.json" --out "$WORK/w.json"
expect_error "a folder melon generate did not write" "melon-dataset.done" \
  "$MELON" oracle --data "$WORK/split" --questions "$Q" --out "$WORK/w.json"
expect_error "questions of another dataset" "questions of another dataset?" \
  "$MELON" oracle --data "$WORK/data" --questions "$WORK/walk/val.json" --out "$WORK/w.json"
# The foreign question lands on one rank: every rank must stop, none hang.
expect_error "questions of another dataset, 3 ranks" "questions of another dataset?" \
  timeout 120 "$MPIRUN" "${MPIFLAGS[@]}" -np 3 "$MELON" oracle --data "$WORK/data" --questions "$WORK/walk/val.json" \
  --out "$WORK/w.json"
[ ! -e "$WORK/w.json" ] || fail "a refused run wrote its --out"
echo "oracle checks passed"
