#!/usr/bin/env bash
# melon baseline --method mixture: the EM-fitted mixture of multinomials.
# On small generated data it must beat most-popular by far and answer every
# question type; its fit (both EM steps split over the ranks, every sum in
# one fixed order) gives the same bytes on 1, 2 and 3 ranks and on 1 to 3
# threads a rank (chunks of fixed size); its saved fit is
# reused and loads back into rerank; bad settings are refused, naming the
# setting, on every rank.
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 1500 --songs 6000 --seed 5 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
T=$WORK/split/orig/train.json Q=$WORK/split/questions/val.json A=$WORK/split/answers/val.json
META=$WORK/data/song_meta.json
base() { "$MPIRUN" "${MPIFLAGS[@]}" -np "$1" "$MELON" baseline --train "$T" --questions "$Q" --song-meta "$META" "${@:2}"; }

base 1 --method most-popular --out "$WORK/pop.json" >"$WORK/pop.log" 2>&1 || { tail "$WORK/pop.log"; fail "most-popular"; }
mix() {
  base "$1" --method mixture --tune off --mixture-clusters 40 --mixture-iterations 15 --threads "$2" \
    --out "$WORK/np$1t$2.json" >"$WORK/np$1t$2.log" 2>&1 || { tail -20 "$WORK/np$1t$2.log"; fail "mixture on $1 ranks x $2 threads failed"; }
}
for np in 1 2 3; do mix $np 1; done
mix 1 3
mix 2 2
grep -q "mixture: EM 15/15, log-likelihood per playlist" "$WORK/np1t1.log" || fail "no EM progress line on rank 0"
grep -q "mixture: 3 threads a rank" "$WORK/np1t3.log" || fail "--threads 3 not taken"
for run in np2t1 np3t1 np1t3 np2t2; do
  cmp -s "$WORK/np1t1.json" "$WORK/$run.json" || fail "mixture $run answered differently from 1 rank x 1 thread"
done
echo "ok  the same answers on 1, 2 and 3 ranks, and on 1, 2 and 3 threads a rank"

scores() { "$MELON" evaluate --answers "$A" --results "$1" --questions "$Q" --json; }
scores "$WORK/pop.json" >"$WORK/pop.s"
scores "$WORK/np1t1.json" >"$WORK/mix.s"
python3 - "$WORK/pop.s" "$WORK/mix.s" <<'PY' || fail "the mixture's scores"
import json, sys
pop, mix = (json.load(open(p)) for p in sys.argv[1:])
print(f"most-popular {pop['overall']['score']:.4f}, mixture {mix['overall']['score']:.4f}")
assert mix["overall"]["score"] > 2 * pop["overall"]["score"], "mixture not twice most-popular"
for t, s in mix["by_type"].items():
    assert s["score"] > pop["by_type"][t]["score"], f"{t}: mixture {s['score']} not above most-popular"
PY

# Tuned and saved, then reused; rerank loads it.
base 2 --method mixture --mixture-iterations 15 --fitted "$WORK/fits" --out "$WORK/tuned.json" \
  >"$WORK/tuned.log" 2>&1 || { tail -20 "$WORK/tuned.log"; fail "mixture --fitted failed"; }
[ "$(grep -c 'tuning mixture [0-9]/3' "$WORK/tuned.log")" = 3 ] || fail "expected 3 trials (clusters 150, 50, 300)"
base 2 --method mixture --mixture-iterations 15 --fitted "$WORK/fits" --out "$WORK/tuned2.json" \
  >"$WORK/tuned2.log" 2>&1 || fail "second mixture run"
grep -q "reusing the held-out fit" "$WORK/tuned2.log" || fail "the second run did not reuse the saved fit"
cmp -s "$WORK/tuned.json" "$WORK/tuned2.json" || fail "answers differ after reusing the fit"
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" rerank --train "$T" --questions "$Q" --song-meta "$META" \
  --references item-knn,mixture --mixture-iterations 15 --learn-copies 1 --fitted "$WORK/fits" \
  --out "$WORK/rerank.json" >"$WORK/rerank.log" 2>&1 || { tail -20 "$WORK/rerank.log"; fail "rerank with mixture"; }
grep -q "reranker: mixture loaded from $WORK/fits/mixture.h5" "$WORK/rerank.log" || fail "rerank did not load the fit"
grep -q "sources item-knn, mixture" "$WORK/rerank.log" || fail "rerank's sources lack the mixture"
echo "ok  tuned fit saved, reused, loaded by rerank"

expect_error "zero clusters" "--mixture-clusters must be at least 1" \
  "$MELON" baseline --method mixture --tune off --mixture-clusters 0 --train "$T" --questions "$Q" --out "$WORK/x.json"
expect_error "zero iterations, 3 ranks" "--mixture-iterations must be at least 1" \
  timeout 120 "$MPIRUN" "${MPIFLAGS[@]}" -np 3 "$MELON" baseline --method mixture --tune off --mixture-iterations 0 \
  --train "$T" --questions "$Q" --out "$WORK/x.json"
[ ! -e "$WORK/x.json" ] || fail "a refused run wrote its --out"
echo "mixture checks passed"
