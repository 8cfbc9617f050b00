#!/usr/bin/env bash
# The autoencoder's dense products on each backend of src/util/gemm.cpp,
# through the real binary: MELON_GEMM=openblas (OpenBLAS with the widest
# kernels the CPU has) repeats bit for bit, resumes bit-exact after kill -9 at
# 1 and 2 ranks, and trains to the held-out score of MELON_GEMM=eigen within
# noise (the products differ in their last bits only); the log names the
# backend; a bad MELON_GEMM is refused by name. SKIPs without OpenBLAS
# (Debian: libopenblas0-pthread).
source "$(dirname "$0")/lib.sh"
# grep without -q: under pipefail its early exit would kill ldconfig with SIGPIPE and fail the check.
ldconfig -p | grep 'libopenblas\.so\.0' >/dev/null || { echo "SKIP: OpenBLAS not installed (libopenblas0-pthread)"; exit 77; }
"$MELON" generate --out "$WORK/data" --playlists 400 --songs 2000 --seed 5 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
ARGS=(--train "$WORK/split/orig/train.json" --questions "$WORK/split/questions/val.json"
      --hidden 64 --batch 32 --val-size 40 --threads 2 --min-song-count 2 --epochs 3 --checkpoint-every 4)
hash_of() { grep -o 'weights fnv1a64=[0-9a-f]*' "$1" | tail -1; }
score_of() { grep -o 'val nDCG [^|]* score [0-9.]*' "$1" | tail -1 | grep -o '[0-9.]*$'; }
ob() { env OPENBLAS_CORETYPE= MELON_GEMM=openblas "$@"; }

ob "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/a" 2>"$WORK/a.log" || { cat "$WORK/a.log"; fail "openblas run"; }
grep -q "dense products on OpenBLAS" "$WORK/a.log" || { grep "dense products" "$WORK/a.log"; fail "log does not name OpenBLAS"; }
ob "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/b" 2>"$WORK/b.log" || fail "openblas repeat"
[ -n "$(hash_of "$WORK/a.log")" ] && [ "$(hash_of "$WORK/a.log")" = "$(hash_of "$WORK/b.log")" ] ||
  fail "two OpenBLAS runs differ: $(hash_of "$WORK/a.log") vs $(hash_of "$WORK/b.log")"
echo "ok  OpenBLAS: the same bits twice ($(hash_of "$WORK/a.log")); $(grep -o 'dense products on [^,]*' "$WORK/a.log" | head -1)"

rc=0
ob "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/c" --max-steps 30 --test-kill-at-step 10 2>"$WORK/c.log" || rc=$?
[ "$rc" -eq 137 ] || { cat "$WORK/c.log"; fail "kill -9 run: exit $rc, expected 137"; }
ob "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/c" --max-steps 30 --resume 2>"$WORK/c2.log" || fail "resume"
ob "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/d" --max-steps 30 2>"$WORK/d.log" || fail "straight 30 steps"
grep -q "resuming from .*ckpt-0000000008.h5" "$WORK/c2.log" || { cat "$WORK/c2.log"; fail "did not resume from step 8"; }
[ "$(hash_of "$WORK/c2.log")" = "$(hash_of "$WORK/d.log")" ] || fail "OpenBLAS: resumed weights differ"
echo "ok  OpenBLAS, 1 rank: kill -9 at step 10 + resume from 8 = straight run"

ob "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/e" --max-steps 16 2>"$WORK/e.log" ||
  fail "2 ranks"
rc=0
ob timeout 120 "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/f" --max-steps 16 \
  --test-kill-at-step 6 >/dev/null 2>"$WORK/f.log" || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "2-rank kill -9 run: exit $rc"
ob "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/f" --max-steps 16 --resume 2>"$WORK/f2.log"
grep -q "resuming from .*ckpt-0000000004.h5" "$WORK/f2.log" || { cat "$WORK/f2.log"; fail "2 ranks: did not resume from step 4"; }
[ "$(hash_of "$WORK/e.log")" = "$(hash_of "$WORK/f2.log")" ] || fail "OpenBLAS, 2 ranks: resumed weights differ"
echo "ok  OpenBLAS, 2 ranks: kill -9 at step 6 + resume from 4 = straight run"

MELON_GEMM=eigen "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/g" 2>"$WORK/g.log" || fail "eigen run"
grep -q "dense products on Eigen .*MELON_GEMM=eigen" "$WORK/g.log" || fail "log does not name Eigen"
so=$(score_of "$WORK/a.log") se=$(score_of "$WORK/g.log")
[ -n "$so" ] && [ -n "$se" ] || fail "no held-out scores ($so, $se)"
awk -v a="$so" -v b="$se" 'BEGIN { d = a - b; exit !(d < 0.01 && d > -0.01) }' ||
  fail "held-out score OpenBLAS $so vs Eigen $se: more than rounding apart"
[ "$(hash_of "$WORK/a.log")" != "$(hash_of "$WORK/g.log")" ] || fail "Eigen and OpenBLAS gave the same bits: was OpenBLAS used?"
echo "ok  held-out score after 3 epochs: OpenBLAS $so, Eigen $se (weights differ in their last bits)"

expect_error "bad MELON_GEMM" "MELON_GEMM must be auto, openblas or eigen, got 'blis'" \
  env MELON_GEMM=blis "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/h"
echo "train gemm backend checks passed"
