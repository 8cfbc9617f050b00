#!/usr/bin/env bash
# melon pca over a small generated .npy tree with damaged files, under 1, 2
# and 3 ranks: damaged and missing songs are skipped and listed with their
# reason, the answer agrees across rank counts within 1e-5 (sign-normalised),
# repeated runs are bit-identical, so are runs that spill their rows to
# scratch, the files equal the procedural source, and
# the output is plain HDF5 (h5dump; h5py when installed).
source "$(dirname "$0")/lib.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

"$MELON" generate --out "$WORK/gen" --playlists 100 --songs 400 --mel-mode all --mel-songs 150 --seed 4 --quiet \
  >/dev/null 2>&1 || fail "melon generate"
MEL=$WORK/gen/arena_mel
[ -f "$MEL/0/10.npy" ] || fail "generate wrote no mel files"
# Damage: 5 garbage, 9 truncated, 13 missing, 5000 never existed; 140..149 are
# left out of the tree so the generator's procedural twin can be compared.
printf 'not a numpy file at all' >"$MEL/0/5.npy"
head -c 1000 "$MEL/0/10.npy" >"$MEL/0/9.npy"
rm -f "$MEL/0/13.npy"
{ seq 0 139; echo 5000; echo "# a comment"; echo 7; } >"$WORK/songs.txt"

pca() { # pca NP OUT [extra args]
  local np=$1 out=$2; shift 2
  "$MPIRUN" "${MPIFLAGS[@]}" -np "$np" "$MELON" pca --mel-dir "$MEL" --songs "$WORK/songs.txt" --out "$out" \
    --components 6 --oversample 6 --power-iters 2 --pool 8 --feature-log on --seed 3 --block 16 "$@" \
    >"$out.log" 2>&1 || { cat "$out.log" >&2; fail "pca -np $np exited non-zero"; }
  grep -q "AddressSanitizer\|runtime error" "$out.log" && { cat "$out.log" >&2; fail "sanitizer report"; }
  return 0
}

for np in 1 2 3; do pca "$np" "$WORK/np$np.h5"; done
pca 2 "$WORK/np2b.h5"

# Skipped songs: listed in the file with reasons, logged, never zero rows.
ids=$(h5dump -d /skipped_song_ids -y -w 0 "$WORK/np2.h5" | sed -n '/DATA {/,/}/p' | tr -dc '0-9, ' | tr -s ' ,' '\n' | grep . | tr '\n' ' ')
for want in 5 9 13 5000; do
  [[ " $ids " == *" $want "* ]] || fail "song $want not in skipped_song_ids ($ids)"
done
n=$(h5dump -a /n_songs "$WORK/np2.h5" | sed -n 's/.*(0): \([0-9]*\).*/\1/p')
s=$(h5dump -a /n_skipped "$WORK/np2.h5" | sed -n 's/.*(0): \([0-9]*\).*/\1/p')
[ "$((n + s))" -eq 141 ] || fail "n_songs $n + n_skipped $s != 141 listed"
h5dump -d /skipped_reasons "$WORK/np2.h5" | grep -q "0/5.npy" || fail "no reason recorded for song 5"
grep -q "skipped song 9: .*9.npy" "$WORK/np2.h5.log" || fail "skip of song 9 not logged with its reason"
grep -q "skipping song 13: missing file" "$WORK/np2.h5.log" || fail "missing song 13 not logged"
echo "ok  skipped: $s songs ($ids), $n read"

# Same answer for 1, 2 and 3 ranks (components are sign-normalised).
maxabs() { h5dump -d "$2" -y -w 0 "$1" | sed -n '/DATA {/,/}/p' | tr -s ' ,\n' '\n' | grep -E '^-?[0-9]' |
  awk 'function a(x){return x<0?-x:x} {if (a($1)>m) m=a($1)} END {printf "%.9g", m}'; }
scale=$(maxabs "$WORK/np1.h5" /scores)
tol=$(awk -v s="$scale" 'BEGIN {printf "%.9g", s * 1e-5}')
for np in 2 3; do
  h5diff -d 1e-5 "$WORK/np1.h5" "$WORK/np$np.h5" /components /components >/dev/null || fail "components: $np ranks vs 1"
  h5diff -p 1e-5 "$WORK/np1.h5" "$WORK/np$np.h5" /singular_values /singular_values >/dev/null || fail "singular values: $np ranks vs 1"
  h5diff -d "$tol" "$WORK/np1.h5" "$WORK/np$np.h5" /scores /scores >/dev/null || fail "scores: $np ranks vs 1 (tol $tol)"
  h5diff -d 1e-7 "$WORK/np1.h5" "$WORK/np$np.h5" /explained_variance_ratio /explained_variance_ratio >/dev/null ||
    fail "explained variance ratios: $np ranks vs 1"
  h5diff "$WORK/np1.h5" "$WORK/np$np.h5" /song_ids /song_ids >/dev/null || fail "song ids: $np ranks vs 1"
done
echo "ok  1, 2 and 3 ranks agree within 1e-5 (scores within $tol)"

# Repeated with the same rank count: the same file, byte for byte.
cmp "$WORK/np2.h5" "$WORK/np2b.h5" || fail "two 2-rank runs differ"
echo "ok  repeated 2-rank runs write the same bytes"

# --tol: once the Ritz values settle, the pass that sees it becomes the last,
# and the datasets equal those of a run asked for that many iterations.
pca_tol() { # pca_tol OUT [extra args]
  local out=$1; shift
  "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" pca --mel-dir "$MEL" --songs "$WORK/songs.txt" --out "$out" \
    --components 6 --oversample 6 --pool 8 --feature-log on --seed 3 --block 16 "$@" >"$out.log" 2>&1 ||
    { cat "$out.log" >&2; fail "pca $* exited non-zero"; }
}
attr() { h5dump -a "/$2" "$1" | sed -n 's/.*(0): \([0-9]*\).*/\1/p'; }
pca_tol "$WORK/tol.h5" --tol 1e-3
grep -q "converged, this pass becomes the last" "$WORK/tol.h5.log" || { cat "$WORK/tol.h5.log" >&2; fail "--tol 1e-3 never converged"; }
it=$(attr "$WORK/tol.h5" power_iters_run)
passes=$(attr "$WORK/tol.h5" passes)
[ -n "$it" ] && [ "$it" -ge 1 ] && [ "$it" -lt 8 ] || fail "--tol 1e-3: $it iterations (cap 8)"
[ "$passes" -eq $((2 * it + 2)) ] || fail "--tol: $passes passes for $it iterations"
pca_tol "$WORK/fixed.h5" --power-iters "$it"
for d in scores components singular_values mean song_ids; do
  h5diff "$WORK/tol.h5" "$WORK/fixed.h5" "/$d" "/$d" >/dev/null || fail "--tol run and --power-iters $it differ in /$d"
done
echo "ok  --tol 1e-3 stopped after $it iterations ($passes passes, cap 8), the same datasets as --power-iters $it"

# By default (--memory-mb auto) rows this small stay in memory between passes.
for np in 2 3; do
  grep -q "pca: --memory-mb auto: [0-9]* MiB a rank" "$WORK/np$np.h5.log" || fail "$np ranks: no auto memory budget logged"
  grep -q "$np/$np ranks keep their feature rows in memory" "$WORK/np$np.h5.log" ||
    fail "$np ranks: rows that fit were not kept in memory by default"
done
echo "ok  by default the rows stay in memory between passes (they fit)"

# --memory-mb 0 --spill-dir: later passes read the first pass's rows back from
# scratch; the same file bit for bit as rows kept in memory, and nothing left
# in the folder.
mkdir -p "$WORK/spill"
for np in 2 3; do
  pca "$np" "$WORK/np${np}s.h5" --memory-mb 0 --spill-dir "$WORK/spill"
  grep -q "$np/$np ranks spill their feature rows" "$WORK/np${np}s.h5.log" || fail "$np ranks: no spill logged"
  h5diff "$WORK/np$np.h5" "$WORK/np${np}s.h5" >/dev/null || fail "$np ranks: spilled rows change the result"
done
[ -z "$(ls -A "$WORK/spill")" ] || fail "spill files left behind: $(ls "$WORK/spill")"
echo "ok  rows spilled to --spill-dir give identical files at 2 and 3 ranks, and no file is left"

# Files on disk == the procedural source they were generated from (1 rank: same shards).
"$MELON" pca --mel-source synthetic:4:400 --songs 140-149 --out "$WORK/syn.h5" --components 3 --pool 8 --quiet \
  >"$WORK/syn.log" 2>&1 || { cat "$WORK/syn.log"; fail "pca on the synthetic source"; }
mkdir -p "$WORK/mel2/0"
"$MELON" pca --mel-dir "$MEL" --songs 140-149 --out "$WORK/fil.h5" --components 3 --pool 8 --quiet \
  >"$WORK/fil.log" 2>&1 || { cat "$WORK/fil.log"; fail "pca on the same files"; }
for d in song_ids scores components singular_values mean; do
  h5diff "$WORK/syn.h5" "$WORK/fil.h5" "/$d" "/$d" >/dev/null || fail "$d: files differ from the synthetic source"
done
echo "ok  --mel-dir files and --mel-source synthetic give identical datasets"

# Plain HDF5: h5dump reads it; h5py too where installed. Nothing left behind.
h5dump -H "$WORK/np3.h5" | grep -q 'DATASET "scores"' || fail "h5dump cannot read the output"
h5dump -a /melon_version "$WORK/np3.h5" | grep -q '"' || fail "no melon_version attribute"
if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
  /usr/bin/python3 - "$WORK/np3.h5" <<'EOF' || fail "h5py check"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
k, n, d = f.attrs["k"], f.attrs["n_songs"], f["mean"].shape[0]
assert f["scores"].shape == (n, k) and f["scores"].dtype == np.float32 and f["scores"].chunks
assert f["components"].shape == (k, d) and f["song_ids"].shape == (n,)
c = f["components"][:]
assert np.abs(c @ c.T - np.eye(k)).max() < 1e-9
assert np.all(np.diff(f["song_ids"][:]) > 0)
assert 0 < f["explained_variance_ratio"][:].sum() <= 1
assert f.attrs["ranks"] == 3 and f.attrs["pool"] == 8 and f.attrs["feature_log"] == "on"
print("ok  h5py reads it:", dict(k=int(k), n=int(n), d=int(d)))
EOF
fi
[ -z "$(find "$WORK" -name '*.tmp.*' -o -name '*.state' | head -1)" ] || fail "temporary files or state left behind"
echo "PASS pca_files"
