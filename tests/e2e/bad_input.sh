#!/usr/bin/env bash
# Bad input, one case per failure class, through the real binary (built with
# AddressSanitizer in the test build): a clear message naming the file, the
# record and the problem, a non-zero exit, no crash, nothing half-written.
source "$(dirname "$0")/lib.sh"
D=$MELON_SRC/tests/data
ok='{"tags": ["a"], "id": 1, "plylst_title": "t", "songs": [0, 1], "like_cnt": 3, "updt_date": "2015-01-01 00:00:00.000"}'
q='{"tags": [], "id": 2, "plylst_title": "q", "songs": [0], "like_cnt": 0, "updt_date": "2015-01-01 00:00:00.000"}'
echo "[$q]" > "$WORK/q.json"
run_baseline() { "$MELON" baseline --method most-popular --train "$1" --questions "$WORK/q.json" --out "$WORK/r.json" "${@:2}"; }

echo "[$ok, {\"tags\": [], \"id\": 3, \"songs\": [1,,2]}]" > "$WORK/malformed.json"
expect_error "malformed JSON" "malformed.json: record 1" run_baseline "$WORK/malformed.json"

echo '[{"tags": "rock", "id": 9, "plylst_title": "t", "songs": [], "like_cnt": 0, "updt_date": "2015-01-01 00:00:00.000"}]' > "$WORK/types.json"
expect_error "wrong field type" "types.json: record 0 (id 9): field 'tags': expected array, got string" run_baseline "$WORK/types.json"

echo "[$ok, $ok]" > "$WORK/dup.json"
expect_error "duplicate playlist ids" "dup.json: record 1 (id 1): duplicate playlist id" run_baseline "$WORK/dup.json"

echo '[{"tags": ["a"], "id": 5, "plylst_title": "t", "songs": [0, 99], "like_cnt": 0, "updt_date": "2015-01-01 00:00:00.000"}]' > "$WORK/unknown.json"
expect_error "unknown song id" "unknown.json: record 0 (id 5): field 'songs': unknown song id 99" \
  run_baseline "$WORK/unknown.json" --song-meta "$D/song_meta_quirks.json"

expect_error "missing input file" "nonexistent.json: cannot open" run_baseline "$WORK/nonexistent.json"
expect_error "--val-size not a count" "--val-size: expected auto or a whole number >= 0, got '12x'" \
  "$MELON" train --train "$WORK/q.json" --val-size 12x --checkpoint-dir "$WORK/never"
[ ! -e "$WORK/never" ] || fail "a refused train made its checkpoint folder"
expect_error "--ranker-threads 0" "--ranker-threads must be >= 1, got 0" \
  "$MELON" rerank --train "$WORK/q.json" --questions "$WORK/q.json" --out "$WORK/never.json" --ranker-threads 0
[ ! -e "$WORK/never.json" ] || fail "a refused rerank wrote its answers"
expect_error "--colsample outside (0, 1]" "--colsample must be in (0, 1], got 1.5" \
  "$MELON" rerank --train "$WORK/q.json" --questions "$WORK/q.json" --out "$WORK/never.json" --colsample 1.5

printf '[{"id": 1, "songs": [1], "tags": ["a"]}]' > "$WORK/ans.json"
printf '[{"id": 1, "songs": [1, 2], "tags": ["a"]}]' > "$WORK/short.json"
expect_error "results breaking the official rules" "has 2 songs, need exactly 100" \
  "$MELON" evaluate --answers "$WORK/ans.json" --results "$WORK/short.json"

# Mel files: a dataset folder whose train.json uses songs 0..3, checked by `melon validate --mel-dir`.
mk_data() {
  mkdir -p "$WORK/ds/mel/0"
  cp "$D/song_meta_quirks.json" "$WORK/ds/song_meta.json"
  cp "$D/genre_small.json" "$WORK/ds/genre_gn_all.json"
  echo '[{"tags": ["a"], "id": 1, "plylst_title": "t", "songs": [0], "like_cnt": 0, "updt_date": "2015-01-01 00:00:00.000"}]' > "$WORK/ds/train.json"
}
mk_data
npy() {  # npy FILE MAGIC VERSION HEADER PAYLOAD_BYTES [HEADER_LEN_OVERRIDE]
  python3 - "$@" <<'PY'
import struct, sys
path, magic, ver, header, nbytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
h = header.encode() + b"\n"
with open(path, "wb") as f:
    f.write(b"\x93" + magic.encode())
    if ver == 1:
        f.write(bytes([1, 0])); f.write(struct.pack("<H", len(h)))
    else:
        f.write(bytes([ver, 0])); f.write(struct.pack("<I", int(sys.argv[6]) if len(sys.argv) > 6 else len(h)))
    f.write(h); f.write(b"\0" * nbytes)
PY
}
good="{'descr': '<f4', 'fortran_order': False, 'shape': (48, 10), }"
npy "$WORK/ds/mel/0/0.npy" NUMPZ 1 "$good" 1920
expect_error "npy bad magic" "0.npy" "$MELON" validate --data "$WORK/ds" --mel-dir "$WORK/ds/mel"
grep -qi "magic" "$WORK/out.txt" "$WORK/err.txt" || fail "npy bad magic: message does not say magic"
npy "$WORK/ds/mel/0/0.npy" NUMPY 1 "{'descr': '<f8', 'fortran_order': False, 'shape': (48, 10), }" 3840
expect_error "npy bad dtype" "<f8" "$MELON" validate --data "$WORK/ds" --mel-dir "$WORK/ds/mel"
npy "$WORK/ds/mel/0/0.npy" NUMPY 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (47, 10), }" 1880
expect_error "npy bad shape" "0.npy" "$MELON" validate --data "$WORK/ds" --mel-dir "$WORK/ds/mel"
npy "$WORK/ds/mel/0/0.npy" NUMPY 1 "$good" 1000
expect_error "npy truncated" "0.npy" "$MELON" validate --data "$WORK/ds" --mel-dir "$WORK/ds/mel"
npy "$WORK/ds/mel/0/0.npy" NUMPY 2 "$good" 1920 4294967295
expect_error "npy absurd header size" "0.npy" "$MELON" validate --data "$WORK/ds" --mel-dir "$WORK/ds/mel"
npy "$WORK/ds/mel/0/0.npy" NUMPY 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (48, 1000000000000), }" 1920
expect_error "npy absurd shape" "0.npy" "$MELON" validate --data "$WORK/ds" --mel-dir "$WORK/ds/mel"
rm "$WORK/ds/mel/0/0.npy"
expect_error "missing mel file" "0.npy: missing" "$MELON" validate --data "$WORK/ds" --mel-dir "$WORK/ds/mel"
npy "$WORK/ds/mel/0/0.npy" NUMPY 1 "$good" 1920
"$MELON" validate --data "$WORK/ds" --mel-dir "$WORK/ds/mel" 2>"$WORK/err.txt" || { cat "$WORK/err.txt"; fail "a good dataset failed validation"; }
echo "ok  a well-formed file passes validation"

# Under MPI a failing rank brings the whole job down promptly.
start=$(date +%s)
rc=0
timeout 120 "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" baseline --method most-popular --train "$WORK/dup.json" \
  --questions "$WORK/q.json" --out "$WORK/r.json" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { cat "$WORK/err.txt"; fail "mpirun: exit $rc (expected a prompt non-zero exit)"; }
grep -q "duplicate playlist id" "$WORK/err.txt" || fail "mpirun: error message lost"
echo "ok  2-rank job with bad input exits $rc in $(( $(date +%s) - start ))s"
echo "bad-input checks passed"
