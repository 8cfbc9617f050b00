#!/usr/bin/env bash
# Issue 15 case 12: .npy files holding NaN/Inf. A file with no finite value is
# skipped and listed like any unreadable song (reason "non-finite values"),
# never a silent constant row; a few infinite values are replaced and counted
# in the log and in the output's nonfinite_replaced; good files give the same
# bits as before (compared with MELON_REF, a build without this change, when
# given).
source "$(dirname "$0")/lib.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

"$MELON" generate --out "$WORK/gen" --playlists 60 --songs 200 --mel-mode all --mel-songs 60 --seed 6 --quiet \
  >/dev/null 2>&1 || fail "melon generate"
MEL=$WORK/gen/arena_mel
pca() { # pca BINARY OUT
  timeout 300 "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$1" pca --mel-dir "$MEL" --songs 0-59 --out "$2" --components 4 \
    --pool 64 --seed 2 >"$2.log" 2>&1 || { cat "$2.log" >&2; fail "pca into $2 exited non-zero"; }
  if grep -q "AddressSanitizer\|runtime error" "$2.log"; then cat "$2.log" >&2; fail "sanitizer report"; fi
}
attr() { h5dump -a "$2" "$1" | sed -n 's/.*(0): \([0-9]*\).*/\1/p'; }

pca "$MELON" "$WORK/clean.h5"
if [ -n "${MELON_REF:-}" ]; then
  pca "$MELON_REF" "$WORK/ref.h5"
  h5diff "$WORK/ref.h5" "$WORK/clean.h5" >/dev/null || fail "good input: output differs from $MELON_REF"
  echo "ok  good input: identical to $MELON_REF"
fi
base=$(attr "$WORK/clean.h5" /nonfinite_replaced)
[ "$(attr "$WORK/clean.h5" /n_skipped)" -eq 0 ] || fail "clean run skipped songs"

# Song 7: every value NaN. Song 11: 12 values +inf (the first 12 frames of band 0).
python3 - "$MEL/0/7.npy" "$MEL/0/11.npy" <<'PY'
import struct, sys
def payload(path):
    b = bytearray(open(path, "rb").read())
    hl = struct.unpack("<H", b[8:10])[0] if b[6] == 1 else struct.unpack("<I", b[8:12])[0]
    return b, (10 if b[6] == 1 else 12) + hl
b, at = payload(sys.argv[1])
b[at:] = struct.pack("<f", float("nan")) * ((len(b) - at) // 4)
open(sys.argv[1], "wb").write(b)
b, at = payload(sys.argv[2])
b[at:at + 48] = struct.pack("<f", float("inf")) * 12
open(sys.argv[2], "wb").write(b)
PY
pca "$MELON" "$WORK/bad.h5"
[ "$(attr "$WORK/bad.h5" /n_skipped)" -eq 1 ] || fail "n_skipped is not 1"
h5dump -d /skipped_song_ids "$WORK/bad.h5" | sed -n '/DATA {/,/}/p' | grep -q '(0): 7$' || fail "song 7 not in /skipped_song_ids"
h5dump -d /skipped_reasons "$WORK/bad.h5" | grep -q "non-finite values: all [0-9]* values read are NaN or infinite" ||
  fail "no 'non-finite values' reason for song 7"
grep -q "skipped song 7: non-finite values" "$WORK/bad.h5.log" || fail "skip of song 7 not logged"
n=$(attr "$WORK/bad.h5" /nonfinite_replaced)
[ "$n" -eq $((base + 12)) ] || fail "nonfinite_replaced = $n, expected $base + 12 (song 11's infinities)"
grep -q "$n non-finite values replaced" "$WORK/bad.h5.log" || fail "the log does not count the $n replaced values"
[ "$(attr "$WORK/bad.h5" /n_songs)" -eq $(($(attr "$WORK/clean.h5" /n_songs) - 1)) ] || fail "n_songs did not drop by one"
echo "ok  all-NaN song 7 skipped and listed; song 11's 12 infinities replaced and counted ($n in all)"
echo "PASS pca_nonfinite"
