#!/usr/bin/env bash
# melon pca on bad input: clear errors from every rank count and no hang
# (every command runs under a timeout); a rank whose files are all corrupt is
# not an error: its songs are skipped and listed.
source "$(dirname "$0")/lib.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

"$MELON" generate --out "$WORK/gen" --playlists 60 --songs 200 --mel-mode all --mel-songs 60 --seed 5 --quiet \
  >/dev/null 2>&1 || fail "melon generate"
MEL=$WORK/gen/arena_mel
mp() { timeout 300 "$MPIRUN" "${MPIFLAGS[@]}" -np "$@"; }
common=(--pool 64 --quiet)

expect_error "k above the song count" "exceed the 40 songs" \
  mp 2 "$MELON" pca --mel-dir "$MEL" --songs 0-39 --out "$WORK/a.h5" --pool 64 --components 41
expect_error "k above the feature dimension" "exceed the feature dimension D = 1440" \
  mp 3 "$MELON" pca --mel-dir "$MEL" --songs 0-59 --out "$WORK/a.h5" --pool 64 --components 1500
mkdir -p "$WORK/empty"
expect_error "every file missing" "no readable rows" \
  mp 2 "$MELON" pca --mel-dir "$WORK/empty" --songs 0-30 --out "$WORK/a.h5" --components 4 "${common[@]}"
expect_error "no such folder" "--mel-dir $WORK/nope" \
  mp 2 "$MELON" pca --mel-dir "$WORK/nope" --songs 0-9 --out "$WORK/a.h5" --components 4 "${common[@]}"
expect_error "two sources" "exactly one of" \
  mp 1 "$MELON" pca --mel-dir "$MEL" --mel-source synthetic:1:10 --out "$WORK/a.h5"
expect_error "bad pooling" "pooling window" \
  mp 2 "$MELON" pca --mel-dir "$MEL" --songs 0-9 --out "$WORK/a.h5" --pool 0
expect_error "bad song list" "expected one song id" \
  bash -c "printf '1\nx2\n' > '$WORK/bad.txt'; exec $MPIRUN ${MPIFLAGS[*]} -np 2 '$MELON' pca --mel-dir '$MEL' --songs '$WORK/bad.txt' --out '$WORK/a.h5'"
expect_error "output folder missing" "cannot write in $WORK/no/such/dir" \
  mp 2 "$MELON" pca --mel-dir "$MEL" --songs 0-39 --out "$WORK/no/such/dir/a.h5" --components 4 "${common[@]}"
expect_error "krylov with single-pass" "--method krylov is for the multi-pass PCA" \
  mp 1 "$MELON" pca --mel-dir "$MEL" --songs 0-39 --out "$WORK/a.h5" --method krylov --single-pass on "${common[@]}"
expect_error "unknown method" "--method must be krylov or power, got 'lanczos'" \
  mp 1 "$MELON" pca --mel-dir "$MEL" --songs 0-39 --out "$WORK/a.h5" --method lanczos "${common[@]}"
expect_error "memory-mb not a number" "option --memory-mb: expected auto or a whole number of MiB >= 0, got 'lots'" \
  mp 1 "$MELON" pca --mel-dir "$MEL" --songs 0-39 --out "$WORK/a.h5" --memory-mb lots "${common[@]}"
expect_error "spill folder missing" "--spill-dir $WORK/no/scratch" \
  mp 3 "$MELON" pca --mel-dir "$MEL" --songs 0-39 --out "$WORK/a.h5" --components 4 --spill-dir "$WORK/no/scratch" "${common[@]}"

# Every file of the last rank's shard corrupt: skipped, listed, the job finishes.
for id in $(seq 30 59); do [ -f "$MEL/0/$id.npy" ] && printf 'garbage %04d' "$id" | head -c 2000 >"$MEL/0/$id.npy"; done
# Sizes now differ (tiny garbage files), so balance by bytes gives rank 1 all of them plus some good ones;
# either way the corrupt songs are skipped and listed.
mp 2 "$MELON" pca --mel-dir "$MEL" --songs 0-59 --out "$WORK/c.h5" --components 4 "${common[@]}" >"$WORK/c.log" 2>&1 ||
  { cat "$WORK/c.log"; fail "run with a corrupt shard failed"; }
s=$(h5dump -a /n_skipped "$WORK/c.h5" | sed -n 's/.*(0): \([0-9]*\).*/\1/p')
[ "$s" -ge 30 ] || fail "only $s songs skipped, expected the 30 corrupt ones"
echo "ok  corrupt shard: $s songs skipped and listed"
# Every song of a whole rank unreadable, with 3 ranks and equal file sizes.
for id in $(seq 40 59); do [ -f "$MEL/0/$id.npy" ] && head -c "$(stat -c %s "$MEL/0/1.npy")" /dev/zero >"$MEL/0/$id.npy"; done
for id in $(seq 30 39); do [ -f "$MEL/0/$id.npy" ] && cp "$MEL/0/1.npy" "$MEL/0/$id.npy"; done
mp 3 "$MELON" pca --mel-dir "$MEL" --songs 0-59 --out "$WORK/d.h5" --components 4 "${common[@]}" >"$WORK/d.log" 2>&1 ||
  { cat "$WORK/d.log"; fail "run with one rank all unreadable failed"; }
grep -q "r2/3.*skipped song 4[0-9]: .*bad magic\|r2/3.*skipped song 4[0-9]" "$WORK/d.log" || { cat "$WORK/d.log"; fail "rank 2 did not log its skips"; }
echo "ok  a rank with only unreadable files: $(h5dump -a /n_skipped "$WORK/d.h5" | sed -n 's/.*(0): \([0-9]*\).*/\1/p') skipped, job finished"
echo "PASS pca_errors"
