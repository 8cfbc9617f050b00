#!/usr/bin/env bash
# Issue 15 case 8: errors in the Arena JSON files name the real byte offset,
# line and column, and the record (index and id) they are in: a file cut short
# names where it ends, trailing content and a missing song_meta record are
# their own errors, invalid UTF-8 and a NUL byte name their offset and record.
source "$(dirname "$0")/lib.sh"

"$MELON" generate --out "$WORK/gen" --playlists 120 --songs 400 --mel-songs 0 --seed 8 --quiet >/dev/null 2>&1 ||
  fail "melon generate"
fresh() { rm -rf "$WORK/ds" && cp -r "$WORK/gen" "$WORK/ds"; }
validate() { "$MELON" validate --data "$WORK/ds"; }
# position FILE OFFSET: "at byte N, line L, column C" of that offset.
position() {
  python3 - "$1" "$2" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()[: int(sys.argv[2])]
print("at byte %d, line %d, column %d" % (len(b), b.count(b"\n") + 1, len(b) - (b.rfind(b"\n") + 1) + 1))
PY
}

# train.json, one playlist a line, cut two thirds in: the message names the
# offset where the file now ends, its line and column, and the record.
fresh
python3 - "$WORK/ds/train.json" <<'PY'
import json, sys
recs = json.load(open(sys.argv[1]))
open(sys.argv[1], "w").write("[" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "]\n")
PY
cut=$(( $(stat -c %s "$WORK/ds/train.json") * 2 / 3 ))
truncate -s "$cut" "$WORK/ds/train.json"
line=$(head -c "$cut" "$WORK/ds/train.json" | wc -l)
id=$(tail -n 1 "$WORK/ds/train.json" | LC_ALL=C grep -ao '"id": [0-9]*' | head -n 1 | tr -dc 0-9 || true)
pos=$(position "$WORK/ds/train.json" "$cut")
expect_error "train.json cut at byte $cut" "train.json: record $line${id:+ (id $id)}: the file ends (truncated?)" validate
grep -qF "$pos" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "message lacks '$pos'"; }

# song_meta.json as generated (one line) cut at 450 bytes short of its end.
fresh
cut=$(( $(stat -c %s "$WORK/ds/song_meta.json") - 450 ))
truncate -s "$cut" "$WORK/ds/song_meta.json"
expect_error "song_meta.json cut at byte $cut" "$(position "$WORK/ds/song_meta.json" "$cut")" validate
grep -q "byte 0,\|near byte 0" "$WORK/err.txt" && fail "a truncated file still blames byte 0"

fresh
size=$(stat -c %s "$WORK/ds/song_meta.json")
printf '\n  {"id": 400}' >>"$WORK/ds/song_meta.json"
expect_error "trailing content" "song_meta.json: trailing content at byte $((size + 3)), line 2, column 3" validate

# Invalid UTF-8 and a NUL byte inside the title of playlist record 5.
for bad in '\xff' '\x00'; do
  fresh
  at=$(python3 - "$WORK/ds/train.json" "$bad" <<'PY'
import json, sys
path, bad = sys.argv[1], bytes([int(sys.argv[2][2:], 16)])
b = bytearray(open(path, "rb").read())
recs = json.loads(b)
at = b.find(b'"plylst_title": "', b.find(b'"id": %d,' % recs[5]["id"]) ) + len(b'"plylst_title": "')
b[at] = bad[0]
open(path, "wb").write(b)
print(at, recs[5]["id"])
PY
)
  set -- $at
  what=$([ "$bad" = '\xff' ] && echo "invalid UTF-8" || echo "NUL byte")
  expect_error "$what in a title" "train.json: record 5 (id $2): $what" validate
  grep -qF "at byte $1, line 1, column $(($1 + 1))" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "$what: offset $1 not named"; }
done

# song_meta.json without song 123: the gap is blamed, not the last record.
fresh
python3 - "$WORK/ds/song_meta.json" <<'PY'
import json, sys
recs = [r for r in json.load(open(sys.argv[1])) if r["id"] != 123]
open(sys.argv[1], "w").write(json.dumps(recs, ensure_ascii=False))
PY
expect_error "song 123 missing" "song_meta.json: record 123 (id 124): id 124, expected 123: song 123 is missing" validate
cmp -s "$WORK/gen/train.json" "$WORK/ds/train.json" || fail "validate changed train.json"
echo "json-position checks passed"
