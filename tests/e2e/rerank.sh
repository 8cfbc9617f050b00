#!/usr/bin/env bash
# The final ranking stage end to end: generate -> split -> train -> rerank ->
# evaluate with the real binary. Pins down: learning on best.h5 and answering
# with the refit's weights; answers obey the official rules
# (evaluate rejects anything else); 1, 2 and 3 ranks give the same file (the
# rankers learn with one thread whatever --threads says: rank/rerank.hpp); the reranked answers
# beat the best reference (tuned on the same held-out slice) on this data; clear errors for a checkpoint without
# held-out playlists and for unknown references.
source "$(dirname "$0")/lib.sh"
# 3,000 playlists (600 questions): at 1,500 (300 questions) the reranker's
# lead over playlist-kNN was within the noise of so few questions (0.4984 against
# 0.4972 at 96ec5c8, 0.4963 at 0efab3e); here it was 0.4620 and 0.4628
# against 0.4457, Release builds.
"$MELON" generate --out "$WORK/data" --playlists 3000 --songs 12000 --seed 5 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
T="$WORK/split/orig/train.json" Q="$WORK/split/questions/val.json" A="$WORK/split/answers/val.json"
META="$WORK/data/song_meta.json"
# A short fixed schedule (8 epochs, 96 steps, then the refit's 96): the
# reranker, not the training defaults (e2e_train_small_defaults), is under test
# here. On this data at 0058a2a, sanitizer build: reranked 0.4712
# over 8-epoch weights against 0.4757 over the self-sizing run's (374 steps,
# then a 264-step refit: 90 s of the test's 217; 37 s for 8 epochs), the best
# reference 0.4457.
# The products on OpenBLAS where installed: 4x faster under the sanitizers.
gemm=()
if ldconfig -p | grep 'libopenblas\.so\.0' >/dev/null; then gemm=(env MELON_GEMM=openblas); fi
"${gemm[@]}" "$MELON" train --train "$T" --questions "$Q" --song-meta "$META" --checkpoint-dir "$WORK/ck" \
  --val-size 240 --epochs 8 --threads 2 2>"$WORK/train.log" || { cat "$WORK/train.log"; fail "train failed"; }
# Small pools and few rounds: the sanitizer build runs this too.
common=(--train "$T" --questions "$Q" --song-meta "$META" --checkpoint-dir "$WORK/ck" --threads 1 --rounds 30
  --tag-rounds 30 --references item-knn,playlist-knn)
"$MELON" rerank "${common[@]}" --out "$WORK/r1.json" --model-dir "$WORK/ranker" 2>"$WORK/rerank.log" ||
  { cat "$WORK/rerank.log"; fail "rerank failed"; }
grep -q "held-out training playlists, sources fitted on the other" "$WORK/rerank.log" || fail "no learning-set line"
grep -q "held-out nDCG@100" "$WORK/rerank.log" || fail "no held-out nDCG of the song ranker"
grep -q "item-knn fitted again on all 2400 training playlists" "$WORK/rerank.log" ||
  fail "the answering references were not fitted again on every training playlist"
# Training ended with a refit on every playlist: the rankers learn on best.h5
# (it never saw the held-out slice), the questions are answered with refit.h5.
grep -q "refit: .*/ck/refit.h5" "$WORK/train.log" || fail "train wrote no refit.h5"
models=$(grep -o "model [^ ]*/ck/[a-z]*\.h5" "$WORK/rerank.log" | sed 's|.*/||' | tr '\n' ' ')
[ "$models" = "best.h5 refit.h5 " ] || fail "rerank loaded '$models', expected best.h5 then refit.h5"
echo "ok  learned with best.h5, answered with refit.h5"
[ -s "$WORK/ranker/reranker-songs.json" ] && [ -s "$WORK/ranker/reranker-tags.features" ] || fail "models not written"
for np in 2 3; do
  "$MPIRUN" "${MPIFLAGS[@]}" -np $np "$MELON" rerank "${common[@]}" --out "$WORK/r$np.json" 2>/dev/null ||
    fail "rerank on $np ranks failed"
  cmp -s "$WORK/r1.json" "$WORK/r$np.json" || fail "rerank on $np ranks differs from 1 rank"
done
echo "ok  1, 2 and 3 ranks give identical results"
score() { "$MELON" evaluate --answers "$A" --results "$1" --questions "$Q" --json 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["overall"]["score"])'; }
"$MELON" evaluate --answers "$A" --results "$WORK/r1.json" --questions "$Q" >"$WORK/eval.txt" 2>&1 ||
  { cat "$WORK/eval.txt"; fail "evaluate rejected the reranked results"; }
cat "$WORK/eval.txt"
best=0
for m in item-knn playlist-knn; do
  "$MELON" baseline --method $m --train "$T" --questions "$Q" --song-meta "$META" --checkpoint-dir "$WORK/ck" \
    --out "$WORK/$m.json" 2>/dev/null
  s=$(score "$WORK/$m.json")
  echo "ok  $m: $s"
  best=$(python3 -c "print(max($best, $s))")
done
mine=$(score "$WORK/r1.json")
python3 -c "import sys; sys.exit(0 if $mine > $best else 1)" || fail "reranked $mine does not beat the best reference $best"
echo "ok  reranked $mine > best reference $best"

# The ablation without the autoencoder's candidates keeps its held-out slice:
# the same learning questions, one source fewer, other answers.
"$MELON" rerank "${common[@]}" --ae-source off --out "$WORK/noae.json" 2>"$WORK/noae.log" ||
  { cat "$WORK/noae.log"; fail "rerank --ae-source off failed"; }
grep -q "reranker: sources item-knn, playlist-knn, title; " "$WORK/noae.log" ||
  fail "--ae-source off: the autoencoder is still a source"
learned() { grep -o "[0-9]* learning questions from [0-9]* held-out" "$1"; }
[ -n "$(learned "$WORK/rerank.log")" ] && [ "$(learned "$WORK/rerank.log")" = "$(learned "$WORK/noae.log")" ] ||
  fail "--ae-source off learned on other questions: $(learned "$WORK/noae.log") vs $(learned "$WORK/rerank.log")"
! cmp -s "$WORK/r1.json" "$WORK/noae.json" || fail "--ae-source off gave the same answers"
echo "ok  without the autoencoder's candidates: $(score "$WORK/noae.json") on the same $(learned "$WORK/noae.log")"
expect_error "--ae-source off without a checkpoint" "needs --checkpoint-dir" \
  "$MELON" rerank --train "$T" --questions "$Q" --ae-source off --out "$WORK/x.json"

"$MELON" train --train "$T" --questions "$Q" --checkpoint-dir "$WORK/ck0" --hidden 8 --epochs 1 --val-size 0 \
  --threads 1 >/dev/null 2>&1 || fail "train --val-size 0 failed"
expect_error "rerank with a checkpoint that held nothing out" "records no held-out playlists" \
  "$MELON" rerank --train "$T" --questions "$Q" --checkpoint-dir "$WORK/ck0" --out "$WORK/x.json"
expect_error "unknown reference" "unknown reference 'knn'" \
  "$MELON" rerank --train "$T" --questions "$Q" --references item-knn,knn --out "$WORK/x.json"
[ ! -e "$WORK/x.json" ] || fail "a failed rerank left a results file"
echo "rerank checks passed"
