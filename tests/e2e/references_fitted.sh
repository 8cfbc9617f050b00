#!/usr/bin/env bash
# Reference hyperparameters tuned on held-out training playlists, and the fit
# saved for the reranker (issues 16 and 19): `melon baseline --fitted DIR`
# tries its grid on the reranker's held-out slice, logs every trial, keeps
# the best and writes that fit (DIR/<method>.h5, the trials in .json); run
# again on the same data it reuses the file. `melon rerank --fitted DIR` loads
# the fits and answers byte for byte as a rerank that tunes and fits them
# itself (or is given the chosen settings); a fit of another held-out slice or a damaged file is
# refused, naming the file. Values the user gives are kept, not tuned.
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 1500 --songs 6000 --seed 31 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
T=$WORK/split/orig/train.json Q=$WORK/split/questions/val.json META=$WORK/data/song_meta.json
F=$WORK/fits
# EASE on 700 columns: its solves (cubic in them) stay short under the sanitizers.
EASE=(--ease-songs 500 --ease-tags 100 --ease-tokens 100)
base() { "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" baseline --train "$T" --questions "$Q" --song-meta "$META" "$@"; }

base --method ease "${EASE[@]}" --fitted "$F" --out "$WORK/ease.json" 2>"$WORK/ease.log" ||
  { tail -20 "$WORK/ease.log"; fail "baseline ease --fitted failed"; }
grep -o "tuning ease [0-9]/[0-9].*" "$WORK/ease.log"
[ "$(grep -c 'tuning ease [0-9]/' "$WORK/ease.log")" = 4 ] || fail "ease: expected 4 trials (lambda 1000, 100, 300, 3000)"
base --method item-knn --fitted "$F" --out "$WORK/item-knn.json" 2>"$WORK/knn.log" ||
  { tail -20 "$WORK/knn.log"; fail "baseline item-knn --fitted failed"; }
[ "$(grep -c 'tuning item-knn [0-9]/' "$WORK/knn.log")" = 9 ] || fail "item-knn: expected 9 trials"
# The choice is the best trial, the file says so, and the fit is the chosen one.
python3 - "$F" >"$WORK/picked.txt" <<'PY' || fail "tuning records"
import json, sys
picked = []
for m in ("ease", "item-knn"):
    j = json.load(open(f"{sys.argv[1]}/{m}.json"))
    best = max(j["trials"], key=lambda t: t["held_out_score"])
    assert j["chosen"] == best["params"], (m, j["chosen"], best)
    assert j["held_out_playlists"] == 400, j["held_out_playlists"]  # min(2000, a third of 1,200)
    print(f"ok  {m}: chose {j['chosen']} (held-out {best['held_out_score']:.4f}) of {len(j['trials'])} trials",
          file=sys.stderr)
    picked += [kv.split("=")[1] for kv in j["chosen"].split()]
print(*picked)
PY
read -r lambda alpha beta <"$WORK/picked.txt"
grep -q "ease: held-out fit -> $F/ease.h5" "$WORK/ease.log" || fail "no line naming the saved fit"

# Again on the same data: the fit is read back, the answers are the same.
base --method ease "${EASE[@]}" --fitted "$F" --out "$WORK/ease2.json" 2>"$WORK/ease2.log" || fail "second ease run"
grep -q "reusing the held-out fit" "$WORK/ease2.log" || fail "the second run did not reuse the fit"
! grep -q "tuning ease [0-9]/" "$WORK/ease2.log" || fail "the second run tuned again"
cmp "$WORK/ease.json" "$WORK/ease2.json" || fail "answers differ after reusing the fit"
echo "ok  a second run reuses the saved fit: same answers, no tuning"

# rerank loads the fits; without them it tunes and fits the same way itself,
# and with --tune off and the chosen values given it fits them directly: the
# same bytes all three ways.
RR=("$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" rerank --train "$T" --questions "$Q" --song-meta "$META"
  --references item-knn,ease --learn-copies 1 "${EASE[@]}")
start=$SECONDS
"${RR[@]}" --fitted "$F" --out "$WORK/loaded.json" 2>"$WORK/loaded.log" ||
  { tail -20 "$WORK/loaded.log"; fail "rerank --fitted failed"; }
t_loaded=$((SECONDS - start))
grep -q "reranker: ease loaded from $F/ease.h5" "$WORK/loaded.log" || fail "rerank did not load ease"
grep -q "reranker: item-knn loaded from" "$WORK/loaded.log" || fail "rerank did not load item-knn"
# One solve: the refit on every training playlist that answers the questions;
# the held-out fit itself is loaded, not solved again.
[ "$(grep -c "ease: weights solved" "$WORK/loaded.log")" = 1 ] ||
  fail "rerank solved EASE $(grep -c "ease: weights solved" "$WORK/loaded.log") times with the fit loaded (1 expected: the refit)"
grep -q "reranker: ease fitted again on all" "$WORK/loaded.log" || fail "rerank did not refit ease on every playlist"
start=$SECONDS
"${RR[@]}" --out "$WORK/tuned.json" 2>"$WORK/tuned.log" || { tail -20 "$WORK/tuned.log"; fail "rerank tuning itself failed"; }
t_tuned=$((SECONDS - start))
grep -q "tuning ease: chose ease-lambda=$lambda " "$WORK/tuned.log" || fail "rerank's own tuning chose otherwise"
cmp "$WORK/loaded.json" "$WORK/tuned.json" || fail "rerank with loaded fits differs from rerank tuning them itself"
"${RR[@]}" --tune off --ease-lambda "$lambda" --alpha "$alpha" --beta "$beta" --out "$WORK/refit.json" \
  2>"$WORK/refit.log" || { tail -20 "$WORK/refit.log"; fail "rerank refitting failed"; }
cmp "$WORK/loaded.json" "$WORK/refit.json" || fail "rerank with loaded fits differs from rerank fitting the chosen values"
echo "ok  rerank with the loaded fits = rerank tuning itself = rerank fitting lambda $lambda, alpha $alpha, beta $beta, byte for byte ($t_loaded s loading, $t_tuned s tuning)"

expect_error "a fit of another held-out slice" "fitted with another held-out slice" \
  "${RR[@]}" --fitted "$F" --seed 2 --out "$WORK/x.json"
[ ! -e "$WORK/x.json" ] || fail "a refused rerank wrote results"

# Given values are kept: lambda pinned means one trial.
base --method ease "${EASE[@]}" --ease-lambda 300 --fitted "$WORK/pinned" --out "$WORK/e300.json" 2>"$WORK/pin.log" ||
  fail "baseline with a given lambda"
[ "$(grep -c 'tuning ease [0-9]/' "$WORK/pin.log")" = 1 ] || fail "a given --ease-lambda was tuned"
echo "ok  --ease-lambda 300 given: one trial, kept"

# A damaged fit: rerank refuses it by name; baseline fits again over it.
echo "not HDF5" >"$F/ease.h5"
expect_error "a damaged fit" "$F/ease.h5" "${RR[@]}" --fitted "$F" --out "$WORK/x.json"
base --method ease "${EASE[@]}" --fitted "$F" --out "$WORK/ease3.json" 2>"$WORK/ease3.log" || fail "refit over a damaged file"
grep -q "fitting again" "$WORK/ease3.log" || fail "baseline did not say it fits again"
cmp "$WORK/ease.json" "$WORK/ease3.json" || fail "refit answers differ"
echo "ok  a damaged fit: rerank refuses it, baseline fits again (same answers)"
